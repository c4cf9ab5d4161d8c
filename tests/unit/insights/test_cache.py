"""The figures cache: computed once per period of freshness, stale ones served while one refresh runs."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from gateway.clock import MovableClock
from gateway.insights.cache import FiguresCache
from gateway.insights.figures import Inputs, ProgramFigures, Window, compute

FIVE_MINUTES = timedelta(minutes=5)


async def test_a_view_is_computed_once_then_refreshed_behind_the_stale_one() -> None:
    clock = MovableClock()
    cache = FiguresCache(clock)
    calls: list[int] = []
    release = asyncio.Event()

    async def figures() -> ProgramFigures:
        calls.append(len(calls))
        if len(calls) == 2:
            await release.wait()  # a slow refresh
        pairs = [(n, "active", 0, n, None) for n in range(len(calls))]
        return compute(Inputs(pairs=pairs), Window.of(None, None, clock.now()), quiet_days=21)

    first = await cache.get("all", figures, FIVE_MINUTES)
    assert (await cache.get("all", figures, FIVE_MINUTES)) is first and calls == [0]
    clock.advance(FIVE_MINUTES)
    stale = await cache.get("all", figures, FIVE_MINUTES)  # served at once, refresh started
    assert stale is first and await cache.get("all", figures, FIVE_MINUTES) is first
    await asyncio.sleep(0)
    assert calls == [0, 1], "one refresh, however many views meanwhile"
    release.set()
    for _ in range(5):
        await asyncio.sleep(0)
    fresh = await cache.get("all", figures, FIVE_MINUTES)
    assert fresh is not first and fresh.pairs.active == 2
    assert (await cache.get("org 1", figures, FIVE_MINUTES)).pairs.active == 3  # its own key
    assert (await cache.get("all", figures, timedelta(0))).pairs.active == 4  # 0: always afresh
    await cache.close()
