"""Put a message in the outbox: the one door through which anything leaves the gateway."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from gateway.store.audit import record
from gateway.store.models import Outbox


def enqueue(
    session: Session,
    *,
    kind: str,
    envelope_from: str,
    recipient: str,
    data: bytes,
    now: datetime,
    message_id: int | None = None,
    pair_id: int | None = None,
    recipient_participant_id: int | None = None,
    dedup_key: str | None = None,
    actor: str = "system",
    audit_later: list[tuple[Outbox, str]] | None = None,
) -> Outbox:
    """Add the row and its audit event. With `audit_later`, the row is neither flushed nor
    audited here: the caller flushes a whole batch at once, then calls record_queued()."""
    row = Outbox(
        kind=kind,
        envelope_from=envelope_from,
        recipient=recipient,
        data=data,
        created_at=now,
        next_attempt_at=now,
        message_id=message_id,
        pair_id=pair_id,
        recipient_participant_id=recipient_participant_id,
        dedup_key=dedup_key,
    )
    session.add(row)
    if audit_later is not None:
        audit_later.append((row, actor))
        return row
    session.flush()
    record(session, at=now, actor=actor, subject_type="outbox", subject_id=row.id,
           action=f"queue_{kind}", to_state="queued")
    return row


def record_queued(session: Session, rows: list[tuple[Outbox, str]], now: datetime) -> None:
    """The audit events enqueue(audit_later=...) left out, after one flush gave the rows ids."""
    session.flush()
    for row, actor in rows:
        record(session, at=now, actor=actor, subject_type="outbox", subject_id=row.id,
               action=f"queue_{row.kind}", to_state="queued")
