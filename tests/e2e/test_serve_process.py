"""The real `serve` process: clean stop on SIGTERM, refusal to start on bad config or rules, `make run`."""

from __future__ import annotations

import re
import shutil
import signal
import smtplib
import subprocess
from email.parser import BytesParser
from email.policy import default
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.e2e.harness import simple_message
from tests.e2e.serve_process import (
    ServeProcess,
    free_port,
    listening,
    make_pairs,
    run_cli,
    wait_until,
    write_config,
)
from tests.e2e.smarthost import Smarthost

IN_FLIGHT = 4
SMARTHOST_TIMEOUT = 2.0  # how long the gateway waits for a hung smarthost before deferring


def smtp_config(tmp_path: Path, db_url: str, rules: Path, smarthost: Smarthost) -> tuple[Path, int]:
    port = free_port()
    config = write_config(tmp_path / "config.toml", db_url=db_url, smtp_port=port, rules_dir=rules,
                          outbound={"mode": "smtp", "host": "127.0.0.1", "port": smarthost.port,
                                    "retry_schedule": ["1s"], "give_up_after": "1h",
                                    "connections": 2, "timeout_seconds": SMARTHOST_TIMEOUT})
    return config, port


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_right_after_start_is_a_clean_stop(db_url: str, tmp_path: Path,
                                                    empty_rules: Path, smarthost: Smarthost,
                                                    signum: signal.Signals) -> None:
    """systemd's stop or a Ctrl-C, as soon as the SMTP port answers: exit 0, no traceback."""
    config, port = smtp_config(tmp_path, db_url, empty_rules, smarthost)
    serve = ServeProcess(config, port, tmp_path)
    serve.start()
    try:
        assert serve.proc is not None
        serve.proc.send_signal(signum)
        assert serve.proc.wait(timeout=30) == 0, serve.log()
        assert "Traceback" not in serve.log()
    finally:
        serve.stop()
    assert "gateway stopped" in serve.log()
    assert not listening(port)


def test_sigterm_with_mail_in_flight_exits_0_and_loses_nothing(
        db_url: str, tmp_path: Path, empty_rules: Path, smarthost: Smarthost) -> None:
    config, port = smtp_config(tmp_path, db_url, empty_rules, smarthost)
    (pair,) = make_pairs(config, 1)
    serve = ServeProcess(config, port, tmp_path)
    serve.start()
    try:
        assert smarthost.wait_for(2), "the two introductions"
        smarthost.hang()  # the forwards below are on the wire, unanswered, when SIGTERM comes
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
            for n in range(IN_FLIGHT):
                client.sendmail(pair.mentee_email, [pair.mentor_alias],
                                simple_message(pair.mentee_email, pair.mentor_alias,
                                               subject=f"in flight {n}"))
        assert wait_until(lambda: smarthost.data_commands > 2, 30), "delivery never started"
        assert serve.terminate(timeout=60) == 0, serve.log()
        assert not [m for m in smarthost.messages if b"in flight" in m.data]
        smarthost.reset()
        serve.start()
        assert wait_until(lambda: len(in_flight(smarthost)) == IN_FLIGHT, 30), serve.log()
        assert serve.terminate(timeout=30) == 0
    finally:
        serve.stop()
    assert sorted(in_flight(smarthost)) == [f"in flight {n}" for n in range(IN_FLIGHT)]
    assert {m.rcpt_tos for m in smarthost.messages[2:]} == {(pair.mentor_email,)}


def in_flight(smarthost: Smarthost) -> list[str]:
    found = (re.search(rb"^Subject: (in flight \d+)", m.data, re.M) for m in smarthost.messages)
    return [f.group(1).decode() for f in found if f]


def refused_start(config: Path, tmp_path: Path, port: int) -> subprocess.CompletedProcess[str]:
    result = run_cli(["serve"], config=config, cwd=tmp_path, timeout=30)
    assert result.returncode == 2, result.stderr
    assert "listening" not in result.stderr
    assert not listening(port)
    return result


def test_unknown_config_key_stops_serve_before_it_listens(tmp_path: Path, empty_rules: Path,
                                                           smarthost: Smarthost) -> None:
    config, port = smtp_config(tmp_path, f"sqlite:///{tmp_path / 'g.db'}", empty_rules, smarthost)
    text = config.read_text().replace("[smtp]\n", "[smtp]\nmax_message_size = 1000\n")
    config.write_text(text)
    line = text.splitlines().index("max_message_size = 1000") + 1
    stderr = refused_start(config, tmp_path, port).stderr
    assert str(config) in stderr
    assert "max_message_size" in stderr
    assert f"line {line}" in stderr
    assert not (tmp_path / "g.db").exists(), "nothing is touched before the config is valid"


def test_wrong_type_in_config_stops_serve_before_it_listens(tmp_path: Path, empty_rules: Path,
                                                            smarthost: Smarthost) -> None:
    config, port = smtp_config(tmp_path, f"sqlite:///{tmp_path / 'g.db'}", empty_rules, smarthost)
    config.write_text(config.read_text().replace(f"port = {smarthost.port}",
                                                 f'port = "{smarthost.port}"'))
    stderr = refused_start(config, tmp_path, port).stderr
    assert str(config) in stderr
    assert "outbound.port" in stderr
    assert "whole number" in stderr


def test_bad_regex_in_a_rule_stops_serve_before_it_listens(db_url: str, tmp_path: Path,
                                                          smarthost: Smarthost) -> None:
    rules = tmp_path / "rules"
    (rules / "wordlists").mkdir(parents=True)
    (rules / "phone_words.toml").write_text(
        'description = "phone numbers spelled out"\naction = "hold"\n'
        'reason_fr = "Numéro de téléphone"\nreason_en = "Phone number"\n\n'
        '[match]\nkind = "regex"\nfields = ["body"]\npattern = "(zero|one"\n', encoding="utf-8")
    config, port = smtp_config(tmp_path, db_url, rules, smarthost)
    stderr = refused_start(config, tmp_path, port).stderr
    assert "phone_words.toml" in stderr
    assert "match.pattern" in stderr
    assert "line 9" in stderr


def test_make_run_demo_command_delivers_to_the_maildir(db_url: str, tmp_path: Path) -> None:
    """What `make run` does in a fresh folder: migrate, demo, serve; then the printed command."""
    fresh = tmp_path / "fresh"
    (fresh / "var" / "outbox").mkdir(parents=True)
    shutil.copy(ROOT / "config.toml", fresh / "config.toml")
    port = free_port()
    env = {"GATEWAY_SMTP_PORT": str(port), "GATEWAY_WEB_ENABLED": "false",
           "GATEWAY_GATEWAY_RULES_DIR": str(ROOT / "relay_rules"),
           "GATEWAY_GATEWAY_TEMPLATES_DIR": str(ROOT / "templates")}
    if not db_url.startswith("sqlite"):
        env["GATEWAY_DATABASE_URL"] = db_url  # else the shipped default, var/gateway.db
    config = fresh / "config.toml"
    migrated = run_cli(["migrate"], config=config, cwd=fresh, env=env)
    assert migrated.returncode == 0, migrated.stderr
    demo = run_cli(["demo"], config=config, cwd=fresh, env=env)
    assert demo.returncode == 0, demo.stderr
    mentor_alias = re.search(r"the mentee writes to the mentor's alias:\s+(\S+)", demo.stdout)
    assert mentor_alias and re.search(r"the mentor writes to the mentee's alias:\s+\S+@", demo.stdout)
    command = next(line.strip() for line in demo.stdout.splitlines() if "gateway.sendtest" in line)
    assert f"--port {port}" in command and mentor_alias.group(1) in command
    assert "var/outbox/new/" in demo.stdout
    serve = ServeProcess(config, port, fresh, env=env)
    serve.start()
    try:
        sent = subprocess.run(["bash", "-c", command], cwd=ROOT, capture_output=True, text=True,
                              timeout=30)
        assert sent.returncode == 0, sent.stderr
        # The first message of a pair waits for a moderator, as the demo text says.
        held = wait_until(lambda: len(queue_list(config, fresh, env).splitlines()) > 1, 30)
        assert held, serve.log()
        header, row = queue_list(config, fresh, env).splitlines()[:2]  # a header row, then ours
        assert header.split()[0] == "ID"
        message_id = row.split()[0]
        approved = run_cli(["queue", "approve", message_id], config=config, cwd=fresh, env=env)
        assert approved.returncode == 0, approved.stderr
        outbox = fresh / "var" / "outbox" / "new"
        assert wait_until(lambda: bool(forwards(outbox)), 30), serve.log()
        assert serve.terminate() == 0
    finally:
        serve.stop()
    (forward,) = forwards(outbox)
    (to,) = BytesParser(policy=default).parsebytes(forward)["To"].addresses
    # Names travel as the first word of the registered name ([privacy] name_shown = "first").
    assert (to.display_name, to.addr_spec) == ("DEMO", "demo-mentor@example.org")
    assert b"demo-mentee@example.org" not in forward.lower()


def queue_list(config: Path, cwd: Path, env: dict[str, str]) -> str:
    listed = run_cli(["queue", "list"], config=config, cwd=cwd, env=env)
    assert listed.returncode == 0, listed.stderr
    return listed.stdout


def forwards(outbox: Path) -> list[bytes]:
    files = [f.read_bytes() for f in outbox.glob("*")] if outbox.exists() else []
    return [data for data in files if b"Subject: Bonjour / Hello" in data]
