"""The program figures equal what independent SQL computes on a seeded program (both databases)."""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import DateTime, bindparam, text
from sqlmodel import Session

from gateway.clock import as_utc
from gateway.insights.load import program_figures
from gateway.store.db import Database
from gateway.store.migrate import migrate
from tests.unit.insights.seed import NOW, T0, Seeded, seed_program

EXCHANGED = "m.state IN ('queued', 'delivered') AND NOT m.auto_reply"


@pytest.fixture
def seeded(db_url: str) -> Iterator[tuple[Database, Seeded]]:
    db = Database(db_url)
    migrate(db.engine)
    found = db.transaction(seed_program)
    yield db, found
    db.close()


def sql(session: Session, query: str, **params: Any) -> list[Any]:
    statement = text(query)
    for name, value in params.items():
        if isinstance(value, datetime):
            statement = statement.bindparams(bindparam(name, type_=DateTime(timezone=True)))
    return list(session.execute(statement, params).all())


def when(value: datetime | str) -> datetime:
    """A time from raw SQL: SQLite hands back its stored text."""
    return as_utc(datetime.fromisoformat(value) if isinstance(value, str) else value)


def org_clause(alias: str, org: int | None) -> str:
    return "" if org is None else f" AND {alias}.org_id = {int(org)}"


def expected(session: Session, org: int | None, since: datetime, until: datetime,
             quiet_days: int) -> dict[str, Any]:
    """Everything recomputed with plain SQL (a different road from insights/load.py's rows)."""
    pg = session.get_bind().dialect.name == "postgresql"
    asof = min(until, NOW)
    scope = org_clause("p", org)
    period = "m.received_at >= :since AND m.received_at < :until"
    out: dict[str, Any] = {}
    # Pair lists are today's: the last turn delivered before now, from the messages themselves.
    delivered = "m.state = 'delivered' AND NOT m.auto_reply AND m.received_at < :now"
    out["active"] = sql(session, f"SELECT count(*) FROM pair p WHERE p.state = 'active' "
                                 f"AND p.created_at <= :now{scope}", now=NOW)[0][0]
    out["never"] = sorted(r[0] for r in sql(session, f"""
        SELECT p.id FROM pair p WHERE p.state = 'active' AND p.created_at <= :now{scope}
        AND NOT EXISTS (SELECT 1 FROM message m WHERE m.pair_id = p.id AND {delivered})""", now=NOW))
    quiet = sql(session, f"""
        SELECT p.id, max(m.received_at) FROM pair p JOIN message m ON m.pair_id = p.id
        WHERE p.state = 'active' AND {delivered}{scope}
        GROUP BY p.id HAVING max(m.received_at) <= :limit""",
                now=NOW, limit=NOW - timedelta(days=quiet_days))
    out["quiet"] = sorted(r[0] for r in quiet)
    week = ("date_trunc('week', m.received_at AT TIME ZONE 'UTC')::date" if pg
            else "date(m.received_at, '-6 days', 'weekday 1')")
    weekly = sql(session, f"""
        SELECT {week} AS wk, m.direction, count(*) FROM message m JOIN pair p ON p.id = m.pair_id
        WHERE NOT m.auto_reply AND {period}{scope} GROUP BY wk, m.direction""",
                 since=since, until=until)
    out["weekly"] = {(str(w), d): n for w, d, n in weekly if n}
    answers = sql(session, f"""
        SELECT m.direction, m.received_at, prev.received_at
        FROM message m JOIN pair p ON p.id = m.pair_id
        JOIN message prev ON prev.id = (
            SELECT q.id FROM message q WHERE q.pair_id = m.pair_id
              AND q.state IN ('queued', 'delivered') AND NOT q.auto_reply
              AND (q.received_at < m.received_at OR (q.received_at = m.received_at AND q.id < m.id))
            ORDER BY q.received_at DESC, q.id DESC LIMIT 1)
        WHERE {EXCHANGED} AND prev.direction <> m.direction AND {period}{scope}""",
                  since=since, until=until)
    for direction in ("mentor_to_mentee", "mentee_to_mentor"):
        gaps = sorted((when(a) - when(b)).total_seconds() for d, a, b in answers if d == direction)
        out[direction] = (len(gaps), statistics.median(gaps) if gaps else None,
                          statistics.quantiles(gaps, n=10, method="inclusive")[8]
                          if len(gaps) > 1 else (gaps[0] if gaps else None))
    out["mentees"] = sql(session, f"SELECT count(DISTINCT p.mentee_id) FROM pair p "
                                  f"WHERE p.created_at < :until{scope}", until=until)[0][0]
    out["mentees_wrote"] = sql(session, f"""
        SELECT count(DISTINCT p.mentee_id) FROM pair p JOIN message m ON m.pair_id = p.id
        WHERE p.created_at < :until AND m.direction = 'mentee_to_mentor' AND NOT m.auto_reply
          AND {period}{scope}""", since=since, until=until)[0][0]
    out["moderation"] = tuple(sql(session, f"""
        SELECT count(*), sum(CASE WHEN m.verdict = 'hold' THEN 1 ELSE 0 END),
               sum(CASE WHEN m.verdict = 'reject' THEN 1 ELSE 0 END),
               sum(CASE WHEN m.state = 'held' THEN 1 ELSE 0 END)
        FROM message m JOIN pair p ON p.id = m.pair_id
        WHERE m.verdict IS NOT NULL AND NOT m.auto_reply AND {period}{scope}""",
                                  since=since, until=until)[0])
    decisions = sql(session, f"""
        SELECT m.received_at, min(a.at) FROM message m JOIN pair p ON p.id = m.pair_id
        JOIN auditevent a ON a.subject_type = 'message' AND a.subject_id = m.id
                         AND a.from_state = 'held'
        WHERE m.verdict = 'hold' AND NOT m.auto_reply AND {period}{scope}
        GROUP BY m.id, m.received_at""", since=since, until=until)
    waits = [(when(b) - when(a)).total_seconds() for a, b in decisions]
    out["decision"] = (len(waits), statistics.median(waits) if waits else None)
    out["reports"] = sql(session, f"""
        SELECT count(*) FROM auditevent a
        LEFT JOIN message m ON a.subject_type = 'message' AND m.id = a.subject_id
        JOIN pair p ON p.id = CASE WHEN a.subject_type = 'pair' THEN a.subject_id ELSE m.pair_id END
        WHERE a.action = 'report' AND a.at >= :since AND a.at < :until{scope}""",
                         since=since, until=until)[0][0]
    reminders = f"""FROM outbox o JOIN pair p ON p.id = o.pair_id WHERE o.kind = 'reminder'
        AND o.state = 'sent' AND o.sent_at >= :since AND o.sent_at < :until{scope}"""
    out["reminders_sent"] = sql(session, f"SELECT count(*) {reminders}", since=since, until=until)[0][0]
    plus_72h = "o.sent_at + interval '72 hours'" if pg else "datetime(o.sent_at, '+72 hours')"
    settled = f"{reminders} AND {plus_72h} <= :asof"
    out["reminded"] = sql(session, f"SELECT count(DISTINCT o.pair_id) {settled}",
                          since=since, until=until, asof=asof)[0][0]
    within = ("m.received_at <= o.sent_at + interval '72 hours'" if pg
              else "julianday(m.received_at) <= julianday(o.sent_at) + 3")
    out["resumed"] = sql(session, f"""SELECT count(DISTINCT o.pair_id) {settled} AND EXISTS (
        SELECT 1 FROM message m WHERE m.pair_id = o.pair_id AND NOT m.auto_reply
          AND m.received_at > o.sent_at AND {within})""", since=since, until=until, asof=asof)[0][0]
    return out


PERIODS = [
    ("everything", T0 - timedelta(days=30), NOW),
    ("middle", T0 + timedelta(weeks=3, days=2), T0 + timedelta(weeks=7, hours=5)),
]


@pytest.mark.parametrize("period", PERIODS, ids=[p[0] for p in PERIODS])
@pytest.mark.parametrize("which_org", ["all", "A"])
def test_figures_equal_independent_sql(seeded: tuple[Database, Seeded], period: Any,
                                       which_org: str) -> None:
    db, found = seeded
    _, since, until = period
    org = found.org_a if which_org == "A" else None
    scope = None if org is None else (org,)
    quiet_days = 14
    figures = db.transaction(lambda s: program_figures(s, scope, since=since, until=until,
                                                       now=NOW, quiet_days=quiet_days),
                             read_only=True)
    want = db.transaction(lambda s: expected(s, org, since, until, quiet_days), read_only=True)

    assert figures.pairs.active == want["active"]
    assert list(figures.pairs.never_started) == want["never"]
    assert sorted(pid for pid, _ in figures.pairs.quiet) == want["quiet"]
    got_weekly = {(str(w.week), d): n for w in figures.weekly
                  for d, n in (("mentor_to_mentee", w.mentor_to_mentee),
                               ("mentee_to_mentor", w.mentee_to_mentor)) if n}
    assert got_weekly == want["weekly"]
    assert sum(w.mentor_to_mentee + w.mentee_to_mentor for w in figures.weekly) \
        == figures.messages_written
    for direction in ("mentor_to_mentee", "mentee_to_mentor"):
        stats = figures.response(direction)
        count, median, p90 = want[direction]
        assert (stats.count, stats.median, stats.p90) == (count, pytest.approx(median),
                                                          pytest.approx(p90))
        assert sum(stats.buckets) == count
    assert (figures.mentees_total, figures.mentees_wrote) == (want["mentees"], want["mentees_wrote"])
    mod = figures.moderation
    assert (mod.checked, mod.held, mod.rejected, mod.still_held) == tuple(
        int(v or 0) for v in want["moderation"])
    assert (mod.decided, mod.median_decision) == (want["decision"][0],
                                                  pytest.approx(want["decision"][1]))
    assert mod.reports == want["reports"]
    rem = figures.reminders
    assert (rem.sent, rem.reminded_pairs, rem.resumed_pairs) == (
        want["reminders_sent"], want["reminded"], want["resumed"])
    # The seed must exercise every figure, or equality would prove little.
    assert figures.pairs.never_started and figures.pairs.quiet and mod.held and mod.decided
    assert all(r.count > 1 for r in figures.responses) and rem.reminded_pairs
    if which_org == "all" and period[0] == "everything":
        assert mod.still_held and mod.reports and figures.mentees_wrote < figures.mentees_total
        assert 0 < rem.resumed_pairs < rem.reminded_pairs < rem.sent
