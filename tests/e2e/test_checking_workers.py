"""The real `serve` with checking workers: mail is checked on another core, and the workers die with serve."""

from __future__ import annotations

import re
import shutil
import smtplib
from pathlib import Path

from tests.conftest import ROOT
from tests.e2e.harness import simple_message
from tests.e2e.serve_process import ServeProcess, free_port, make_pairs, wait_until, write_config
from tests.e2e.smarthost import Smarthost


def _config(tmp_path: Path, db_url: str, smarthost: Smarthost) -> tuple[Path, int]:
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "relay_rules", rules, symlinks=True)
    (rules / "first_message.toml").unlink()  # the pair's first message would wait for a human
    port = free_port()
    config = write_config(tmp_path / "config.toml", db_url=db_url, smtp_port=port, rules_dir=rules,
                          outbound={"mode": "smtp", "host": "127.0.0.1", "port": smarthost.port,
                                    "retry_schedule": ["1s"], "connections": 2},
                          # every batch goes to the worker, so that a few messages exercise it
                          processing={"workers": 1, "offload_from": 1})
    return config, port


def _worker(serve: ServeProcess) -> int:
    assert wait_until(lambda: "checking workers ready" in serve.log(), 60), serve.log()
    found = re.findall(r"checking workers ready: pid (\d+)", serve.log())
    return int(found[-1])


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(") ", 1)[1][0] != "Z"


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()[1])


def test_serve_checks_in_a_worker_and_the_worker_dies_with_it(db_url: str, tmp_path: Path,
                                                              smarthost: Smarthost) -> None:
    config, port = _config(tmp_path, db_url, smarthost)
    (pair,) = make_pairs(config, 1)
    serve = ServeProcess(config, port, tmp_path)
    serve.start()
    try:
        assert serve.proc is not None
        worker = _worker(serve)
        assert worker != serve.proc.pid and _parent(worker) == serve.proc.pid
        assert smarthost.wait_for(2), "the two introductions"
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
            client.sendmail(pair.mentee_email, [pair.mentor_alias], simple_message(
                pair.mentee_email, pair.mentor_alias, subject="checked elsewhere",
                body="Bonjour, merci pour les conseils sur le métier d'infirmière.\n"))
            client.sendmail(pair.mentee_email, [pair.mentor_alias], simple_message(
                pair.mentee_email, pair.mentor_alias, subject="held elsewhere",
                body="Texte-moi au 514 555 0199 ce soir.\n"))
        def to_mentor(subject: bytes) -> list[bytes]:
            return [m.data for m in smarthost.messages
                    if m.rcpt_tos == (pair.mentor_email,) and subject in m.data]

        assert wait_until(lambda: to_mentor(b"checked elsewhere"), 30), serve.log()
        [forwarded] = to_mentor(b"checked elsewhere")
        assert pair.mentee_email.encode() not in forwarded
        # the hold notice to the sender is the last thing it causes: the check is done by then
        assert wait_until(lambda: len(smarthost.messages) >= 4, 30), serve.log()
        assert not to_mentor(b"held elsewhere")
        serve.kill()  # kill -9: the worker must not outlive it
        assert wait_until(lambda: not _alive(worker), 20), "the worker outlived a killed serve"
        serve.start()
        again = _worker(serve)
        assert again != worker
        assert serve.terminate(timeout=60) == 0, serve.log()
        assert wait_until(lambda: not _alive(again), 20), "the worker outlived a stopped serve"
        assert "Traceback" not in serve.log()
    finally:
        serve.stop()
