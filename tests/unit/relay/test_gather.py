"""The processor's gathering wait: mail arriving while it waits is checked and written together."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from sqlmodel import col, select

from gateway.app import App
from gateway.clock import MovableClock
from gateway.ingress.routing import Route, resolve_route
from gateway.ingress.writer import Incoming
from gateway.relay.checking import Checked, Job
from gateway.store.models import Message
from tests.unit.conftest import Program, letter
from tests.unit.relay.test_processor import MENTOR


async def _send(app: App, program: Program, body: str) -> None:
    """As the SMTP listener stores a message: route, then the ingest writer (which wakes the
    processor)."""
    alias = program.pair.mentee_alias
    route = await app.db.read(lambda s: resolve_route(s, domain=app.settings.gateway.domain,
                                                      rcpt=alias, envelope_from=MENTOR))
    assert isinstance(route, Route), route
    raw = letter(f"Marie Mentor <{MENTOR}>", alias, body).replace(
        b"<m1@client.example.org>", f"<{abs(hash(body))}@client.example.org>".encode())
    await app.writer.store(Incoming(route, raw, MENTOR, None, "Bonjour"))


def _gateway(program: Program, clock: MovableClock, gather_ms: int,
             sleep: Callable[[float], Awaitable[None]]
             ) -> tuple[App, list[int], asyncio.Event, asyncio.Event]:
    """An app whose processor runs in the background, telling the sizes of the batches it
    checks, when it has handled something, and when it has first looked (found nothing: a
    test sends after that, else that first look may race it)."""
    settings = program.settings.replace(processing={"workers": 0, "gather_ms": gather_ms})
    app = App(settings, clock=clock, sleep=sleep, transports=[])
    batches: list[int] = []
    handled, looked = asyncio.Event(), asyncio.Event()
    check_jobs, process_once = app.checker.check_jobs, app.process_once

    def counting(jobs: list[Job]) -> list[Checked]:
        batches.append(len(jobs))
        return check_jobs(jobs)

    async def telling() -> int:
        done = await process_once()
        looked.set()
        if done:
            handled.set()
        return done

    app.checker.check_jobs = counting  # type: ignore[method-assign]
    app.process_once = telling  # type: ignore[method-assign]
    return app, batches, handled, looked


async def _states(app: App) -> list[str]:
    return await app.db.read(lambda s: list(s.exec(select(Message.state).order_by(col(Message.id)))))


async def test_a_message_arriving_during_the_wait_joins_the_batch(program: Program,
                                                                  clock: MovableClock) -> None:
    waits: list[float] = []
    arrivals: list[asyncio.Task[None]] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 1:  # a second sender's message comes in while the processor waits
            arrivals.append(asyncio.create_task(_send(app, program, "Et voici la suite du plan.")))
            await arrivals[0]

    app, batches, handled, looked = _gateway(program, clock, 15, sleep)
    await app.start()
    await asyncio.wait_for(looked.wait(), 30)
    try:
        await _send(app, program, "Bonjour Léa, voici le plan de la semaine.")
        await asyncio.wait_for(handled.wait(), 30)
        states = await _states(app)
    finally:
        await app.stop()
    assert waits[0] == 0.015
    assert batches[0] == 2, batches  # one check, one write transaction for both
    assert states == ["queued", "queued"]


async def test_without_a_wait_each_message_goes_at_once(program: Program,
                                                        clock: MovableClock) -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    app, batches, handled, looked = _gateway(program, clock, 0, sleep)
    await app.start()
    await asyncio.wait_for(looked.wait(), 30)
    try:
        await _send(app, program, "Bonjour Léa, voici le plan de la semaine.")
        await asyncio.wait_for(handled.wait(), 30)
        handled.clear()
        await _send(app, program, "Et voici la suite du plan.")
        await asyncio.wait_for(handled.wait(), 30)
        states = await _states(app)
    finally:
        await app.stop()
    assert waits == []
    assert batches[:2] == [1, 1]
    assert states == ["queued", "queued"]


async def test_mail_that_came_during_a_step_waits_for_the_next_too(program: Program,
                                                                    clock: MovableClock) -> None:
    """At a moderate rate one message comes while a batch is checked: taken at once, every
    message would go alone again."""
    waits: list[float] = []
    loop = asyncio.get_running_loop()

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 2:  # while the processor waits after the first batch, a third message
            await _send(app, program, "Troisième message : la liste des écoles.")

    app, batches, handled, looked = _gateway(program, clock, 15, sleep)
    first_check = app.checker.check_jobs

    def checking(jobs: list[Job]) -> list[Checked]:
        if not batches:  # the first batch is being checked: a second message is stored
            asyncio.run_coroutine_threadsafe(
                _send(app, program, "Et voici la suite du plan."), loop).result(30)
        return first_check(jobs)

    app.checker.check_jobs = checking  # type: ignore[method-assign]
    await app.start()
    await asyncio.wait_for(looked.wait(), 30)
    try:
        await _send(app, program, "Bonjour Léa, voici le plan de la semaine.")
        for _ in range(2):
            await asyncio.wait_for(handled.wait(), 30)
            handled.clear()
            if sum(batches) >= 3:
                break
        states = await _states(app)
    finally:
        await app.stop()
    assert len(waits) >= 2 and all(wait == 0.015 for wait in waits)
    assert batches[:2] == [1, 2], batches  # the second and third message went together
    assert states == ["queued", "queued", "queued"]
