"""The figures' edge: a handful of indexed queries load compact rows for one scope and period."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, and_, case, func, or_, text, true
from sqlalchemy import select as sa_select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import FunctionElement
from sqlmodel import Session, col

from gateway.insights.figures import Inputs, ProgramFigures, Window, compute, from_epoch
from gateway.store.models import AuditEvent, Message, Organization, Outbox, Pair

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


def _scoped_pairs(scope: Scope) -> Any:
    return sa_select(col(Pair.id)).where(col(Pair.org_id).in_(scope or ()))


def _in_scope(column: Any, scope: Scope) -> Any:
    return true() if scope is None else column.in_(_scoped_pairs(scope))


def _pairs(session: Session, scope: Scope) -> list[Any]:
    query = sa_select(col(Pair.id), col(Pair.state), epoch(col(Pair.created_at)), col(Pair.mentee_id))
    if scope is not None:
        query = query.where(col(Pair.org_id).in_(scope))
    return list(session.execute(query).all())


def _messages(session: Session, scope: Scope, until: datetime) -> list[Any]:
    from_mentee = case((col(Message.direction) == "mentee_to_mentor", 1), else_=0)
    query = (sa_select(col(Message.pair_id), from_mentee, epoch(col(Message.received_at)),
                       col(Message.state), col(Message.verdict))
             .where(col(Message.auto_reply).is_(False), col(Message.received_at) < until,
                    _in_scope(col(Message.pair_id), scope))
             .order_by(col(Message.pair_id), col(Message.received_at), col(Message.id)))
    return list(session.execute(query).all())


def _decisions(session: Session, scope: Scope, until: datetime) -> list[Any]:
    """(arrival, first move out of `held`) of the held messages a moderator has decided on."""
    decided = func.min(epoch(col(AuditEvent.at)))
    query = (sa_select(epoch(col(Message.received_at)), decided)
             .join(AuditEvent, and_(col(AuditEvent.subject_type) == "message",
                                    col(AuditEvent.subject_id) == col(Message.id),
                                    col(AuditEvent.from_state) == "held"))
             .where(col(Message.verdict) == "hold", col(Message.received_at) < until,
                    col(Message.auto_reply).is_(False), _in_scope(col(Message.pair_id), scope))
             .group_by(col(Message.id), col(Message.received_at)))
    return list(session.execute(query).all())


def _reminders(session: Session, scope: Scope, until: datetime) -> list[Any]:
    query = (sa_select(col(Outbox.pair_id), epoch(col(Outbox.sent_at)))
             .where(col(Outbox.kind) == "reminder", col(Outbox.state) == "sent",
                    col(Outbox.pair_id).is_not(None), col(Outbox.sent_at) < until,
                    _in_scope(col(Outbox.pair_id), scope)))
    return list(session.execute(query).all())


def _reports(session: Session, scope: Scope, window: Window) -> int:
    """Safeguarding reports (audit action "report", on a message or a pair) in the period."""
    query = sa_select(func.count()).select_from(AuditEvent).where(
        col(AuditEvent.action) == "report", col(AuditEvent.at) < from_epoch(window.until))
    if window.since is not None:
        query = query.where(col(AuditEvent.at) >= from_epoch(window.since))
    if scope is not None:
        pairs = _scoped_pairs(scope)
        messages = sa_select(col(Message.id)).where(col(Message.pair_id).in_(pairs))
        query = query.where(or_(
            and_(col(AuditEvent.subject_type) == "pair", col(AuditEvent.subject_id).in_(pairs)),
            and_(col(AuditEvent.subject_type) == "message", col(AuditEvent.subject_id).in_(messages)),
        ))
    return int(session.execute(query).scalar_one())


def load_inputs(session: Session, scope: Scope, window: Window) -> Inputs:
    until = from_epoch(window.until)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL jit = off"))  # JIT costs more than these scans take
    return Inputs(pairs=_pairs(session, scope), messages=_messages(session, scope, until),
                  decisions=_decisions(session, scope, until),
                  reminders=_reminders(session, scope, until), reports=_reports(session, scope, window))


def program_figures(session: Session, scope: Scope, *, since: datetime | None,
                    until: datetime | None, now: datetime, quiet_days: int = 21) -> ProgramFigures:
    """The figures of the pairs in `scope` (organization ids; None = all) over [since, until)."""
    window = Window.of(since, until, now)
    return compute(load_inputs(session, scope, window), window, quiet_days=quiet_days)


def organization_names(session: Session, scope: Scope) -> list[tuple[int, str]]:
    query = sa_select(col(Organization.id), col(Organization.name)).order_by(col(Organization.name))
    if scope is not None:
        query = query.where(col(Organization.id).in_(scope))
    return [(oid, name) for oid, name in session.execute(query).all()]
