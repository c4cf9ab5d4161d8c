"""What the review queue shows beside the held list: each message's first line, its pair's history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from gateway.clock import as_utc
from gateway.mail.parse import parse
from gateway.mail.text import first_line, text_of
from gateway.store.models import Message

FIRST_LINE_BYTES = 32_768


def message_first_lines(session: Session, ids: list[int]) -> dict[int, str]:
    """The first non-quoted line of each message's text, for the queue's overview."""
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
