"""The indexed scan (find_due) returns exactly what the pure policy returns over every pair and every sent key."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert
from sqlmodel import Session, select

from gateway.clock import as_utc
from gateway.reminders.policy import PairActivity, Person, due_reminders
from gateway.reminders.service import KEY_PREFIX, _bounds, find_due, reminder_rules, send_window
from gateway.store.db import Database
from gateway.store.migrate import migrate
from gateway.store.models import Outbox, Pair, Participant
from tests.conftest import make_settings

START = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # a Monday; the window spans the DST change
PAIRS = 240


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    migrate(database.engine)
    yield database
    database.close()


def seed(session: Session, rnd: random.Random) -> None:
    people, pairs = [], []
    for n in range(1, PAIRS + 1):
        for offset, role in ((1, "mentor"), (0, "mentee")):
            people.append({"id": 2 * n - offset, "email": f"{role}{n}@example.net", "display_name": f"P {n}",
                           "role": role, "lang": rnd.choice(("fr", "en")), "minor": False,
                           "time_zone": rnd.choice((None, "Europe/Paris", "America/Vancouver", "Bad/Zone")),
                           "reminders_opt_out": rnd.random() < 0.15, "created_at": START})
        started = rnd.random() < 0.8
        last = START - timedelta(hours=rnd.uniform(0, 24 * 25)) if started else None
        pairs.append({"id": n, "mentor_id": 2 * n - 1, "mentee_id": 2 * n,
                      "state": rnd.choice(("active",) * 8 + ("paused", "closed")),
                      "created_at": (last or START) - timedelta(hours=rnd.uniform(0, 24 * 12)),
                      "last_delivered_at": last,
                      "last_delivered_from": rnd.choice(("mentor", "mentee", "mentor")) if started else None,
                      "last_delivered_message_id": 1000 + n if started else None,
                      "delivered_count": 0, "forwarded_count": 0})
    session.execute(insert(Participant), people)
    session.execute(insert(Pair), pairs)


def in_band(pair: PairActivity, now: datetime, rules: Any) -> bool:
    """By design the scan never looks at pairs quiet for longer than the last step plus a grace."""
    earliest, latest = _bounds(rules)
    return now - latest <= (pair.last_delivered_at or pair.created_at) <= now - earliest


def everything(session: Session, settings: Any) -> list[PairActivity]:
    """Every pair with every sent key, loaded the slow and obvious way."""
    tz = settings.gateway.time_zone
    people = {p.id: p for p in session.exec(select(Participant)).all()}
    sent: dict[int, set[str]] = {}
    for row in session.exec(select(Outbox)).all():
        sent.setdefault(row.pair_id or 0, set()).add((row.dedup_key or "").removeprefix(KEY_PREFIX))

    def person(pid: int, role: Any) -> Person:
        p = people[pid]
        return Person(pid, role, p.lang, p.time_zone or tz, p.reminders_opt_out)

    return [PairActivity(p.id or 0, p.state, as_utc(p.created_at), person(p.mentor_id, "mentor"),  # type: ignore[arg-type]
                         person(p.mentee_id, "mentee"),
                         as_utc(p.last_delivered_at) if p.last_delivered_at else None,
                         p.last_delivered_from, p.last_delivered_message_id,  # type: ignore[arg-type]
                         frozenset(sent.get(p.id or 0, ())))
            for p in session.exec(select(Pair)).all()]


def mark_sent(session: Session, keys: list[str], now: datetime) -> None:
    session.execute(insert(Outbox), [
        {"kind": "reminder", "pair_id": int(key.split(":")[0]), "envelope_from": "b@mentor.test",
         "recipient": "x@example.net", "data": b"", "state": "sent", "attempts": 1, "created_at": now,
         "next_attempt_at": now, "dedup_key": KEY_PREFIX + key} for key in keys])


def test_the_scan_agrees_with_the_policy_over_every_pair(db: Database, db_url: str, tmp_path: Path) -> None:
    rnd = random.Random(5)
    settings = make_settings(db_url, tmp_path)
    rules, window = reminder_rules(settings), send_window(settings)
    db.transaction(lambda s: seed(s, rnd))
    now, checked, found = START, 0, 0
    while now < START + timedelta(days=20):
        expected = db.transaction(lambda s, at=now: due_reminders(  # type: ignore[misc]
            [p for p in everything(s, settings) if in_band(p, at, rules)], rules, window,
            settings.gateway.time_zone, at))
        got = db.transaction(lambda s, at=now: find_due(s, settings, at))  # type: ignore[misc]
        assert sorted(d.key for d in got) == sorted(d.key for d in expected), now
        checked, found = checked + 1, found + len(got)
        # Like the scheduler, queue most of what is due (some checks fail to run: catch-up later).
        if rnd.random() < 0.8 and got:
            keys = [d.key for d in got]
            db.transaction(lambda s, k=keys, at=now: mark_sent(s, k, at))  # type: ignore[misc]
        now += timedelta(hours=rnd.choice((1, 3, 7, 13)))
    assert checked > 50 and found > 100
