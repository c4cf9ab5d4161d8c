"""Exactly once on PostgreSQL: two gateway instances racing over 1,000 due reminders, and a crash after queueing."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert
from sqlmodel import select

from gateway.app import App
from gateway.clock import MovableClock
from gateway.delivery.transports import SmtpTransport
from gateway.mail.alias import new_alias_local_part
from gateway.scheduler import reminder_check
from gateway.store.db import Database
from gateway.store.models import Alias, AuditEvent, Outbox, Pair, Participant
from tests.conftest import ROOT, make_settings, private_pg_schema

PAIRS = 1000


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from private_pg_schema("two instances share one PostgreSQL")


def make_app(pg_url: str, tmp_path: Path, rules: Path, clock: MovableClock, port: int, name: str,
             *, background: bool) -> App:
    settings = make_settings(pg_url, tmp_path, rules_dir=rules, gateway={
        "domain": "mentor.test", "program_name": "Academos Test", "rules_dir": str(rules),
        "templates_dir": str(ROOT / "templates"), "instance_name": name})
    transports = [SmtpTransport("127.0.0.1", port, timeout=5.0) for _ in range(3)]
    return App(settings, clock=clock, transports=transports, background=background)


def due_pairs(session: Any, count: int, clock: MovableClock) -> None:
    """`count` pairs whose mentor wrote (delivered) three days ago: each owes exactly one reminder."""
    now = clock.now()
    last = now - timedelta(days=3)
    people = []
    for n in range(count):
        for role in ("mentor", "mentee"):
            people.append({"email": f"{role}{n}@example.net", "display_name": f"{role.title()} {n}",
                           "role": role, "lang": "fr" if n % 2 else "en", "minor": False,
                           "reminders_opt_out": False, "created_at": now - timedelta(days=30)})
    session.execute(insert(Participant), people)
    ids = {p.email: p.id for p in session.exec(select(Participant)).all()}
    session.execute(insert(Pair), [
        {"mentor_id": ids[f"mentor{n}@example.net"], "mentee_id": ids[f"mentee{n}@example.net"],
         "state": "active", "created_at": now - timedelta(days=30), "last_delivered_at": last,
         "last_delivered_from": "mentor", "last_delivered_message_id": 100_000 + n,
         "delivered_count": 1, "forwarded_count": 1} for n in range(count)])
    aliases = [{"local_part": new_alias_local_part(), "pair_id": p.id, "participant_id": who,
                "created_at": now}
               for p in session.exec(select(Pair)).all() for who in (p.mentor_id, p.mentee_id)]
    session.execute(insert(Alias), aliases)


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    folder = tmp_path / "no_rules"
    (folder / "wordlists").mkdir(parents=True)
    return folder


@pytest.fixture
async def two(pg_url: str, tmp_path: Path, rules: Path, clock: MovableClock,
              smarthost: Any) -> AsyncIterator[tuple[App, App]]:
    first = make_app(pg_url, tmp_path, rules, clock, smarthost.port, "gw-a", background=True)
    second = make_app(pg_url, tmp_path, rules, clock, smarthost.port, "gw-b", background=True)
    await first.start()  # one after the other: both run the migrations on start
    await second.start()
    try:
        yield first, second
    finally:
        await first.stop()
        await second.stop()


async def outbox(app: App) -> list[Outbox]:
    return await app.db.read(lambda s: list(s.exec(select(Outbox).where(Outbox.kind == "reminder"))))


async def test_two_instances_send_each_of_1000_due_reminders_exactly_once(
        two: tuple[App, App], pg_url: str, clock: MovableClock, smarthost: Any) -> None:
    first, second = two
    await first.db.write(lambda s: due_pairs(s, PAIRS, clock))

    # Both checks race (twice each, as overlapping scheduler runs would); both delivery loops run.
    await asyncio.gather(reminder_check(first), reminder_check(second),
                         reminder_check(first), reminder_check(second))
    await smarthost.wait_for_async(PAIRS, timeout=120)
    await first.stop()
    await second.stop()  # let every worker finish and record before counting
    db = Database(pg_url)
    try:
        rows = db.transaction(lambda s: list(s.exec(select(Outbox).where(Outbox.kind == "reminder"))))
        senders = db.transaction(lambda s: Counter(e.actor for e in s.exec(
            select(AuditEvent).where(AuditEvent.action == "deliver_sent")).all()))
    finally:
        db.close()
    assert len(rows) == PAIRS
    assert Counter(r.state for r in rows) == {"sent": PAIRS}
    assert set(senders) == {"gw-a", "gw-b"}, f"both instances delivered: {senders}"
    assert sum(senders.values()) == PAIRS
    recipients = Counter(m.rcpt_tos for m in smarthost.messages)
    assert len(smarthost.messages) == PAIRS
    assert max(recipients.values()) == 1, "nobody got the same reminder twice"
    assert {r[0].split("@")[0].rstrip("0123456789") for r in recipients} == {"mentee"}


CRASHING_INSTANCE = """
import asyncio, sys
from datetime import datetime
from pathlib import Path
sys.path.insert(0, {root!r})
from gateway.clock import MovableClock
from tests.e2e.test_reminders_two_instances import make_app
from gateway.scheduler import reminder_check

async def main():
    clock = MovableClock(datetime.fromisoformat({now!r}))
    app = make_app({url!r}, Path({tmp!r}), Path({rules!r}), clock, {port}, "gw-a", background=False)
    await app.start()
    await reminder_check(app)      # decided and queued (committed)
    print("queued", flush=True)
    await app.delivery.run_once()  # the smarthost hangs on DATA: we get killed here
asyncio.run(main())
"""


async def test_a_crash_between_queueing_and_sending_sends_each_reminder_once(
        pg_url: str, tmp_path: Path, rules: Path, clock: MovableClock, smarthost: Any) -> None:
    setup = make_app(pg_url, tmp_path, rules, clock, smarthost.port, "setup", background=False)
    await setup.start()
    await setup.db.write(lambda s: due_pairs(s, 20, clock))
    await setup.stop()

    smarthost.hang()
    script = CRASHING_INSTANCE.format(root=str(ROOT), now=clock.now().isoformat(), url=pg_url,
                                      tmp=str(tmp_path), rules=str(rules), port=smarthost.port)
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = await asyncio.to_thread(proc.stdout.readline)  # type: ignore[union-attr]
        assert line.strip() == "queued", proc.stderr.read() if proc.stderr else ""
        restarted = make_app(pg_url, tmp_path, rules, clock, smarthost.port, "gw-a", background=False)
        for _ in range(400):  # wait until the doomed instance holds rows in "sending"
            states = Counter(r.state for r in await outbox(restarted))
            if states.get("sending"):
                break
            await asyncio.sleep(0.05)
        assert states.get("sending"), states
    finally:
        proc.send_signal(signal.SIGKILL)
        await asyncio.to_thread(proc.wait)
    smarthost.reset()

    await restarted.start()  # same instance name: its interrupted claims go back to the queue
    try:
        await reminder_check(restarted)  # decides again: every key already exists
        await restarted.pump()
        await smarthost.wait_for_async(20, timeout=30)
        rows = await outbox(restarted)
    finally:
        await restarted.stop()
    assert len(rows) == 20 and Counter(r.state for r in rows) == {"sent": 20}
    assert len(smarthost.messages) == 20
    assert max(Counter(m.rcpt_tos for m in smarthost.messages).values()) == 1
