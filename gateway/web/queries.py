"""Read-only look-ups the pages need beside the services: first lines, pair history, pair search, audit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from gateway.clock import as_utc
from gateway.config import Settings
from gateway.program.service import PairView, pair_view
from gateway.store.models import AuditEvent, Message, Organization, Pair, Participant
from gateway.web.render import first_line

Scope = tuple[int, ...] | None
FIRST_LINE_BYTES = 32_768


def message_first_lines(session: Session, ids: list[int]) -> dict[int, str]:
    """The first non-quoted line of each message's text, for the queue's overview."""
    from gateway.mail.parse import parse
    from gateway.mail.text import text_of

    if not ids:
        return {}
    lines: dict[int, str] = {}
    # The first text part sits near the top: only the head of each message leaves the database,
    # so a page of 5 MB mails costs what a page of small ones does.
    head = func.substr(col(Message.raw), 1, FIRST_LINE_BYTES)
    for message_id, raw in session.exec(select(Message.id, head)
                                        .where(col(Message.id).in_(ids))).all():
        if message_id is None:
            continue
        try:
            lines[message_id] = first_line(text_of(parse(raw)))
        except Exception:  # one malformed message must not take the whole page down
            lines[message_id] = ""
    return lines


def organizations(session: Session, scope: Scope) -> list[tuple[int, str]]:
    query = select(Organization.id, Organization.name).order_by(Organization.name)
    if scope is not None:
        query = query.where(col(Organization.id).in_(scope))
    return [(oid, name) for oid, name in session.exec(query).all() if oid is not None]


@dataclass(frozen=True)
class HistoryRow:
    id: int
    received_at: datetime
    direction: str
    state: str
    subject: str


def pair_history(session: Session, pair_id: int, limit: int = 30) -> list[HistoryRow]:
    query = (sa_select(col(Message.id), col(Message.received_at), col(Message.direction),
                       col(Message.state), col(Message.subject))
             .where(col(Message.pair_id) == pair_id)
             .order_by(col(Message.received_at).desc(), col(Message.id).desc()).limit(limit))
    return [HistoryRow(i, as_utc(at), d, st, su or "") for i, at, d, st, su in session.execute(query).all()]


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
