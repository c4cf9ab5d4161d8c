"""The outbox worker: claim due rows, send them, record SENT / DEFERRED / FAILED (and tell a callback)."""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from sqlalchemy import select as sa_select
from sqlalchemy import update
from sqlalchemy.orm import load_only
from sqlmodel import Session, col

from gateway.clock import Clock, as_utc
from gateway.delivery.retry import RetryPolicy
from gateway.delivery.transports import SendResult, Transport
from gateway.store.audit import record
from gateway.store.db import Database
from gateway.store.lifecycle import Claimed, claim_due
from gateway.store.models import Message, Outbox, Pair, Participant

log = logging.getLogger("gateway.delivery")
# 1 would be the narrowest window, but then each connection waits for a commit (behind
# SQLite's single writer) after every message, and delivery falls behind under load.
UNRECORDED_PER_CONNECTION = 2
RECORD_ATTEMPTS = 5
RECORD_RETRY_SECONDS = 0.2


# What to do once a row FAILED for good (app.py: the relay marks its message and tells the sender).
OnFailed = Callable[[Session, Outbox, datetime], None]


def record_results(session: Session, policy: RetryPolicy, now: datetime,
                   results: Sequence[tuple[int, SendResult]], instance: str,
                   on_failed: OnFailed | None = None) -> None:
    # The rows in one query, without the stored bytes (only the bookkeeping columns change).
    ids = [outbox_id for outbox_id, _result in results]
    query = sa_select(Outbox).where(col(Outbox.id).in_(ids)).options(load_only(*_BOOKKEEPING))  # type: ignore[arg-type]
    rows = {row.id: row for row in session.execute(query).scalars().all()}
    delivered: list[int] = []
    failed: list[Outbox] = []
    for outbox_id, result in results:
        row = rows.get(outbox_id)
        if row is None or row.state != "sending" or row.claimed_by != instance:
            continue  # someone else took it over after our lease ran out
        row.attempts += 1
        row.claimed_until = None
        before = row.state
        if result.status == "sent":
            row.state, row.sent_at, row.last_error = "sent", now, None
            if row.kind == "forward" and row.message_id is not None:
                delivered.append(row.message_id)
        elif result.status == "temporary":
            first = as_utc(row.first_attempt_at or now)
            next_at = policy.next_attempt(row.attempts, first, now)
            row.last_error = result.detail[:1000]
            if next_at is None:
                row.state = "failed"
            else:
                row.state, row.next_attempt_at = "deferred", next_at
        else:
            row.state, row.last_error = "failed", result.detail[:1000]
        session.add(row)
        record(session, at=now, actor=instance, subject_type="outbox", subject_id=row.id,
               action=f"deliver_{result.status}", from_state=before, to_state=row.state,
               detail=f"{row.kind} attempt {row.attempts}: {result.detail[:200]}")
        if row.state == "failed":
            failed.append(row)
    _on_delivered(session, delivered, now)
    for row in failed:
        log.warning("outbox %s (%s) FAILED for good: %s", row.id, row.kind, row.last_error)
        if on_failed is not None:
            on_failed(session, row, now)


_BOOKKEEPING = (Outbox.id, Outbox.kind, Outbox.message_id, Outbox.state, Outbox.attempts,
                Outbox.claimed_by, Outbox.claimed_until, Outbox.first_attempt_at,
                Outbox.next_attempt_at, Outbox.sent_at, Outbox.last_error)


def _on_delivered(session: Session, message_ids: list[int], now: datetime) -> None:
    """Forwarded messages become DELIVERED and count as a turn of their pair: a few Core
    statements for the whole group (one per pair), without loading the stored messages."""
    if not message_ids:
        return
    session.execute(update(Message).where(col(Message.id).in_(message_ids))
                    .values(state="delivered", updated_at=now)
                    .execution_options(synchronize_session=False))
    turns = session.execute(  # automatic mail never counts as a conversation turn
        sa_select(col(Message.id), col(Message.pair_id), col(Participant.role))
        .join(Participant, col(Participant.id) == col(Message.sender_id))
        .where(col(Message.id).in_(message_ids), col(Message.auto_reply).is_(False))
    ).all()
    order = {message_id: n for n, message_id in enumerate(message_ids)}
    by_pair: dict[int, list[tuple[int, str]]] = {}
    for message_id, pair_id, role in sorted(turns, key=lambda t: order[t[0]]):
        by_pair.setdefault(pair_id, []).append((message_id, role))
    for pair_id, delivered in sorted(by_pair.items()):
        last_id, last_role = delivered[-1]
        session.execute(update(Pair).where(col(Pair.id) == pair_id).values(
            last_delivered_at=now, last_delivered_from=last_role,
            last_delivered_message_id=last_id,
            delivered_count=col(Pair.delivered_count) + len(delivered),
        ).execution_options(synchronize_session=False))


class DeliveryWorker:
    """Sends with `len(transports)` connections in parallel, one coroutine per connection."""

    def __init__(self, db: Database, clock: Clock, policy: RetryPolicy,
                 transports: Sequence[Transport], instance: str,
                 on_failed: OnFailed | None = None) -> None:
        self._db = db
        self._on_failed = on_failed
        self._clock = clock
        self._policy = policy
        self._transports = list(transports)
        self._instance = instance

    async def run_once(self) -> int:
        """One claim-send-record round; returns how many rows were attempted."""
        now = self._clock.now()
        postgres = not self._db.is_sqlite
        claimed = await self._db.write(
            lambda s: claim_due(s, now, self._instance, postgres=postgres))
        if not claimed:
            return 0
        await self._send_and_record(claimed)
        return len(claimed)

    async def _send_and_record(self, claimed: list[Claimed]) -> None:
        """Send on every connection; results are committed while sending goes on (results that
        arrive together share one commit), but a connection never has more than
        UNRECORDED_PER_CONNECTION messages sent and not yet committed: a crash between a
        smarthost's 250 and our commit re-sends at most that many per connection."""
        todo: asyncio.Queue[Claimed] = asyncio.Queue()
        for item in claimed:
            todo.put_nowait(item)
        recorder = _GroupCommit(self._record)

        async def sender(transport: Transport) -> None:
            unrecorded: collections.deque[asyncio.Task[None]] = collections.deque()
            while not todo.empty():
                item = todo.get_nowait()
                result = await transport.send(item.envelope_from, item.recipient, item.data)
                unrecorded.append(asyncio.create_task(recorder.add((item.id, result))))
                if len(unrecorded) >= UNRECORDED_PER_CONNECTION:
                    await unrecorded.popleft()
            await asyncio.gather(*unrecorded)

        await asyncio.gather(*(sender(t) for t in self._transports))

    async def _record(self, results: list[tuple[int, SendResult]]) -> None:
        """Commit results, retrying transient failures (e.g. a PostgreSQL deadlock): a result
        that is never recorded means the message is sent again after the lease."""
        for attempt in range(1, RECORD_ATTEMPTS + 1):
            done_at = self._clock.now()
            try:
                await self._db.write(lambda s, at=done_at: record_results(  # type: ignore[misc]
                    s, self._policy, at, results, self._instance, self._on_failed))
                return
            except Exception:
                if attempt == RECORD_ATTEMPTS:
                    raise
                log.warning("could not record %d delivery result(s) (attempt %d); retrying",
                            len(results), attempt, exc_info=True)
                await asyncio.sleep(RECORD_RETRY_SECONDS * attempt)

    async def close(self) -> None:
        for transport in self._transports:
            await transport.close()


class _GroupCommit:
    """add() returns once the result is committed; whoever commits takes everything pending."""

    def __init__(self, commit: Callable[[list[tuple[int, SendResult]]], Awaitable[None]]) -> None:
        self._commit = commit
        self._pending: list[tuple[tuple[int, SendResult], asyncio.Future[None]]] = []
        self._lock = asyncio.Lock()

    async def add(self, result: tuple[int, SendResult]) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((result, done))
        async with self._lock:
            if not done.done():  # nobody committed ours while we waited for the lock
                group, self._pending = self._pending, []
                try:
                    await self._commit([r for r, _ in group])
                except Exception as exc:
                    for _, future in group:
                        future.set_exception(exc)
                else:
                    for _, future in group:
                        future.set_result(None)
        await done
