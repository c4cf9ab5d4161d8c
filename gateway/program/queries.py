"""Read-only look-ups for the staff pages: organizations, pairs in a scope, pair search, the audit trail."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from gateway.config import Settings
from gateway.program.service import PairView, pair_view
from gateway.store.models import AuditEvent, Message, Organization, Pair, Participant

Scope = tuple[int, ...] | None  # organization ids a viewer may see; None = all


def organizations(session: Session, scope: Scope) -> list[tuple[int, str]]:
    query = select(Organization.id, Organization.name).order_by(Organization.name)
    if scope is not None:
        query = query.where(col(Organization.id).in_(scope))
    return [(oid, name) for oid, name in session.exec(query).all() if oid is not None]


def pair_in_scope(session: Session, pair_id: int, scope: Scope) -> Pair | None:
    pair = session.get(Pair, pair_id)
    if pair is None or (scope is not None and pair.org_id not in scope):
        return None
    return pair


def _pair_query(scope: Scope, search: str, state: str | None) -> Any:
    query = select(Pair.id)
    if scope is not None:
        query = query.where(col(Pair.org_id).in_(scope))
    if state:
        query = query.where(Pair.state == state)
    search = search.strip()
    if search.isdigit():
        query = query.where(Pair.id == int(search))
    elif search:
        like = f"%{search.lower()}%"
        people = select(Participant.id).where(or_(func.lower(Participant.display_name).like(like),
                                                  func.lower(Participant.email).like(like)))
        query = query.where(or_(col(Pair.mentor_id).in_(people), col(Pair.mentee_id).in_(people)))
    return query


def search_pairs(session: Session, settings: Settings, scope: Scope, *, search: str = "",
                 state: str | None = None, limit: int = 50, offset: int = 0) -> tuple[list[PairView], int]:
    query = _pair_query(scope, search, state)
    total = int(session.exec(select(func.count()).select_from(query.subquery())).one())
    ids = session.exec(query.order_by(Pair.id).offset(offset).limit(limit)).all()
    return [pair_view(session, settings, pid) for pid in ids if pid is not None], total


def audit_events(session: Session, scope: Scope, *, limit: int = 100,
                 offset: int = 0) -> tuple[list[AuditEvent], int]:
    """Newest first; a scoped viewer sees only events on messages and pairs of their organizations."""
    query = select(AuditEvent)
    if scope is not None:
        pairs = select(Pair.id).where(col(Pair.org_id).in_(scope))
        messages = select(Message.id).where(col(Message.pair_id).in_(pairs))
        query = query.where(or_(
            (col(AuditEvent.subject_type) == "pair") & col(AuditEvent.subject_id).in_(pairs),
            (col(AuditEvent.subject_type) == "message") & col(AuditEvent.subject_id).in_(messages),
        ))
    total = int(session.exec(select(func.count()).select_from(query.subquery())).one())
    rows = session.exec(query.order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
                        .offset(offset).limit(limit)).all()
    return list(rows), total
