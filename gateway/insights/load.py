"""The figures' edge: a few indexed, aggregating queries load compact rows for one scope and period."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, String, and_, case, exists, func, or_, text, true
from sqlalchemy import select as sa_select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import FunctionElement
from sqlmodel import Session, col

from gateway.insights.figures import (
    FORWARDED,
    RESUME_WITHIN,
    Inputs,
    ProgramFigures,
    Window,
    compute,
    from_epoch,
)
from gateway.store.models import AuditEvent, Message, Organization, Outbox, Pair, Staff

Scope = tuple[int, ...] | None


class epoch(FunctionElement[int]):
    """Whole seconds since 1970 of a stored time, computed by the database (no per-row parsing)."""

    type = BigInteger()
    inherit_cache = True


@compiles(epoch, "sqlite")
def _epoch_sqlite(element: epoch, compiler: SQLCompiler, **kw: Any) -> str:
    return (f"CAST(ROUND((julianday({compiler.process(element.clauses, **kw)}) - 2440587.5)"
            f" * 86400.0) AS INTEGER)")


@compiles(epoch, "postgresql")
def _epoch_postgresql(element: epoch, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(ROUND(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})) AS BIGINT)"


class utc_day(FunctionElement[str]):
    """The UTC day of a stored time as "YYYY-MM-DD"."""

    type = String()
    inherit_cache = True


@compiles(utc_day, "sqlite")
def _day_sqlite(element: utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    # Stored as "YYYY-MM-DD HH:MM:SS.ffffff" in UTC: the day is its first ten characters.
    return f"substr({compiler.process(element.clauses, **kw)}, 1, 10)"


@compiles(utc_day, "postgresql")
def _day_postgresql(element: utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    return f"to_char({compiler.process(element.clauses, **kw)} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


def _scoped_pairs(scope: Scope) -> Any:
    return sa_select(col(Pair.id)).where(col(Pair.org_id).in_(scope or ()))


def _in_scope(column: Any, scope: Scope) -> Any:
    return true() if scope is None else column.in_(_scoped_pairs(scope))


def _in_period(column: Any, window: Window) -> Any:
    until = column < from_epoch(window.until)
    return until if window.since is None else and_(column >= from_epoch(window.since), until)


FROM_MENTEE = case((col(Message.direction) == "mentee_to_mentor", 1), else_=0)
WRITTEN = col(Message.auto_reply).is_(False)


def _pairs(session: Session, scope: Scope) -> list[Any]:
    query = sa_select(col(Pair.id), col(Pair.state), epoch(col(Pair.created_at)),
                      col(Pair.mentee_id), epoch(col(Pair.last_delivered_at)))
    if scope is not None:
        query = query.where(col(Pair.org_id).in_(scope))
    return list(session.execute(query).all())


def _days(session: Session, scope: Scope, window: Window) -> list[Any]:
    day = utc_day(col(Message.received_at)).label("day")
    side = FROM_MENTEE.label("side")
    query = (sa_select(day, side, func.count())
             .where(WRITTEN, _in_period(col(Message.received_at), window),
                    _in_scope(col(Message.pair_id), scope))
             .group_by(day, side))
    return list(session.execute(query).all())


def _gaps(session: Session, scope: Scope, window: Window) -> list[Any]:
    """(side of the answer, seconds) for each answer in the period; the message answered may be older."""
    order = (col(Message.received_at), col(Message.id))
    seconds = epoch(col(Message.received_at))
    turns = (sa_select(FROM_MENTEE.label("side"), col(Message.received_at).label("at"),
                       seconds.label("t"),
                       func.lag(FROM_MENTEE).over(partition_by=col(Message.pair_id),
                                                  order_by=order).label("prev_side"),
                       func.lag(seconds).over(partition_by=col(Message.pair_id),
                                              order_by=order).label("prev_t"))
             .where(col(Message.state).in_(FORWARDED), WRITTEN,
                    col(Message.received_at) < from_epoch(window.until),
                    _in_scope(col(Message.pair_id), scope))
             .subquery())
    query = sa_select(turns.c.side, turns.c.t - turns.c.prev_t).where(
        turns.c.prev_side != turns.c.side)
    if window.since is not None:
        query = query.where(turns.c.at >= from_epoch(window.since))
    return list(session.execute(query).all())


def _mentees_who_wrote(session: Session, scope: Scope, window: Window) -> int:
    query = (sa_select(func.count(func.distinct(col(Pair.mentee_id))))
             .select_from(Message).join(Pair, col(Pair.id) == col(Message.pair_id))
             .where(col(Message.direction) == "mentee_to_mentor", WRITTEN,
                    _in_period(col(Message.received_at), window),
                    col(Pair.created_at) < from_epoch(window.until)))
    if scope is not None:
        query = query.where(col(Pair.org_id).in_(scope))
    return int(session.execute(query).scalar_one())


def _moderation_counts(session: Session, scope: Scope, window: Window) -> tuple[int, ...]:
    def flag(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    query = (sa_select(func.count(), flag(col(Message.verdict) == "hold"),
                       flag(col(Message.verdict) == "reject"), flag(col(Message.state) == "held"))
             .where(col(Message.verdict).is_not(None), WRITTEN,
                    _in_period(col(Message.received_at), window),
                    _in_scope(col(Message.pair_id), scope)))
    return tuple(int(v) for v in session.execute(query).one())


def _decisions(session: Session, scope: Scope, window: Window) -> list[Any]:
    """(arrival, first move out of `held`) of the held messages a moderator has decided on."""
    decided = func.min(epoch(col(AuditEvent.at)))
    query = (sa_select(epoch(col(Message.received_at)), decided)
             .join(AuditEvent, and_(col(AuditEvent.subject_type) == "message",
                                    col(AuditEvent.subject_id) == col(Message.id),
                                    col(AuditEvent.from_state) == "held"))
             .where(col(Message.verdict) == "hold", WRITTEN,
                    _in_period(col(Message.received_at), window),
                    _in_scope(col(Message.pair_id), scope))
             .group_by(col(Message.id), col(Message.received_at)))
    return list(session.execute(query).all())


def _reminders(session: Session, scope: Scope, window: Window) -> list[Any]:
    """(pair, sent at, did a participant write within 72 h) of each reminder sent in the period."""
    sent = epoch(col(Outbox.sent_at))
    resumed = exists().where(col(Message.pair_id) == col(Outbox.pair_id), WRITTEN,
                             col(Message.received_at) > col(Outbox.sent_at),
                             epoch(col(Message.received_at)) <= sent + RESUME_WITHIN)
    query = (sa_select(col(Outbox.pair_id), sent, case((resumed, 1), else_=0))
             .where(col(Outbox.kind) == "reminder", col(Outbox.state) == "sent",
                    col(Outbox.pair_id).is_not(None), _in_period(col(Outbox.sent_at), window),
                    _in_scope(col(Outbox.pair_id), scope)))
    return list(session.execute(query).all())


def _reports(session: Session, scope: Scope, window: Window) -> int:
    """Safeguarding reports (audit action "report", on a message or a pair) in the period."""
    query = sa_select(func.count()).select_from(AuditEvent).where(
        col(AuditEvent.action) == "report", _in_period(col(AuditEvent.at), window))
    if scope is not None:
        pairs = _scoped_pairs(scope)
        messages = sa_select(col(Message.id)).where(col(Message.pair_id).in_(pairs))
        query = query.where(or_(
            and_(col(AuditEvent.subject_type) == "pair", col(AuditEvent.subject_id).in_(pairs)),
            and_(col(AuditEvent.subject_type) == "message", col(AuditEvent.subject_id).in_(messages)),
        ))
    return int(session.execute(query).scalar_one())


def load_inputs(session: Session, scope: Scope, window: Window) -> Inputs:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL jit = off"))  # compiling costs more than these scans
    return Inputs(pairs=_pairs(session, scope), days=_days(session, scope, window),
                  gaps=_gaps(session, scope, window),
                  mentees_wrote=_mentees_who_wrote(session, scope, window),
                  moderation_counts=_moderation_counts(session, scope, window),
                  decisions=_decisions(session, scope, window),
                  reminders=_reminders(session, scope, window), reports=_reports(session, scope, window))


def program_figures(session: Session, scope: Scope, *, since: datetime | None,
                    until: datetime | None, now: datetime, quiet_days: int = 21) -> ProgramFigures:
    """The figures of the pairs in `scope` (organization ids; None = all) over [since, until)."""
    window = Window.of(since, until, now)
    return compute(load_inputs(session, scope, window), window, quiet_days=quiet_days)


def wants_digest(session: Session, staff_id: int) -> bool:
    staff = session.get(Staff, staff_id)
    return bool(staff and staff.weekly_digest)


def organization_names(session: Session, scope: Scope) -> list[tuple[int, str]]:
    query = sa_select(col(Organization.id), col(Organization.name)).order_by(col(Organization.name))
    if scope is not None:
        query = query.where(col(Organization.id).in_(scope))
    return [(oid, name) for oid, name in session.execute(query).all()]
