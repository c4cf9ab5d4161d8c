"""Flood counts on both engines: exact under the limits, capped just past them, only the window counted."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from gateway.store.models import Message, Pair
from gateway.store.rates import DAY, HOUR, RateCounter, RateLimits
from tests.unit.conftest import NOW, Program

LIMITS = RateLimits(per_participant_hour=5, per_pair_day=8)


def store(program: Program, *, from_mentor: int, from_mentee: int, ago: timedelta) -> None:
    def add(session: Session) -> None:
        pair = session.exec(select(Pair)).one()
        for sender, recipient, count in ((pair.mentor_id, pair.mentee_id, from_mentor),
                                         (pair.mentee_id, pair.mentor_id, from_mentee)):
            for _ in range(count):
                session.add(Message(pair_id=pair.id or 0, sender_id=sender, recipient_id=recipient,
                                    direction="x", envelope_from="x@example.org",
                                    dedup_key="k", raw=b"x", size=1,
                                    received_at=NOW - ago, updated_at=NOW))
    program.db.transaction(add)


def load(program: Program, *, extra_sender: int = 9999) -> tuple[RateCounter, Pair]:
    def read(session: Session) -> tuple[RateCounter, Pair]:
        pair = session.exec(select(Pair)).one()
        return RateCounter.load(session, LIMITS, NOW,
                                sender_ids={pair.mentor_id, pair.mentee_id, extra_sender},
                                pair_ids={pair.id or 0}), pair
    return program.db.transaction(read)


def test_counts_are_exact_under_the_limits_and_stop_just_past_them(program: Program) -> None:
    store(program, from_mentor=12, from_mentee=2, ago=timedelta(minutes=10))
    store(program, from_mentor=30, from_mentee=0, ago=HOUR + timedelta(minutes=5))  # the day only
    store(program, from_mentor=40, from_mentee=0, ago=DAY + timedelta(minutes=5))  # neither
    counter, pair = load(program)
    assert counter._senders == {pair.mentor_id: 6, pair.mentee_id: 2, 9999: 0}  # 12: 5 + 1
    assert counter._pairs == {pair.id: 9}  # 44 in the day, capped at 8 + 1
    # what a new message would be held for does not change with the cap
    assert counter.add(pair.mentor_id, pair.id or 0) == "participant"
    assert counter.add(pair.mentee_id, pair.id or 0) == "pair"


def test_under_every_limit_nothing_is_held_until_the_batch_passes_one(program: Program) -> None:
    store(program, from_mentor=3, from_mentee=1, ago=timedelta(minutes=59))
    counter, pair = load(program)
    assert counter._senders == {pair.mentor_id: 3, pair.mentee_id: 1, 9999: 0}
    assert counter._pairs == {pair.id: 4}
    assert [counter.add(pair.mentor_id, pair.id or 0) for _ in range(3)] == \
        [None, None, "participant"]  # the 6th from the mentor in the hour
