"""Forget a participant on request (a family asks, a young person leaves): no trace of who they were.

Their pairs are closed, and everything written in those pairs, both ways, is erased (the
partner's letters name them and quote them). Their address, name and the Message-IDs their
client made up (which can embed the address) are replaced or removed wherever they were stored,
including the audit trail's details. What stays: that a pair existed, how many messages went
each way and when, and what moderators decided, so the program's statistics still add up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, update
from sqlmodel import Session, col, select

from gateway.program.service import change_pair_state, participant_by_email
from gateway.store.audit import record
from gateway.store.models import AuditEvent, Message, MessageIdMap, Outbox, Pair, Report
from gateway.store.retention import erase_message

UNSETTLED_MESSAGES = ("received", "held", "queued")
UNSENT_OUTBOX = ("queued", "deferred", "paused")
FORGOTTEN = "forgotten"
ERASED_ERROR = "a participant was forgotten"


@dataclass(frozen=True)
class Forgotten:
    participant_id: int
    pairs_closed: int
    messages_erased: int


def forget_participant(session: Session, email: str, *, now: datetime, actor: str = "cli") -> Forgotten:
    person = participant_by_email(session, email)
    assert person.id is not None
    address = person.email
    pairs = list(session.exec(select(Pair).where(
        (col(Pair.mentor_id) == person.id) | (col(Pair.mentee_id) == person.id))).all())
    pair_ids = [p.id for p in pairs]
    closed = _close(session, pairs, now, actor)
    erased = _erase_pair_messages(session, pair_ids, now, actor)
    session.execute(delete(MessageIdMap).where(col(MessageIdMap.pair_id).in_(pair_ids)))
    _erase_outbox(session, pair_ids, address)
    _erase_reports(session, pair_ids, person.id, address)
    person.email = f"{FORGOTTEN}-{person.id}@{FORGOTTEN}.invalid"
    person.display_name = f"({FORGOTTEN} {person.id})"
    person.time_zone = None
    person.reminders_opt_out = True
    session.add(person)
    _scrub_audit(session, address, person.email)
    record(session, at=now, actor=actor, subject_type="participant", subject_id=person.id,
           action="forget", detail=f"{closed} pair(s) closed, {erased} message(s) erased")
    return Forgotten(person.id, closed, erased)


def _close(session: Session, pairs: list[Pair], now: datetime, actor: str) -> int:
    open_pairs = [pair for pair in pairs if pair.state != "closed" and pair.id is not None]
    for pair in open_pairs:
        change_pair_state(session, pair.id or 0, "close", now=now, actor=actor,
                          reason="a participant was forgotten")
    return len(open_pairs)


def _erase_pair_messages(session: Session, pair_ids: list[int | None], now: datetime,
                         actor: str) -> int:
    messages = list(session.exec(select(Message).where(col(Message.pair_id).in_(pair_ids))).all())
    for message in messages:
        if message.state in UNSETTLED_MESSAGES:
            # Nothing more of theirs goes out, and nothing waits for a moderator any more.
            record(session, at=now, actor=actor, subject_type="message", subject_id=message.id,
                   action="rejected", from_state=message.state, to_state="rejected",
                   detail="a participant was forgotten")
            message.state, message.updated_at = "rejected", now
        message.envelope_from = f"{FORGOTTEN}@{FORGOTTEN}.invalid"
        message.original_message_id = None
        erase_message(message, now)
        session.add(message)
    return len(messages)


def _erase_outbox(session: Session, pair_ids: list[int | None], address: str) -> None:
    ours = col(Outbox.pair_id).in_(pair_ids) | (func.lower(col(Outbox.recipient)) == address)
    session.execute(update(Outbox).where(ours, col(Outbox.state).in_(UNSENT_OUTBOX))
                    .values(state="failed", last_error=ERASED_ERROR))
    session.execute(update(Outbox).where(ours).values(data=b""))
    # A refusal quoted by the recipient's provider usually names the address.
    session.execute(update(Outbox).where(ours, col(Outbox.last_error).is_not(None))
                    .values(last_error=ERASED_ERROR))
    session.execute(update(Outbox).where(func.lower(col(Outbox.recipient)) == address)
                    .values(recipient=f"{FORGOTTEN}@{FORGOTTEN}.invalid"))


def _erase_reports(session: Session, pair_ids: list[int | None], person_id: int, address: str) -> None:
    """Reports of their pairs, by or about them, and their mail to the program address: what
    was written goes; that a report was made, when and what staff decided stay."""
    ours = (col(Report.pair_id).in_(pair_ids) | (col(Report.reporter_id) == person_id)
            | (col(Report.reported_id) == person_id) | (func.lower(col(Report.from_address)) == address))
    session.execute(update(Report).where(ours).values(raw=None, subject=None))
    session.execute(update(Report).where(func.lower(col(Report.from_address)) == address)
                    .values(from_address=f"{FORGOTTEN}@{FORGOTTEN}.invalid"))


def _scrub_audit(session: Session, address: str, replacement: str) -> None:
    """Delivery errors and unroutable-mail notes may quote the address. (Not the display name:
    "Sam" would also match "Samedi" in unrelated details, and details never quote names.)"""
    events = session.exec(select(AuditEvent).where(
        func.lower(col(AuditEvent.detail)).contains(address, autoescape=True))).all()
    for event in events:
        event.detail = re.sub(re.escape(address), replacement, event.detail or "", flags=re.IGNORECASE)
        session.add(event)
