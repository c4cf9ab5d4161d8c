"""Recording delivery results in the store: each row's outcome (SENT / DEFERRED / FAILED), forwarded messages DELIVERED, their pairs' turns."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy import select as sa_select
from sqlmodel import Session

from gateway.clock import as_utc
from gateway.delivery.retry import RetryPolicy
from gateway.delivery.transports import SendResult
from gateway.store.audit import event, record_many
from gateway.store.models import Message, Outbox, Pair, Participant
from gateway.store.raw import Raw

log = logging.getLogger("gateway.delivery")

# What to do once a row FAILED for good (app.py: the relay marks its message and tells the sender).
OnFailed = Callable[[Session, Outbox, datetime], None]


def record_results(session: Session, policy: RetryPolicy, now: datetime,
                   results: Sequence[tuple[int, SendResult]], instance: str,
                   on_failed: OnFailed | None = None) -> None:
    """The group's rows read in one query without their stored bytes, and written back with
    one executemany UPDATE and one audit insert (Core: no ORM objects on the hot path)."""
    rows = {row.id: row for row in _BOOKKEEPING.rows(
        session, {"ids": [outbox_id for outbox_id, _result in results]})}
    delivered: list[Any] = []
    failed: list[int] = []
    changes: list[dict[str, object]] = []
    events: list[dict[str, object]] = []
    for outbox_id, result in results:
        row = rows.get(outbox_id)
        if row is None or row.state != "sending" or row.claimed_by != instance:
            continue  # someone else took it over after our lease ran out
        change = _outcome(policy, now, row, result)
        changes.append(change)
        events.append(event(at=now, actor=instance, subject_type="outbox", subject_id=row.id,
                            action=f"deliver_{result.status}", from_state=row.state,
                            to_state=str(change["b_state"]),
                            detail=f"{row.kind} attempt {change['b_attempts']}: "
                                   f"{result.detail[:200]}"))
        if change["b_state"] == "sent" and row.kind == "forward" and row.message_id is not None:
            delivered.append(row)
        elif change["b_state"] == "failed":
            failed.append(row.id)
    if changes:
        _RECORD.many(session, changes)
    record_many(session, events)
    _on_delivered(session, delivered, now)
    for outbox_id in failed:
        failed_row = session.get(Outbox, outbox_id)
        assert failed_row is not None
        log.warning("outbox %s (%s) FAILED for good: %s", outbox_id, failed_row.kind,
                    failed_row.last_error)
        if on_failed is not None:
            on_failed(session, failed_row, now)


def _outcome(policy: RetryPolicy, now: datetime, row: Any,
             result: SendResult) -> dict[str, object]:
    """The row's bookkeeping after one attempt (parameters of _RECORD)."""
    attempts = row.attempts + 1
    change: dict[str, object] = {
        "b_id": row.id, "b_attempts": attempts, "b_state": row.state, "b_sent_at": row.sent_at,
        "b_last_error": row.last_error, "b_next": row.next_attempt_at}
    if result.status == "sent":
        change.update(b_state="sent", b_sent_at=now, b_last_error=None)
    elif result.status == "temporary":
        first = as_utc(row.first_attempt_at or now)
        next_at = policy.next_attempt(attempts, first, now)
        change["b_last_error"] = result.detail[:1000]
        if next_at is None:
            change["b_state"] = "failed"
        else:
            change.update(b_state="deferred", b_next=next_at)
    else:
        change.update(b_state="failed", b_last_error=result.detail[:1000])
    return change


_OUTBOX = Outbox.__table__  # type: ignore[attr-defined]
_MESSAGE, _PAIR = Message.__table__, Pair.__table__  # type: ignore[attr-defined]
_PARTICIPANT = Participant.__table__  # type: ignore[attr-defined]
# With what a delivered forward needs for its pair's turn (its pair, whether it counts, the
# sender's role), so that recording it reads nothing more.
_BOOKKEEPING = Raw(sa_select(_OUTBOX.c.id, _OUTBOX.c.kind, _OUTBOX.c.message_id, _OUTBOX.c.state,
                              _OUTBOX.c.attempts, _OUTBOX.c.claimed_by, _OUTBOX.c.first_attempt_at,
                              _OUTBOX.c.next_attempt_at, _OUTBOX.c.sent_at, _OUTBOX.c.last_error,
                              _MESSAGE.c.pair_id.label("turn_pair"),
                              _MESSAGE.c.auto_reply.label("turn_auto"),
                              _PARTICIPANT.c.role.label("turn_role"))
                    .select_from(_OUTBOX.outerjoin(_MESSAGE, _MESSAGE.c.id == _OUTBOX.c.message_id)
                                 .outerjoin(_PARTICIPANT, _PARTICIPANT.c.id == _MESSAGE.c.sender_id))
                    .where(_OUTBOX.c.id.in_(bindparam("ids", expanding=True))))
_RECORD = Raw(update(_OUTBOX).where(_OUTBOX.c.id == bindparam("b_id"))
               .values(attempts=bindparam("b_attempts"), claimed_until=None,
                       state=bindparam("b_state"), sent_at=bindparam("b_sent_at"),
                       last_error=bindparam("b_last_error"), next_attempt_at=bindparam("b_next")))


def _on_delivered(session: Session, rows: list[Any], now: datetime) -> None:
    """Forwarded messages (their _BOOKKEEPING rows) become DELIVERED and count as a turn of
    their pair: one statement for the messages and one per pair, without loading them."""
    if not rows:
        return
    _DELIVERED.rows(session, {"ids": [row.message_id for row in rows], "now": now})
    # Each message once, in the order of its last row; automatic mail never counts as a turn.
    last = {row.message_id: (n, row) for n, row in enumerate(rows)}
    by_pair: dict[int, list[tuple[int, str]]] = {}
    for _n, row in sorted(last.values(), key=lambda found: found[0]):
        if row.turn_auto is False and row.turn_role is not None:
            by_pair.setdefault(row.turn_pair, []).append((row.message_id, row.turn_role))
    # One executemany for the pairs (on PostgreSQL one round trip instead of one per pair: a
    # batch of a busy program's mail has as many pairs as messages).
    turns = [{"pair": pair_id, "now": now, "role": delivered[-1][1], "last": delivered[-1][0],
              "n": len(delivered)} for pair_id, delivered in sorted(by_pair.items())]
    if turns:
        _TURN.many(session, turns)


_DELIVERED = Raw(update(_MESSAGE).where(_MESSAGE.c.id.in_(bindparam("ids", expanding=True)))
                  .values(state="delivered", updated_at=bindparam("now")))
_TURN = Raw(update(_PAIR).where(_PAIR.c.id == bindparam("pair"))
             .values(last_delivered_at=bindparam("now"), last_delivered_from=bindparam("role"),
                     last_delivered_message_id=bindparam("last"),
                     delivered_count=_PAIR.c.delivered_count + bindparam("n")))
