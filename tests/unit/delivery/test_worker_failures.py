"""A delivery round that breaks half-way (the store refuses to record, a transport raises)
gives its unsent rows back at once and keeps its sent results for the next claim: nothing waits
for the 10-minute lease, and nothing the smarthost took is sent twice."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError
from sqlmodel import col, select

from gateway.clock import MovableClock
from gateway.delivery import worker as worker_module
from gateway.delivery.retry import RetryPolicy
from gateway.delivery.transports import SendResult
from gateway.delivery.worker import DeliveryWorker
from gateway.store.db import Database
from gateway.store.lifecycle import LEASE
from gateway.store.models import Outbox
from tests.unit.conftest import queue_notices

POLICY = RetryPolicy.from_config(["1m"], "1d")


class Counting:
    """Answers 250 and counts each recipient's sends; raises at the send numbered `broken`."""

    def __init__(self, broken: int | None = None) -> None:
        self.sends: list[str] = []
        self.broken = broken

    async def send(self, envelope_from: str, recipient: str, data: bytes) -> SendResult:
        self.sends.append(recipient)
        if len(self.sends) == self.broken:
            raise ConnectionResetError("the transport broke")
        return SendResult("sent", "250 ok")

    async def close(self) -> None:
        return None


def _states(db: Database) -> list[str]:
    return db.transaction(lambda s: [row.state for row in s.exec(
        select(Outbox).order_by(col(Outbox.id))).all()])


async def test_a_round_whose_results_cannot_be_recorded_loses_and_repeats_nothing(
        migrated_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker_module, "RECORD_RETRY_SECONDS", 0)
    real = worker_module.record_results
    broken = [True]

    def record(*args: Any, **kwargs: Any) -> None:
        if broken[0]:  # e.g. a deadlock every time, or the disk full
            raise OperationalError("UPDATE outbox", {}, Exception("deadlock detected"))
        real(*args, **kwargs)

    monkeypatch.setattr(worker_module, "record_results", record)
    clock = MovableClock()
    transport = Counting()
    worker = DeliveryWorker(migrated_db, clock, POLICY, [transport], "me")
    queue_notices(migrated_db, clock.now(), 6)
    with pytest.raises(OperationalError):
        await worker.run_once()
    # two sent before the connection stopped (its window of unrecorded results); the four
    # it never sent are due again now, not in 10 minutes
    assert len(transport.sends) == 2
    assert _states(migrated_db) == ["sending", "sending", "queued", "queued", "queued", "queued"]

    broken[0] = False
    clock.advance(timedelta(seconds=1))
    while await worker.run_once():
        pass
    await worker.close()
    assert _states(migrated_db) == ["sent"] * 6
    assert sorted(transport.sends) == sorted(f"p{n}@example.org" for n in range(6))  # once each


async def test_a_transport_that_raises_gives_the_rest_of_the_round_back(migrated_db: Database) -> None:
    clock = MovableClock()
    transport = Counting(broken=2)
    worker = DeliveryWorker(migrated_db, clock, POLICY, [transport], "me")
    queue_notices(migrated_db, clock.now(), 5)
    with pytest.raises(ConnectionResetError):
        await worker.run_once()
    # the first is recorded; the second may or may not have reached the smarthost, so it keeps
    # its lease (sent again when it runs out); the other three are due again at once
    assert _states(migrated_db) == ["sent", "sending", "queued", "queued", "queued"]
    transport.broken = None
    assert await worker.run_once() == 3
    await worker.close()
    assert _states(migrated_db) == ["sent", "sending", "sent", "sent", "sent"]
    clock.advance(LEASE + timedelta(seconds=1))
    assert await worker.run_once() == 1
    await worker.close()
    assert _states(migrated_db) == ["sent"] * 5
