"""Retention: after `[retention] keep_bodies_for`, what participants wrote is erased; the facts stay.

Erased: the stored message (body and attachments), its subject, the evidence the rules quoted from
it, and the outgoing copies in the outbox. Kept: who wrote to whom, when, what the rules and the
moderators decided, and the audit trail, which reminders and statistics need. Held mail and mail
still on its way are never touched: only messages settled (delivered, rejected, failed) before the
cut-off.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, func, update
from sqlmodel import Session, col, select

from gateway.store.audit import record
from gateway.store.models import Message, Outbox

SETTLED_MESSAGES = ("delivered", "rejected", "failed")
SETTLED_OUTBOX = ("sent", "failed")
BATCH = 500


@dataclass(frozen=True)
class Erased:
    messages: int
    outbox_copies: int


def erase_old_bodies(session: Session, now: datetime, keep_for: timedelta, *,
                     batch: int = BATCH) -> Erased:
    """Erase what was settled before now - keep_for; one audit event says how much."""
    cutoff = now - keep_for
    messages = 0
    while ids := list(session.exec(
            select(Message.id).where(col(Message.erased_at).is_(None),
                                     col(Message.updated_at) < cutoff,
                                     col(Message.state).in_(SETTLED_MESSAGES))
            .order_by(col(Message.id)).limit(batch)).all()):
        for message in session.exec(select(Message).where(col(Message.id).in_(ids))).all():
            erase_message(message, now)
            session.add(message)
        session.flush()
        messages += len(ids)
    erased_copies: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(Outbox)
        .where(col(Outbox.state).in_(SETTLED_OUTBOX), col(Outbox.created_at) < cutoff,
               func.length(col(Outbox.data)) > 0)
        .values(data=b"")
    )
    copies = erased_copies.rowcount or 0
    if messages or copies:
        record(session, at=now, actor="system", subject_type="retention", subject_id=None,
               action="erase", detail=f"{messages} message(s) and {copies} outgoing copie(s) "
                                      f"settled before {cutoff:%Y-%m-%d %H:%M} UTC")
    return Erased(messages, copies)


def erase_message(message: Message, now: datetime) -> None:
    """Erase what was written (body, subject, quoted evidence); the facts about the message stay."""
    message.raw = b""
    message.subject = None
    message.erased_at = now
    if message.hits_json:
        hits = json.loads(message.hits_json)
        # The rule names stay (what kind of thing was held); the quoted words go.
        message.hits_json = json.dumps([{**hit, "evidence": ""} for hit in hits], ensure_ascii=False)
