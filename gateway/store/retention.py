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

    def __add__(self, other: Erased) -> Erased:
        return Erased(self.messages + other.messages, self.outbox_copies + other.outbox_copies)

    def __bool__(self) -> bool:
        return bool(self.messages or self.outbox_copies)


def erase_batch(session: Session, now: datetime, keep_for: timedelta, *,
                batch: int = BATCH) -> Erased:
    """Erase at most `batch` messages and `batch` outgoing copies settled before now - keep_for.

    One short transaction per batch: the first run on a database with years of mail must not
    hold SQLite's write lock (and so every incoming message) for minutes."""
    cutoff = now - keep_for
    ids = list(session.exec(
        select(Message.id).where(col(Message.erased_at).is_(None), col(Message.updated_at) < cutoff,
                                 col(Message.state).in_(SETTLED_MESSAGES))
        .order_by(col(Message.id)).limit(batch)).all())
    for message in session.exec(select(Message).where(col(Message.id).in_(ids))).all():
        erase_message(message, now)
        session.add(message)
    copy_ids = select(Outbox.id).where(
        col(Outbox.state).in_(SETTLED_OUTBOX), col(Outbox.created_at) < cutoff,
        func.length(col(Outbox.data)) > 0).limit(batch)
    erased_copies: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(Outbox).where(col(Outbox.id).in_(copy_ids.scalar_subquery())).values(data=b""))
    return Erased(len(ids), erased_copies.rowcount or 0)


def count_due(session: Session, now: datetime, keep_for: timedelta) -> Erased:
    """What a run at `now` would erase, erasing nothing (`retention run --dry-run`)."""
    cutoff = now - keep_for
    messages = session.exec(select(func.count()).select_from(Message).where(
        col(Message.erased_at).is_(None), col(Message.updated_at) < cutoff,
        col(Message.state).in_(SETTLED_MESSAGES))).one()
    copies = session.exec(select(func.count()).select_from(Outbox).where(
        col(Outbox.state).in_(SETTLED_OUTBOX), col(Outbox.created_at) < cutoff,
        func.length(col(Outbox.data)) > 0)).one()
    return Erased(int(messages), int(copies))


def record_erasure(session: Session, now: datetime, keep_for: timedelta, erased: Erased) -> None:
    """One audit event per run, saying how much went."""
    record(session, at=now, actor="system", subject_type="retention", subject_id=None,
           action="erase", detail=f"{erased.messages} message(s) and {erased.outbox_copies} "
                                  f"outgoing copie(s) settled before {now - keep_for:%Y-%m-%d %H:%M} UTC")


def erase_message(message: Message, now: datetime) -> None:
    """Erase what was written (body, subject, quoted evidence); the facts about the message stay."""
    message.raw = b""
    message.subject = None
    message.erased_at = now
    if message.hits_json:
        hits = json.loads(message.hits_json)
        # The rule names stay (what kind of thing was held); the quoted words go.
        message.hits_json = json.dumps([{**hit, "evidence": ""} for hit in hits], ensure_ascii=False)
