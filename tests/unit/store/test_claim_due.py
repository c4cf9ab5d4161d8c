"""The delivery claim on both engines: what is due (queued, deferred, leases run out) in due order, up to its limit; never what another instance holds."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from gateway.clock import as_utc
from gateway.store.db import Database
from gateway.store.lifecycle import LEASE, claim_due, enqueue
from gateway.store.models import Outbox
from tests.unit.conftest import NOW

# recipient -> (state, next attempt, lease end), minutes from NOW
ROWS = {
    "queued@x.example": ("queued", -3, None),
    "deferred-due@x.example": ("deferred", -5, None),
    "deferred-later@x.example": ("deferred", 60, None),
    "lease-over@x.example": ("sending", -10, -1),
    "lease-running@x.example": ("sending", -20, 5),
    "sent@x.example": ("sent", -30, None),
    "failed@x.example": ("failed", -40, None),
}
DUE_ORDER = ["lease-over@x.example", "deferred-due@x.example", "queued@x.example"]


def minutes(n: int | None) -> object:
    return None if n is None else NOW + timedelta(minutes=n)


def fill(db: Database, extra_queued: int = 0) -> None:
    def add(session: Session) -> None:
        rows = {**ROWS, **{f"later{n}@x.example": ("queued", -1, None)
                           for n in range(extra_queued)}}
        for recipient, (state, due, lease) in rows.items():
            row = enqueue(session, kind="notice", envelope_from="", recipient=recipient,
                          data=b"Subject: x\r\n\r\nx\r\n", now=NOW)
            assert row is not None
            row.state, row.next_attempt_at = state, minutes(due)  # type: ignore[assignment]
            row.claimed_until = minutes(lease)  # type: ignore[assignment]
            row.claimed_by = "old" if lease is not None else None
    db.transaction(add)


def claim(db: Database, instance: str, limit: int = 64) -> list[str]:
    postgres = not db.is_sqlite
    return db.transaction(lambda s: [c.recipient for c in claim_due(
        s, NOW, instance, postgres=postgres, limit=limit)])


def test_a_claim_takes_what_is_due_in_due_order_and_leases_it(migrated_db: Database) -> None:
    fill(migrated_db)
    assert claim(migrated_db, "me") == DUE_ORDER
    rows = migrated_db.transaction(lambda s: {r.recipient: r for r in s.exec(select(Outbox))})
    for recipient in DUE_ORDER:
        assert (rows[recipient].state, rows[recipient].claimed_by) == ("sending", "me")
        assert as_utc(rows[recipient].claimed_until) == NOW + LEASE
    assert rows["lease-running@x.example"].claimed_by == "old"
    assert {r: rows[r].state for r in ("deferred-later@x.example", "sent@x.example")} == \
        {"deferred-later@x.example": "deferred", "sent@x.example": "sent"}
    assert claim(migrated_db, "other") == []  # nothing else is due


# What a claim limited to 2 takes (PostgreSQL: up to 2 of each kind), and what is left.
FIRST = {"sqlite": DUE_ORDER[:2], "postgresql": [*DUE_ORDER, "later0@x.example"]}
LEFT = {"sqlite": ["queued@x.example", "later0@x.example", "later1@x.example",
                   "later2@x.example"], "postgresql": ["later1@x.example", "later2@x.example"]}


def test_a_claim_stops_at_its_limit_and_the_next_takes_the_rest(migrated_db: Database) -> None:
    fill(migrated_db, extra_queued=3)
    engine = migrated_db.engine.dialect.name
    assert claim(migrated_db, "me", limit=2) == FIRST[engine]
    assert sorted(claim(migrated_db, "me", limit=64)) == sorted(LEFT[engine])


def test_two_instances_claiming_at_once_never_share_a_row(migrated_db: Database) -> None:
    fill(migrated_db, extra_queued=3)
    if migrated_db.is_sqlite:  # one writer at a time: the second claim waits for the first
        first, second = claim(migrated_db, "a", limit=2), claim(migrated_db, "b", limit=64)
    else:
        with migrated_db.session() as one, migrated_db.session() as two:
            first = [c.recipient for c in claim_due(one, NOW, "a", postgres=True, limit=2)]
            # the first transaction is still open, its rows locked
            second = [c.recipient for c in claim_due(two, NOW, "b", postgres=True, limit=64)]
            one.commit()
            two.commit()
    engine = migrated_db.engine.dialect.name
    assert first == FIRST[engine] and sorted(second) == sorted(LEFT[engine])
