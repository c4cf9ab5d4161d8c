"""The worker's last result of a round is committed with the next claim, by a timer, or at
close: always the same outcome as committing it at once (as of the time it came)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from gateway.clock import MovableClock
from gateway.delivery import worker as worker_module
from gateway.delivery.retry import RetryPolicy
from gateway.delivery.transports import SendResult
from gateway.delivery.worker import DeliveryWorker
from gateway.store.db import Database
from gateway.store.migrate import migrate
from gateway.store.models import Outbox
from tests.unit.conftest import queue_notices

POLICY = RetryPolicy.from_config(["1m"], "1d")


class Answers:
    """A transport answering from a list (then 250), counting sends."""

    def __init__(self, *replies: SendResult) -> None:
        self.replies = list(replies)
        self.sent = 0

    async def send(self, envelope_from: str, recipient: str, data: bytes) -> SendResult:
        self.sent += 1
        return self.replies.pop(0) if self.replies else SendResult("sent", "250 ok")

    async def close(self) -> None:
        return None


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'carry.db'}")
    migrate(database.engine)
    try:
        yield database
    finally:
        database.close()


def _rows(db: Database) -> list[tuple[str, int, object, object]]:
    def read(session: Session) -> list[tuple[str, int, object, object]]:
        rows = session.exec(select(Outbox).order_by(col(Outbox.id))).all()
        return [(r.state, r.attempts, r.sent_at, r.next_attempt_at) for r in rows]
    return db.transaction(read)


async def test_the_last_result_is_committed_with_the_next_claim(db: Database) -> None:
    clock = MovableClock()
    transport = Answers(SendResult("sent", "250 a"), SendResult("temporary", "451 later"))
    worker = DeliveryWorker(db, clock, POLICY, [transport], "me")
    queue_notices(db, clock.now(), 2)
    sent_at = clock.now()
    assert await worker.run_once() == 2
    assert [row[0] for row in _rows(db)] == ["sent", "sending"]  # the last one is carried
    clock.advance(timedelta(seconds=30))
    assert await worker.run_once() == 0  # its claim transaction records the carried result
    assert _rows(db) == [("sent", 1, sent_at.replace(tzinfo=None), _rows(db)[0][3]),
                         ("deferred", 1, None, (sent_at + timedelta(minutes=1)).replace(tzinfo=None))]
    await worker.close()


async def test_a_carried_result_is_committed_by_the_timer_and_at_close(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker_module, "CARRY_SECONDS", 0.05)
    clock = MovableClock()
    worker = DeliveryWorker(db, clock, POLICY, [Answers()], "me")
    queue_notices(db, clock.now(), 1)
    assert await worker.run_once() == 1
    assert [row[0] for row in _rows(db)] == ["sending"]
    await asyncio.sleep(0.3)
    assert [row[0] for row in _rows(db)] == ["sent"]

    monkeypatch.setattr(worker_module, "CARRY_SECONDS", 3600)
    queue_notices(db, clock.now(), 1)
    assert await worker.run_once() == 1
    assert [row[0] for row in _rows(db)] == ["sent", "sending"]
    await worker.close()
    assert [row[0] for row in _rows(db)] == ["sent", "sent"]


async def test_rounds_end_as_committing_at_once(db: Database, tmp_path: Path) -> None:
    """Many rows over several connections: every row recorded once, as without carrying."""
    clock = MovableClock()
    transports = [Answers(*[SendResult("temporary", "451 later")] * 3) for _ in range(3)]
    worker = DeliveryWorker(db, clock, POLICY, transports, "me")
    queue_notices(db, clock.now(), 25)
    while await worker.run_once():
        pass
    rows = _rows(db)
    assert sum(t.sent for t in transports) == 25
    assert sorted(row[0] for row in rows) == ["deferred"] * 9 + ["sent"] * 16
    assert {row[1] for row in rows} == {1}
