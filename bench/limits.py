"""Resource limits of a real `serve` process: the CPU cost of a message with 30,000 header lines
(caps raised so that it is processed, to show the rewrite is linear) while another sender is
answered, and the peak RSS with 1 and 4 concurrent messages near max_message_bytes (20 MiB).

    .venv/bin/python bench/limits.py [--headers 30000] [--size-mib 19] [--parallel 1 4]
"""

from __future__ import annotations

import argparse
import json
import os
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TICKS = os.sysconf("SC_CLK_TCK")
MIB = 1024 * 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def memory_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


class Serve:
    """`mentor-gateway serve` on SQLite with a maildir outbox, and two pairs."""

    def __init__(self, work: Path, limits: dict[str, int]) -> None:
        self.work = work
        self.port = free_port()
        self.outbox = work / "out"
        rules = work / "rules"
        (rules / "wordlists").mkdir(parents=True)
        limit_lines = "\n".join(f"{k} = {v}" for k, v in limits.items())
        self.config = work / "config.toml"
        self.config.write_text(f"""
[gateway]
domain = "mentor.test"
rules_dir = "{rules}"
templates_dir = "{ROOT / 'templates'}"
[database]
url = "sqlite:///{work / 'gw.db'}"
[smtp]
port = {self.port}
[outbound]
mode = "maildir"
maildir = "{self.outbox}"
[reminders]
enabled = false
[web]
enabled = false
[authentication]
mode = "off"
[limits]
per_participant_hour = 1000000
per_pair_day = 1000000
{limit_lines}
""")
        self.pairs = self._setup()
        env = {**os.environ, "GATEWAY_CONFIG": str(self.config), "PYTHONPATH": str(ROOT)}
        self.log = open(work / "serve.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen([sys.executable, "-m", "gateway", "serve"], env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT, cwd=work)
        deadline = time.time() + 30
        while time.time() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    break
            time.sleep(0.1)
        time.sleep(0.5)
        self.baseline_rss = memory_kib(self.proc.pid, "VmRSS")

    def _setup(self) -> list[tuple[str, str]]:
        from datetime import UTC, datetime

        from gateway.config import load_settings
        from gateway.program import service
        from gateway.store.db import Database
        from gateway.store.migrate import migrate
        from gateway.store.models import Pair

        settings = load_settings(self.config, env={})

        def create(s: object) -> list[tuple[str, str]]:
            now = datetime.now(UTC)
            found = []
            for n in range(4):
                service.add_participant(s, email=f"mentor{n}@example.org", name="M",  # type: ignore[arg-type]
                                        role="mentor", now=now)
                service.add_participant(s, email=f"mentee{n}@example.org", name="E",  # type: ignore[arg-type]
                                        role="mentee", now=now)
                view = service.create_pair(s, settings, mentor=f"mentor{n}@example.org",  # type: ignore[arg-type]
                                           mentee=f"mentee{n}@example.org", now=now)
                pair = s.get(Pair, view.id)  # type: ignore[attr-defined]
                pair.forwarded_count = 1
                found.append((f"mentor{n}@example.org", view.mentee_alias))
            return found

        db = Database(settings.database.url)
        try:
            migrate(db.engine)
            return db.transaction(create)
        finally:
            db.close()

    def delivered(self) -> int:
        folder = self.outbox / "new"
        return len(list(folder.iterdir())) if folder.exists() else 0

    def wait_delivered(self, count: int, timeout: float = 300) -> None:
        deadline = time.time() + timeout
        while self.delivered() < count:
            if time.time() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"only {self.delivered()} of {count} delivered; see serve.log")
            time.sleep(0.05)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=60)
        self.log.close()


def send(port: int, sender: str, rcpt: str, data: bytes) -> tuple[int, float]:
    started = time.monotonic()
    with smtplib.SMTP("127.0.0.1", port, timeout=300) as client:
        try:
            client.sendmail(sender, [rcpt], data)
            code = 250
        except smtplib.SMTPResponseException as exc:
            code = exc.smtp_code
        except smtplib.SMTPRecipientsRefused as exc:
            code = next(iter(exc.recipients.values()))[0]
    return code, time.monotonic() - started


def message(sender: str, to: str, subject: str, *, attachment: bytes = b"",
            extra_headers: int = 0) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg.set_content("Bonjour\n")
    if attachment:
        msg.add_attachment(attachment, maintype="application", subtype="octet-stream",
                           filename="big.bin")
    data = msg.as_bytes(policy=SMTP_POLICY)
    return b"".join(b"X-Bench-%d: value\r\n" % i for i in range(extra_headers)) + data


def header_cost(headers: int) -> dict[str, object]:
    """With the caps raised (the message is processed: the rewrite's cost) and with the default
    caps (refused at SMTP time): A's 30,000 header lines, B's small message sent meanwhile."""
    report: dict[str, object] = {"headers": headers}
    for label, limits in (("caps_raised", {"max_header_count": headers + 100,
                                           "max_header_bytes": 64 * MIB}),
                          ("default_caps", {})):
        with tempfile.TemporaryDirectory() as folder:
            serve = Serve(Path(folder), limits)
            try:
                (a_from, a_to), (b_from, b_to) = serve.pairs[0], serve.pairs[1]
                alone = send(serve.port, b_from, b_to, message(b_from, b_to, "Alone"))[1]
                big = message(a_from, a_to, "Many headers", extra_headers=headers)
                expected = 2 if label == "caps_raised" else 1
                serve.wait_delivered(1)
                before = cpu_seconds(serve.proc.pid)
                result: dict[str, tuple[int, float]] = {}
                worker = threading.Thread(
                    target=lambda: result.update(a=send(serve.port, a_from, a_to, big)))  # noqa: B023
                worker.start()
                time.sleep(0.05)
                result["b"] = send(serve.port, b_from, b_to, message(b_from, b_to, "Meanwhile"))
                worker.join()
                serve.wait_delivered(expected + 1)
                cpu = cpu_seconds(serve.proc.pid) - before
            finally:
                serve.stop()
        report[label] = {"bytes": len(big), "code": result["a"][0],
                         "a_answered_in_s": round(result["a"][1], 3),
                         "cpu_seconds_a_and_b": round(cpu, 3),
                         "b_answered_in_s": round(result["b"][1], 3),
                         "b_alone_in_s": round(alone, 3)}
    return report


def peak_memory(parallel: int, size_mib: float) -> dict[str, float]:
    payload = os.urandom(int(size_mib * MIB * 3 / 4))  # base64 makes it 4/3 larger
    with tempfile.TemporaryDirectory() as folder:
        serve = Serve(Path(folder), {})
        try:
            mails = [message(f, t, f"Big {n}", attachment=payload)
                     for n, (f, t) in enumerate(serve.pairs[:parallel])]
            size = len(mails[0])
            codes: list[int] = []
            threads = [threading.Thread(target=lambda f=f, t=t, m=m: codes.append(
                send(serve.port, f, t, m)[0])) for (f, t), m in zip(serve.pairs, mails, strict=False)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            if codes != [250] * parallel:
                raise RuntimeError(f"not accepted: {codes}")
            serve.wait_delivered(parallel)
            peak = memory_kib(serve.proc.pid, "VmHWM")
        finally:
            serve.stop()
    extra_mib = (peak - serve.baseline_rss) / 1024
    return {"parallel": parallel, "message_mib": round(size / MIB, 1),
            "baseline_rss_mib": round(serve.baseline_rss / 1024, 1),
            "peak_rss_mib": round(peak / 1024, 1), "above_baseline_mib": round(extra_mib, 1),
            "per_message_x_max_bytes": round(extra_mib / parallel / 20, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--headers", type=int, default=30000)
    parser.add_argument("--size-mib", type=float, default=19.0)
    parser.add_argument("--parallel", type=int, nargs="*", default=[1, 4])
    args = parser.parse_args()
    report = {"header_cost": header_cost(args.headers),
              "peak_memory": [peak_memory(n, args.size_mib) for n in args.parallel]}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
