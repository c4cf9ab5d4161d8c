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
    """A round larger than the connection's window commits its first results as they come."""
    clock = MovableClock()
    transport = Answers(SendResult("sent", "250 a"), SendResult("sent", "250 b"),
                        SendResult("temporary", "451 later"))
    worker = DeliveryWorker(db, clock, POLICY, [transport], "me")
    queue_notices(db, clock.now(), 3)
    sent_at = clock.now()
    assert await worker.run_once() == 3
    assert [row[0] for row in _rows(db)] == ["sent", "sent", "sending"]  # the last is carried
    clock.advance(timedelta(seconds=30))
    assert await worker.run_once() == 0  # its claim transaction records the carried result
    assert _rows(db)[2] == ("deferred", 1, None,
                            (sent_at + timedelta(minutes=1)).replace(tzinfo=None))
    await worker.close()


async def test_a_round_within_the_windows_is_recorded_by_the_next_claim_alone(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two connections, four rows: each connection sends two (its window), nothing is
    committed during the round, and the next claim records all four as of when they came."""
    transactions = []
    real = worker_module.record_results

    def record(*args: object, **kwargs: object) -> None:
        transactions.append(len(args[3]))  # type: ignore[arg-type]  # the results
        real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(worker_module, "record_results", record)
    clock = MovableClock()
    transports = [Answers(SendResult("sent", "250 a"), SendResult("temporary", "451 later")),
                  Answers()]
    worker = DeliveryWorker(db, clock, POLICY, transports, "me")
    queue_notices(db, clock.now(), 4)
    sent_at = clock.now()
    assert await worker.run_once() == 4
    assert [t.sent for t in transports] == [2, 2]
    assert [row[0] for row in _rows(db)] == ["sending"] * 4 and transactions == []
    clock.advance(timedelta(seconds=30))
    assert await worker.run_once() == 0
    assert transactions == [4]  # one transaction, the claim's
    naive = sent_at.replace(tzinfo=None)
    assert [row[:3] for row in _rows(db)] == [("sent", 1, naive), ("sent", 1, naive),
                                              ("deferred", 1, None), ("sent", 1, naive)]
    assert _rows(db)[2][3] == naive + timedelta(minutes=1)
    await worker.close()


async def test_a_small_round_whose_connection_breaks_keeps_what_was_sent(db: Database) -> None:
    """The failing send keeps its lease (it may have reached the smarthost), the rest of its
    share is due again at once, the other connection's results are recorded."""

    class Broken(Answers):
        async def send(self, envelope_from: str, recipient: str, data: bytes) -> SendResult:
            self.sent += 1
            raise ConnectionResetError("the smarthost went away")

    clock = MovableClock()
    transports = [Broken(), Answers()]
    worker = DeliveryWorker(db, clock, POLICY, transports, "me")
    queue_notices(db, clock.now(), 4)
    with pytest.raises(ConnectionResetError):
        await worker.run_once()
    # rows 1 and 3 were the broken connection's share, rows 2 and 4 the other's
    assert [t.sent for t in transports] == [1, 2]
    assert [row[0] for row in _rows(db)] == ["sending", "sending", "queued", "sending"]
    await worker.close()
    assert [row[0] for row in _rows(db)] == ["sending", "sent", "queued", "sent"]


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
