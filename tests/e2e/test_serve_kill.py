"""`kill -9` of a real `serve` process, again and again, while clients send: no accepted mail is lost."""

from __future__ import annotations

import contextlib
import random
import re
import smtplib
import threading
from dataclasses import dataclass, field
from pathlib import Path

from gateway.delivery.worker import UNRECORDED_PER_CONNECTION
from tests.e2e.harness import simple_message
from tests.e2e.serve_process import (
    ServeProcess,
    free_port,
    listening,
    make_pairs,
    wait_until,
    write_config,
)
from tests.e2e.smarthost import Smarthost

MESSAGES = 320
CLIENTS = 4  # one pair per client connection, both directions
KILLS = 4
OUTBOUND_CONNECTIONS = 2
SUBJECT = re.compile(rb"^Subject: kill (\d+)\r?$", re.MULTILINE)


@dataclass(frozen=True)
class Job:
    number: int
    sender: str
    alias: str
    real_recipient: str
    data: bytes


@dataclass
class Tally:
    """What the clients saw, shared by their threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    accepted: set[int] = field(default_factory=set)
    permanent: dict[int, str] = field(default_factory=dict)
    transient: int = 0

    def count(self) -> int:
        with self.lock:
            return len(self.accepted)


def jobs_for(pairs: list, n_clients: int, total: int) -> list[list[Job]]:
    shares: list[list[Job]] = [[] for _ in range(n_clients)]
    for number in range(total):
        slot = number % n_clients
        pair = pairs[slot]
        if number % 2:  # the mentee writes to the mentor's alias
            sender, alias, real = pair.mentee_email, pair.mentor_alias, pair.mentor_email
        else:
            sender, alias, real = pair.mentor_email, pair.mentee_alias, pair.mentee_email
        data = simple_message(sender, alias, subject=f"kill {number}", body=f"message {number}\n")
        shares[slot].append(Job(number, sender, alias, real, data))
    return shares


def client(port: int, jobs: list[Job], tally: Tally) -> None:
    """A persistent client: reuses its connection; on 4xx or a dropped connection, sends again."""
    conn: smtplib.SMTP | None = None
    for job in jobs:
        while True:
            try:
                if conn is None:
                    conn = smtplib.SMTP("127.0.0.1", port, timeout=30)
                conn.sendmail(job.sender, [job.alias], job.data)
                with tally.lock:
                    tally.accepted.add(job.number)
                break
            except (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused) as exc:
                code, text = _reply_of(exc)
                if code >= 500:
                    with tally.lock:
                        tally.permanent[job.number] = f"{code} {text}"
                    break
            except (OSError, smtplib.SMTPException):
                pass  # the server went away mid-session: reconnect and send the same message again
            with tally.lock:
                tally.transient += 1
            _close(conn)
            conn = None
            wait_until(lambda: listening(port), 30)
    _close(conn)


def _reply_of(exc: Exception) -> tuple[int, str]:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(exc.recipients.values()))
        return code, _text(text)
    assert isinstance(exc, smtplib.SMTPResponseException)
    return exc.smtp_code, _text(exc.smtp_error)


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def _close(conn: smtplib.SMTP | None) -> None:
    if conn is not None:
        with contextlib.suppress(OSError):
            conn.close()


def test_kill_9_during_traffic_loses_no_accepted_message(db_url: str, tmp_path: Path,
                                                          empty_rules: Path,
                                                          smarthost: Smarthost) -> None:
    port = free_port()
    # The default instance name (host:pid) changes at every restart: rows a killed process was
    # sending must still go out at once, not after their 10-minute lease.
    config = write_config(tmp_path / "config.toml", db_url=db_url, smtp_port=port,
                          rules_dir=empty_rules, instance_name=None,
                          outbound={"mode": "smtp", "host": "127.0.0.1", "port": smarthost.port,
                                    "retry_schedule": ["1s"], "give_up_after": "1h",
                                    "connections": OUTBOUND_CONNECTIONS, "timeout_seconds": 5.0})
    pairs = make_pairs(config, CLIENTS)
    shares = jobs_for(pairs, CLIENTS, MESSAGES)
    expected_rcpt = {job.number: job.real_recipient for share in shares for job in share}
    serve = ServeProcess(config, port, tmp_path)
    serve.start()
    tally = Tally()
    threads = [threading.Thread(target=client, args=(port, share, tally), daemon=True)
               for share in shares]
    rng = random.Random()
    kill_points = sorted(rng.sample(range(20, MESSAGES - 20), KILLS))
    try:
        for thread in threads:
            thread.start()
        for point in kill_points:
            assert wait_until(lambda p=point: tally.count() >= p, 60), (  # type: ignore[misc]
                "clients stopped progressing")
            serve.kill()
            serve.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not any(t.is_alive() for t in threads), "a client is stuck"

        def delivered() -> list[int]:
            numbers = []
            for rec in smarthost.messages:
                found = SUBJECT.search(rec.data)
                if found is None:
                    continue  # the pairs' introductions
                numbers.append(int(found.group(1)))
                assert rec.rcpt_tos == (expected_rcpt[numbers[-1]],)
            return numbers

        wait_until(lambda: tally.accepted <= set(delivered()), 30, poll=0.2)
    finally:
        serve.stop()
    numbers = delivered()
    duplicates = len(numbers) - len(set(numbers))
    print(f"\nkill test: {len(tally.accepted)} accepted, {len(set(numbers))} delivered, "
          f"{duplicates} duplicate(s), {tally.transient} client retries, {KILLS} kills at {kill_points}")
    assert tally.permanent == {}, "a 5xx was answered to a legitimate message"
    assert tally.accepted == set(range(MESSAGES))
    missing = sorted(tally.accepted - set(numbers))
    assert missing == [], f"accepted (250) but never delivered: {missing}"
    # A duplicate can only come from the window between the smarthost's 250 and our commit,
    # which holds at most UNRECORDED_PER_CONNECTION messages per outbound connection.
    assert duplicates <= KILLS * OUTBOUND_CONNECTIONS * UNRECORDED_PER_CONNECTION
