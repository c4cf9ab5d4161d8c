"""Durable storage of accepted mail with group commit: many messages, one fsync, then each 250."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session, select

from gateway.clock import Clock
from gateway.ingress.routing import Route
from gateway.store.audit import record
from gateway.store.db import Database
from gateway.store.models import Message

log = logging.getLogger("gateway.ingress")
DEDUP_WINDOW = timedelta(hours=24)
MAX_BATCH = 64


@dataclass(frozen=True)
class Incoming:
    route: Route
    raw: bytes
    envelope_from: str
    original_message_id: str | None
    subject: str | None
    source: str = "smtp"

    @property
    def dedup_key(self) -> str:
        """Same Message-ID, same sender, same alias = the same message sent again."""
        basis = self.original_message_id or hashlib.sha256(self.raw).hexdigest()
        text = f"{basis}|{self.route.sender_email}|{self.route.alias_local}"
        return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


@dataclass
class _Pending:
    item: Incoming
    done: asyncio.Future[tuple[int, bool]] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class IngestWriter:
    """Callers await store(); a single task commits everything pending in one transaction."""

    def __init__(self, db: Database, clock: Clock, on_stored: Callable[[], None] = lambda: None) -> None:
        self._db = db
        self._clock = clock
        self._on_stored = on_stored
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()

    async def store(self, item: Incoming) -> tuple[int, bool]:
        """Returns (message id, was_duplicate) once the row is committed."""
        pending = _Pending(item)
        await self._queue.put(pending)
        return await pending.done

    async def run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty() and len(batch) < MAX_BATCH:
                batch.append(self._queue.get_nowait())
            try:
                results = await self._db.write(lambda s, b=batch: self._insert(s, b))  # type: ignore[misc]
            except Exception as exc:  # the clients get 451 and will retry
                log.exception("could not store %d message(s)", len(batch))
                for pending in batch:
                    if not pending.done.done():
                        pending.done.set_exception(exc)
                continue
            for pending, result in zip(batch, results, strict=True):
                if not pending.done.done():
                    pending.done.set_result(result)
            self._on_stored()

    def _insert(self, session: Session, batch: list[_Pending]) -> list[tuple[int, bool]]:
        now = self._clock.now()
        seen: dict[str, int] = {}
        results: list[tuple[int, bool]] = []
        for pending in batch:
            item = pending.item
            key = item.dedup_key
            earlier = seen.get(key) or session.exec(
                select(Message.id).where(Message.dedup_key == key,
                                         Message.received_at > now - DEDUP_WINDOW)
            ).first()
            if earlier is not None:
                results.append((earlier, True))
                continue
            message = _message_row(item, key, now)
            session.add(message)
            session.flush()
            assert message.id is not None
            record(session, at=now, actor=item.source, subject_type="message", subject_id=message.id,
                   action="receive", to_state="received", detail=f"pair {item.route.pair_id}")
            seen[key] = message.id
            results.append((message.id, False))
        return results


def _message_row(item: Incoming, key: str, now: datetime) -> Message:
    route = item.route
    return Message(
        pair_id=route.pair_id, sender_id=route.sender_id, recipient_id=route.recipient_id,
        direction=route.direction, state="received", source=item.source,
        envelope_from=item.envelope_from, original_message_id=item.original_message_id,
        dedup_key=key, size=len(item.raw), raw=item.raw, received_at=now, updated_at=now,
        subject=item.subject,
    )
