"""The message lifecycle in the store: state transitions with their audit row, claims, the outbox door."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, func, or_, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from gateway.store.audit import event, record, record_many
from gateway.store.models import Message, Outbox

RECEIVED_BATCH = 50
OUTBOX_BATCH = 64
LEASE = timedelta(minutes=10)


def set_state(session: Session, message: Message, state: str, now: datetime, *,
              actor: str = "system", detail: str | None = None,
              hits: Sequence[Mapping[str, object]] | None = None, verdict: str | None = None,
              events: list[dict[str, object]] | None = None) -> None:
    """Move a stored message to `state` and write the transition to the audit trail.

    `hits` are the rule hits as JSON objects (moderation.chain.hit_json); their rule names are
    the audit detail unless `detail` says otherwise. With `events`, the audit row is added to
    that list for the caller to write with the rest of its batch (audit.record_many)."""
    before = message.state
    message.state = state
    message.updated_at = now
    if hits is not None:
        message.hits_json = json.dumps(list(hits), ensure_ascii=False)
    if verdict is not None:
        message.verdict = verdict
    session.add(message)
    if detail is None and hits:
        detail = ", ".join(str(h["rule"]) for h in hits)
    if events is None:
        record(session, at=now, actor=actor, subject_type="message", subject_id=message.id,
               action=state, from_state=before, to_state=state, detail=detail)
        return
    events.append(event(at=now, actor=actor, subject_type="message", subject_id=message.id,
                        action=state, from_state=before, to_state=state, detail=detail))


def claim_received(session: Session, *, postgres: bool, limit: int = RECEIVED_BATCH,
                   ids: list[int] | None = None) -> list[Message]:
    """The oldest RECEIVED messages (locked, skipping rows another instance holds, on PostgreSQL)."""
    query = _RECEIVED if ids is None else _RECEIVED_AMONG
    if postgres:
        query = query.with_for_update(skip_locked=True)
    return list(session.execute(query, {"limit": limit, "ids": ids or []}).scalars().all())


# Built once (the relay's hot path): building a statement costs about as much as running it.
_RECEIVED = (sa_select(Message).where(col(Message.state) == "received")
             .order_by(col(Message.id)).limit(bindparam("limit")))
_RECEIVED_AMONG = _RECEIVED.where(col(Message.id).in_(bindparam("ids", expanding=True)))


@dataclass(frozen=True)
class Claimed:
    id: int
    envelope_from: str
    recipient: str
    data: bytes


def claim_due(session: Session, now: datetime, instance: str, *, postgres: bool,
              limit: int = OUTBOX_BATCH) -> list[Claimed]:
    """Outbox rows due now (or whose sender's lease ran out) become SENDING, leased to `instance`.

    Core statements, no ORM objects: this runs once per delivery round on the hot path."""
    query = _DUE.with_for_update(skip_locked=True) if postgres else _DUE
    rows = session.connection().execute(query, {"now": now, "limit": limit}).all()
    if rows:
        session.connection().execute(_LEASE, {
            "ids": [row.id for row in rows], "instance": instance, "until": now + LEASE,
            "now": now})
    return [Claimed(row.id, row.envelope_from, row.recipient, row.data) for row in rows]


_OUTBOX = Outbox.__table__  # type: ignore[attr-defined]
_DUE = (sa_select(_OUTBOX.c.id, _OUTBOX.c.envelope_from, _OUTBOX.c.recipient, _OUTBOX.c.data)
        .where(or_(and_(_OUTBOX.c.state.in_(("queued", "deferred")),
                        _OUTBOX.c.next_attempt_at <= bindparam("now")),
                   and_(_OUTBOX.c.state == "sending", _OUTBOX.c.claimed_until < bindparam("now"))))
        .order_by(_OUTBOX.c.next_attempt_at, _OUTBOX.c.id).limit(bindparam("limit")))
_LEASE = (update(_OUTBOX).where(_OUTBOX.c.id.in_(bindparam("ids", expanding=True)))
          .values(state="sending", claimed_by=bindparam("instance"),
                  claimed_until=bindparam("until"),
                  first_attempt_at=func.coalesce(_OUTBOX.c.first_attempt_at, bindparam("now"))))


def release_own_claims(session: Session, is_ours: Callable[[str | None], bool] | None) -> int:
    """After a restart, rows an earlier run of this instance was sending go back to the queue
    (SQLite, one process: all of them; else those `is_ours` recognizes)."""
    query = sa_select(Outbox).where(col(Outbox.state) == "sending")
    rows = [row for row in session.execute(query).scalars().all()
            if is_ours is None or is_ours(row.claimed_by)]
    for row in rows:
        row.state = "queued"
        row.claimed_until = None
        session.add(row)
    return len(rows)


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
    """Put a message in the outbox, the one door through which anything leaves the gateway.

    Adds the row and its audit event. With `audit_later`, the row is neither flushed nor
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


def record_queued(session: Session, rows: list[tuple[Outbox, str]], now: datetime,
                  events: list[dict[str, object]] | None = None) -> None:
    """The audit events enqueue(audit_later=...) left out, after one flush gave the rows ids,
    written with `events` (set_state's of the same batch) in one insert."""
    session.flush()
    record_many(session, [*(events or ()), *(
        event(at=now, actor=actor, subject_type="outbox", subject_id=row.id,
              action=f"queue_{row.kind}", to_state="queued") for row, actor in rows)])
