"""Durable storage of accepted mail with group commit: many messages, one fsync, then each 250."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.engine import Connection

from gateway.clock import Clock
from gateway.ingress.routing import Route
from gateway.store.audit import event, record_many
from gateway.store.db import Database
from gateway.store.models import Message
from gateway.store.rates import RateCounter, RateLimits, flood_hit
from gateway.store.raw import Raw, insert_returning_ids

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
    # Reasons decided at the door (e.g. unauthenticated sender): the message is held for them.
    hold_hits: tuple[dict[str, object], ...] = ()

    @property
    def dedup_key(self) -> str:
        """Same Message-ID and same content, same sender, same alias = the same message sent again.

        The ID alone is not enough: real clients reuse IDs for different messages, and those would
        be answered 250 and dropped. Trace headers that a resend through another path changes
        (Received, Return-Path...) are left out of the content."""
        basis = f"{self.original_message_id}|{content_hash(self.raw)}" if self.original_message_id \
            else hashlib.sha256(self.raw).hexdigest()
        text = f"{basis}|{self.route.sender_email}|{self.route.alias_local}"
        return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


_TRACE = (b"received:", b"return-path:", b"delivered-to:", b"x-original-to:",
          b"authentication-results:", b"arc-", b"x-gateway-")


def content_hash(raw: bytes) -> str:
    """Hash of the message without its trace headers (one linear pass)."""
    end = raw.find(b"\r\n\r\n")
    head, body = (raw, b"") if end < 0 else (raw[:end + 2], raw[end + 4:])
    digest = hashlib.sha256()
    skipping = False
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            if not skipping:
                digest.update(line + b"\n")
            continue
        skipping = line.lower().startswith(_TRACE)
        if not skipping:
            digest.update(line + b"\n")
    digest.update(b"\n")
    digest.update(body)
    return digest.hexdigest()


@dataclass
class _Pending:
    item: Incoming
    done: asyncio.Future[tuple[int, bool]] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class IngestWriter:
    """Callers await store(); a single task commits everything pending in one transaction."""

    def __init__(self, db: Database, clock: Clock, on_stored: Callable[[], None] = lambda: None,
                 *, limits: RateLimits | None = None) -> None:
        self._db = db
        self._clock = clock
        self._on_stored = on_stored
        self._limits = limits
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
                results = await self._db.write_rows(lambda c, b=batch: self._insert(c, b))  # type: ignore[misc]
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

    def _insert(self, connection: Connection, batch: list[_Pending]) -> list[tuple[int, bool]]:
        """One dedup query and one multi-row insert (Core, ids returned) for the whole batch."""
        now = self._clock.now()
        keys = [pending.item.dedup_key for pending in batch]
        seen: dict[str, int] = dict(_SEEN.rows(  # type: ignore[arg-type]
            connection, {"keys": sorted(set(keys)), "since": now - DEDUP_WINDOW}))
        fresh: dict[str, dict[str, object]] = {}
        rates = RateCounter.load(
            connection, self._limits, now, sender_ids={p.item.route.sender_id for p in batch},
            pair_ids={p.item.route.pair_id for p in batch}) if self._limits else None
        for pending, key in zip(batch, keys, strict=True):
            if key not in seen and key not in fresh:
                hits = list(pending.item.hold_hits)
                passed = rates.add(pending.item.route.sender_id, pending.item.route.pair_id) \
                    if rates and self._limits else None
                if passed and self._limits:
                    hits.append(flood_hit(passed, self._limits))
                fresh[key] = _message_row(pending.item, key, now, hits)
        ids = dict(zip(fresh, insert_returning_ids(connection, _INSERT, _INSERT_ONE,
                                                   list(fresh.values())), strict=True))
        results: list[tuple[int, bool]] = []
        events: list[dict[str, object]] = []
        for pending, key in zip(batch, keys, strict=True):
            if key in seen:
                results.append((seen[key], True))
            elif key not in ids:  # the same message twice in one batch: the second is a duplicate
                results.append((results[keys.index(key)][0], True))
            else:
                message_id = ids.pop(key)
                events.append(event(at=now, actor=pending.item.source, subject_type="message",
                                    subject_id=message_id, action="receive", to_state="received",
                                    detail=f"pair {pending.item.route.pair_id}"))
                results.append((message_id, False))
        record_many(connection, events)
        return results


_MESSAGES = Message.__table__  # type: ignore[attr-defined]
_SEEN = Raw(select(_MESSAGES.c.dedup_key, func.min(_MESSAGES.c.id))
            .where(_MESSAGES.c.dedup_key.in_(bindparam("keys", expanding=True)),
                   _MESSAGES.c.received_at > bindparam("since"))
            .group_by(_MESSAGES.c.dedup_key))
# executemany with RETURNING, ids in the order of the rows (PostgreSQL; SQLite row by row)
_INSERT = insert(_MESSAGES).returning(_MESSAGES.c.id, sort_by_parameter_order=True)
_INSERT_ONE = Raw(insert(_MESSAGES).returning(_MESSAGES.c.id))


def _message_row(item: Incoming, key: str, now: datetime,
                 hits: list[dict[str, object]]) -> dict[str, object]:
    route = item.route
    # hits_json on a RECEIVED row = reasons found at the door: the processor holds it for them.
    # Every column is given: an executemany needs the same keys in every row.
    return {
        "hits_json": json.dumps(hits, ensure_ascii=False) if hits else None,
        "pair_id": route.pair_id, "sender_id": route.sender_id,
        "recipient_id": route.recipient_id, "direction": route.direction, "state": "received",
        "source": item.source, "envelope_from": item.envelope_from,
        "original_message_id": item.original_message_id, "dedup_key": key,
        "size": len(item.raw), "raw": item.raw, "received_at": now, "updated_at": now,
        "subject": item.subject, "gateway_message_id": None, "verdict": None, "severity": None,
        "decided_by": None, "decision_note": None, "escalated": False, "auto_reply": False,
        "erased_at": None,
    }
