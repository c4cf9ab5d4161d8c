"""The message lifecycle in the store: state transitions with their audit row, claims, the outbox door."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CTE, ColumnElement, and_, bindparam, func, insert, or_, union_all, update
from sqlalchemy import select as sa_select
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col

from gateway.store.audit import event, record, record_many
from gateway.store.deferred import defer, write_deferred
from gateway.store.models import Message, Outbox, Pair
from gateway.store.raw import Raw, insert_returning_ids

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


def set_state_written(session: Session, message: Message, state: str, now: datetime, *,
                      hits: Sequence[Mapping[str, object]], verdict: str,
                      events: list[dict[str, object]]) -> None:
    """set_state for a message whose row is written with its batch's (store/deferred.py: one
    executemany), its loaded object given the new values as committed: nothing left for the
    ORM's flush, whose unit of work cost ~1 ms per message (the relay's forward path). Its
    gateway_message_id is written too (queue_forward set it the same way)."""
    before = message.state
    values = {"state": state, "updated_at": now, "verdict": verdict,
              "hits_json": json.dumps(list(hits), ensure_ascii=False),
              "gateway_message_id": message.gateway_message_id}
    defer(session, _WRITE_STATE, {"message": message.id, **values})
    for name, value in values.items():
        set_committed_value(message, name, value)
    events.append(event(at=now, actor="system", subject_type="message", subject_id=message.id,
                        action=state, from_state=before, to_state=state,
                        detail=", ".join(str(h["rule"]) for h in hits) or None))


def claim_received(session: Session, *, postgres: bool, limit: int = RECEIVED_BATCH,
                   ids: list[int] | None = None) -> list[Message]:
    """The oldest RECEIVED messages (locked, skipping rows another instance holds, on PostgreSQL)."""
    query = _RECEIVED if ids is None else _RECEIVED_AMONG
    if postgres:
        query = query.with_for_update(skip_locked=True)
    return list(session.execute(query, {"limit": limit, "ids": ids or []}).scalars().all())


def still_received(session: Session, ids: list[int], *, postgres: bool) -> set[int]:
    """Which of `ids` are still RECEIVED (locked on PostgreSQL, skipping rows another holds)."""
    query = _STILL_RECEIVED_LOCKED if postgres else _STILL_RECEIVED
    return {row.id for row in query.rows(session, {"ids": ids})}


# Built once (the relay's hot path): building a statement costs about as much as running it.
_RECEIVED = (sa_select(Message).where(col(Message.state) == "received")
             .order_by(col(Message.id)).limit(bindparam("limit")))
_RECEIVED_AMONG = _RECEIVED.where(col(Message.id).in_(bindparam("ids", expanding=True)))
_MESSAGE = Message.__table__  # type: ignore[attr-defined]
_WRITE_STATE = Raw(update(_MESSAGE).where(_MESSAGE.c.id == bindparam("message")).values(
    state=bindparam("state"), updated_at=bindparam("updated_at"), verdict=bindparam("verdict"),
    hits_json=bindparam("hits_json"), gateway_message_id=bindparam("gateway_message_id")))
_STILL = sa_select(_MESSAGE.c.id).where(
    _MESSAGE.c.state == "received", _MESSAGE.c.id.in_(bindparam("ids", expanding=True)))
_STILL_RECEIVED, _STILL_RECEIVED_LOCKED = Raw(_STILL), Raw(_STILL.with_for_update(skip_locked=True))


@dataclass(frozen=True)
class Claimed:
    id: int
    envelope_from: str
    recipient: str
    data: bytes


def claim_due(session: Session, now: datetime, instance: str, *, postgres: bool,
              limit: int = OUTBOX_BATCH) -> list[Claimed]:
    """Outbox rows due now (or whose sender's lease ran out) become SENDING, leased to `instance`:
    up to `limit` of them (on PostgreSQL up to `limit` of each kind: queued, deferred, lease
    run out), in due order.

    Core statements, no ORM objects: this runs once per delivery round on the hot path."""
    values = {"now": now, "limit": limit, "instance": instance, "until": now + LEASE}
    # One statement: the due rows (on PostgreSQL locked, skipping others' locks; SQLite's
    # transaction holds the write lock already) leased and returned, then put back in due order.
    leased = sorted((_CLAIM_DUE if postgres else _CLAIM_DUE_SQLITE).rows(session, values),
        key=lambda row: (row.next_attempt_at, row.id))
    return [Claimed(row.id, row.envelope_from, row.recipient, row.data) for row in leased]


_OUTBOX = Outbox.__table__  # type: ignore[attr-defined]
_IS_DUE = or_(and_(_OUTBOX.c.state.in_(("queued", "deferred")),
                   _OUTBOX.c.next_attempt_at <= bindparam("now")),
              and_(_OUTBOX.c.state == "sending", _OUTBOX.c.claimed_until < bindparam("now")))
_LEASED = {"state": "sending", "claimed_by": bindparam("instance"),
           "claimed_until": bindparam("until"),
           "first_attempt_at": func.coalesce(_OUTBOX.c.first_attempt_at, bindparam("now"))}
_DUE_IDS = (sa_select(_OUTBOX.c.id).where(_IS_DUE)
            .order_by(_OUTBOX.c.next_attempt_at, _OUTBOX.c.id).limit(bindparam("limit")))
_CLAIMED = (_OUTBOX.c.id, _OUTBOX.c.envelope_from, _OUTBOX.c.recipient, _OUTBOX.c.data,
            _OUTBOX.c.next_attempt_at)


def _due_by_index(name: str, where: ColumnElement[bool], order: ColumnElement[Any]) -> CTE:
    return (sa_select(_OUTBOX.c.id, _OUTBOX.c.next_attempt_at).where(where).order_by(order)
            .limit(bindparam("limit")).with_for_update(skip_locked=True).cte(name))


# On PostgreSQL each kind of due row is its own ordered index scan, up to `limit` of each. One
# query with an OR took a bitmap scan, which visits every index entry of rows updated since
# the last vacuum (an outbox row passes through three states) on every claim: ~430 buffers and
# 0.8 ms per claim after 1,500 messages. A plain index scan marks dead entries as it meets
# them, so the next claim skips them. Every row a branch locks is claimed (a row locked and
# left would be hidden from other instances until this transaction ends).
_BRANCHES = [_due_by_index("due_" + state, and_(
    _OUTBOX.c.state == state, _OUTBOX.c.next_attempt_at <= bindparam("now")),
    _OUTBOX.c.next_attempt_at) for state in ("queued", "deferred")] + [_due_by_index(
        "due_sending", and_(_OUTBOX.c.state == "sending",
                            _OUTBOX.c.claimed_until < bindparam("now")), _OUTBOX.c.claimed_until)]
_DUE_LOCKED = union_all(*(sa_select(branch.c.id) for branch in _BRANCHES)).cte("due")
_CLAIM_DUE = Raw(update(_OUTBOX).where(_OUTBOX.c.id == _DUE_LOCKED.c.id).values(_LEASED)
                 .returning(*_CLAIMED))
_CLAIM_DUE_SQLITE = Raw(update(_OUTBOX).where(_OUTBOX.c.id.in_(_DUE_IDS.scalar_subquery()))
                        .values(_LEASED).returning(*_CLAIMED))


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


# An outbox row written later with its batch (enqueue(audit_later=...)): its values and actor.
Later = list[tuple[dict[str, object], str]]


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
    audit_later: Later | None = None,
) -> Outbox | None:
    """Put a message in the outbox, the one door through which anything leaves the gateway.

    Adds the row and its audit event. With `audit_later`, the row's values go to that list and
    nothing is written here: the caller writes the whole batch with record_queued() (one Core
    insert instead of an ORM object per row), and None is returned."""
    values: dict[str, object] = {
        "kind": kind, "envelope_from": envelope_from, "recipient": recipient, "data": data,
        "created_at": now, "next_attempt_at": now, "message_id": message_id, "pair_id": pair_id,
        "recipient_participant_id": recipient_participant_id, "dedup_key": dedup_key}
    if audit_later is not None:
        audit_later.append(({**_NEW_ROW, **values}, actor))
        return None
    row = Outbox(**values)  # type: ignore[arg-type]  # the model's own columns
    session.add(row)
    session.flush()
    record(session, at=now, actor=actor, subject_type="outbox", subject_id=row.id,
           action=f"queue_{kind}", to_state="queued")
    return row


# Every column of a new row: an executemany needs the same keys in every row.
_NEW_ROW: dict[str, object] = {
    "state": "queued", "attempts": 0, "first_attempt_at": None, "claimed_by": None,
    "claimed_until": None, "sent_at": None, "last_error": None}
_INSERT_OUTBOX = insert(_OUTBOX).returning(_OUTBOX.c.id, sort_by_parameter_order=True)
_INSERT_OUTBOX_ONE = Raw(insert(_OUTBOX).returning(_OUTBOX.c.id))
_PAIR = Pair.__table__  # type: ignore[attr-defined]
_FORWARDED_BY = Raw(update(_PAIR).where(_PAIR.c.id == bindparam("pair"))
                        .values(forwarded_count=_PAIR.c.forwarded_count + bindparam("n")))


def record_queued(session: Session, rows: Later, now: datetime,
                  events: list[dict[str, object]] | None = None) -> None:
    """Write the outbox rows enqueue(audit_later=...) left out and their audit events, with
    `events` (set_state's of the same batch), after the batch's held rows (store/deferred.py)
    and one flush of its ORM changes."""
    write_deferred(session)
    session.flush()
    forwards: dict[int, int] = {}  # the batch's forwards per pair (queue_forward left them)
    for values, _actor in rows:
        if values["kind"] == "forward" and isinstance(values["pair_id"], int):
            forwards[values["pair_id"]] = forwards.get(values["pair_id"], 0) + 1
    if forwards:  # one executemany: on PostgreSQL one round trip, not one per pair; in the
        # order of the pairs' ids, as delivery's turns, so two instances lock them alike
        _FORWARDED_BY.many(session, [
            {"pair": pair_id, "n": n} for pair_id, n in sorted(forwards.items())])
    ids = insert_returning_ids(session, _INSERT_OUTBOX, _INSERT_OUTBOX_ONE,
                               [values for values, _actor in rows])
    record_many(session, [*(events or ()), *(
        event(at=now, actor=actor, subject_type="outbox", subject_id=outbox_id,
              action=f"queue_{values['kind']}", to_state="queued")
        for (values, actor), outbox_id in zip(rows, ids, strict=True))])
