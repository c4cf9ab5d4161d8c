"""Computed figures kept for a few minutes: a stale view is served while one refresh runs behind it.

A year of a 25,000-pair program costs about a second of database work on SQLite (answers are a
window over every message); coordinators do not need the figures to the second, so each view
(scope, period, quiet days) is computed at most once per `max_age`, and the default views are
computed ahead of time (see web/server.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta

from gateway.clock import Clock
from gateway.insights.figures import ProgramFigures

log = logging.getLogger("gateway.insights")
MAX_ENTRIES = 256


@dataclass
class _Entry:
    figures: ProgramFigures
    computed_at: datetime


class FiguresCache:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._refreshing: dict[Hashable, asyncio.Task[None]] = {}

    async def get(self, key: Hashable, compute: Callable[[], Awaitable[ProgramFigures]],
                  max_age: timedelta) -> ProgramFigures:
        """The figures of `key`: computed now when unknown (or max_age is 0), else the stored
        ones, with one refresh started behind them once they are max_age old."""
        entry = self._entries.get(key)
        if entry is None or max_age <= timedelta(0):
            return await self._store(key, compute)
        self._entries.move_to_end(key)
        if self._clock.now() - entry.computed_at >= max_age and key not in self._refreshing:
            self._refreshing[key] = asyncio.create_task(self._refresh(key, compute))
        return entry.figures

    async def warm(self, key: Hashable, compute: Callable[[], Awaitable[ProgramFigures]]) -> None:
        """Compute now, whatever the cache holds (the periodic warm-up of default views)."""
        await self._store(key, compute)

    async def _store(self, key: Hashable,
                     compute: Callable[[], Awaitable[ProgramFigures]]) -> ProgramFigures:
        started = self._clock.now()
        figures = await compute()
        self._entries[key] = _Entry(figures, started)
        self._entries.move_to_end(key)
        while len(self._entries) > MAX_ENTRIES:
            self._entries.popitem(last=False)
        return figures

    async def _refresh(self, key: Hashable,
                       compute: Callable[[], Awaitable[ProgramFigures]]) -> None:
        try:
            await self._store(key, compute)
        except Exception:  # the stale figures stay; the next view tries again
            log.exception("refreshing program figures failed")
        finally:
            self._refreshing.pop(key, None)

    async def close(self) -> None:
        for task in list(self._refreshing.values()):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
