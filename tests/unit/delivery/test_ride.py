"""Delivery's claim taken along by another write transaction (the relay's): the rows it claims are sent by the next round without a claim of its own, and the carried results are recorded in it, or kept when it fails."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import Session, col, select

from gateway.app import App
from gateway.clock import MovableClock
from gateway.delivery.retry import RetryPolicy
from gateway.delivery.transports import SendResult
from gateway.delivery.worker import DeliveryWorker
from gateway.store.db import Database
from gateway.store.models import Outbox
from tests.unit.conftest import Program, queue_notices
from tests.unit.delivery.test_worker_carry import Answers
from tests.unit.relay.test_gather import _send

POLICY = RetryPolicy.from_config(["1m"], "1d")


def states(db: Database) -> list[tuple[str, str | None]]:
    return db.transaction(lambda s: [(r.state, r.claimed_by) for r in s.exec(
        select(Outbox).order_by(col(Outbox.id)))])


async def test_rows_claimed_by_another_transaction_are_sent_without_a_claim_of_their_own(
        migrated_db: Database) -> None:
    clock = MovableClock()
    transport = Answers()
    worker = DeliveryWorker(migrated_db, clock, POLICY, [transport], "me")
    queue_notices(migrated_db, clock.now(), 1)
    assert await worker.run_once() == 1  # its result is carried
    assert states(migrated_db) == [("sending", "me")]
    queue_notices(migrated_db, clock.now(), 2)  # as the relay's write would queue forwards
    ride = worker.ride()

    def relay_write(session: Session) -> None:
        ride.run(session, clock.now())

    migrated_db.transaction(relay_write)
    assert ride.done() == 2
    # the carried result is recorded, the new rows are leased: all in that one transaction
    assert states(migrated_db) == [("sent", "me"), ("sending", "me"), ("sending", "me")]
    queue_notices(migrated_db, clock.now(), 1)  # due now, but the round only sends what it has
    assert await worker.run_once() == 2 and transport.sent == 3
    # both within the connection's window: carried, for the next claim to record
    assert [state for state, _ in states(migrated_db)][:3] == ["sent", "sending", "sending"]
    assert states(migrated_db)[3] == ("queued", None)
    assert await worker.run_once() == 1  # the next round claims as usual
    await worker.close()
    assert [state for state, _ in states(migrated_db)] == ["sent"] * 4


async def test_a_failed_transaction_gives_the_carried_results_back(
        migrated_db: Database) -> None:
    clock = MovableClock()
    worker = DeliveryWorker(migrated_db, clock, POLICY,
                            [Answers(SendResult("temporary", "451 later"))], "me")
    queue_notices(migrated_db, clock.now(), 1)
    assert await worker.run_once() == 1
    ride = worker.ride()

    def failing(session: Session) -> None:
        ride.run(session, clock.now())
        raise RuntimeError("the relay's batch failed")

    with pytest.raises(RuntimeError):
        migrated_db.transaction(failing)
    ride.undo()
    assert states(migrated_db) == [("sending", "me")]  # nothing recorded, nothing lost
    unused = worker.ride()
    assert unused.done() == 0  # not run (no transaction took it): the results stay carried
    clock.advance(timedelta(seconds=5))
    assert await worker.run_once() == 0  # its claim records the 451 at last
    assert states(migrated_db) == [("deferred", "me")]
    await worker.close()


async def test_the_relays_write_claims_the_forward_it_queued(program: Program,
                                                             clock: MovableClock) -> None:
    transport = Answers()
    app = App(program.settings.replace(processing={"workers": 0}), clock=clock,
              transports=[transport], background=False)
    await app.start()
    try:
        await _send(app, program, "Bonjour Léa, voici le plan de la semaine.")
        assert await app.process_once() == 1
        forwards = app.db.transaction(lambda s: [(r.state, r.claimed_by) for r in s.exec(
            select(Outbox).where(col(Outbox.kind) == "forward"))])
        assert forwards == [("sending", app.settings.gateway.instance_name)]
        assert await app.delivery.run_once() >= 1 and transport.sent >= 1
    finally:
        await app.stop()
    assert app.db.transaction(lambda s: [r.state for r in s.exec(
        select(Outbox).where(col(Outbox.kind) == "forward"))]) == ["sent"]


class Witness(Answers):
    """Answers 250 and notes, at each send, which rows the store already says were sent."""

    def __init__(self, db: Database) -> None:
        super().__init__()
        self.db = db
        self.recorded_before: list[list[str]] = []

    async def send(self, envelope_from: str, recipient: str, data: bytes) -> SendResult:
        self.recorded_before.append([state for state, _ in states(self.db)])
        return await super().send(envelope_from, recipient, data)


async def test_results_carried_after_the_ride_was_taken_are_recorded_before_its_rows_are_sent(
        migrated_db: Database) -> None:
    """A round that ends while the relay's transaction runs carries its result past the ride:
    the next send waits for it to be recorded, or a kill would re-send more than the bound."""
    clock = MovableClock()
    transport = Witness(migrated_db)
    worker = DeliveryWorker(migrated_db, clock, POLICY, [transport], "me")
    queue_notices(migrated_db, clock.now(), 1)
    first = worker.ride()
    migrated_db.transaction(lambda s: first.run(s, clock.now()))
    assert first.done() == 1
    second = worker.ride()  # taken while the first row is still to send: nothing carried yet
    assert await worker.run_once() == 1  # sends the first row; its result is carried

    queue_notices(migrated_db, clock.now(), 1)  # as the relay's write would queue a forward
    migrated_db.transaction(lambda s: second.run(s, clock.now()))
    assert second.done() == 1
    assert await worker.run_once() == 1
    assert transport.recorded_before == [["sending"], ["sent", "sending"]]
    await worker.close()
    assert [state for state, _ in states(migrated_db)] == ["sent", "sent"]


async def test_no_round_sends_while_a_ride_holds_results(migrated_db: Database) -> None:
    """The ride's results are sent and not yet recorded: sending more before its transaction
    ends would let a kill re-send more than a connection's bound."""
    clock = MovableClock()
    transport = Witness(migrated_db)
    worker = DeliveryWorker(migrated_db, clock, POLICY, [transport], "me")
    queue_notices(migrated_db, clock.now(), 1)
    assert await worker.run_once() == 1  # its result is carried
    ride = worker.ride()  # the relay's transaction begins with it
    queue_notices(migrated_db, clock.now(), 1)  # due, for a round of delivery's own
    round_ = asyncio.create_task(worker.run_once())
    for _ in range(20):
        await asyncio.sleep(0)
    assert transport.sent == 1 and not round_.done()  # waits for the ride
    migrated_db.transaction(lambda s: ride.run(s, clock.now()))
    assert ride.done() == 1
    assert await round_ == 1
    assert transport.recorded_before == [["sending"], ["sent", "sending"]]
    await worker.close()


async def test_a_ride_that_holds_nothing_holds_no_round_back(migrated_db: Database) -> None:
    clock = MovableClock()
    worker = DeliveryWorker(migrated_db, clock, POLICY, [Answers()], "me")
    ride = worker.ride()  # nothing carried
    queue_notices(migrated_db, clock.now(), 1)
    assert await asyncio.wait_for(worker.run_once(), 5) == 1
    assert ride.done() == 0
    await worker.close()
