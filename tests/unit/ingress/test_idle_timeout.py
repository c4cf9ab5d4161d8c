"""An SMTP session idle for the timeout is closed; one that keeps talking is not, however long."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from gateway.ingress.smtp import GatewaySMTP


class Timer:
    def __init__(self, when: float, callback: Any) -> None:
        self.when, self.callback, self.cancelled = when, callback, False

    def cancel(self) -> None:
        self.cancelled = True


class Clock:
    """The loop as the idle timer sees it: a time we move, and the timers it asked for."""

    def __init__(self) -> None:
        self.now = 0.0
        self.timers: list[Timer] = []

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback: Any) -> Timer:
        self.timers.append(Timer(when, callback))
        return self.timers[-1]

    def run_until(self, moment: float) -> None:
        """Fire the due timers in order, as a loop would, up to `moment`."""
        while due := sorted((t for t in self.timers if not t.cancelled and t.when <= moment),
                            key=lambda t: t.when):
            timer = due[0]
            self.now = timer.when
            self.timers.remove(timer)
            timer.callback()
        self.now = moment


def session(clock: Clock, closed: list[float]) -> GatewaySMTP:
    loop = asyncio.new_event_loop()
    try:
        smtp = GatewaySMTP(object(), data_size_limit=1000, loop=loop, timeout=300)
    finally:
        loop.close()
    smtp.loop = clock  # type: ignore[assignment]
    smtp._timeout_cb = lambda: closed.append(clock.now)  # type: ignore[method-assign]
    return smtp


def test_the_deadline_moves_with_every_command_and_one_timer_runs() -> None:
    clock, closed = Clock(), []
    smtp = session(clock, closed)
    smtp._reset_timeout()  # connected at 0
    for moment in (100.0, 200.0, 250.0):  # a command now and then: the session is busy
        clock.run_until(moment)
        smtp._reset_timeout()
    assert len(clock.timers) == 1, "no new timer per command"
    clock.run_until(549.0)
    assert closed == [], "busy until 250: 300 s idle is 550"
    clock.run_until(560.0)
    assert closed == [550.0]


def test_a_shorter_timeout_after_a_longer_one_is_kept() -> None:
    clock, closed = Clock(), []
    smtp = session(clock, closed)
    smtp._reset_timeout()  # 300 s
    clock.run_until(10.0)
    smtp._reset_timeout(5.0)  # e.g. aiosmtpd's PROXY handshake timeout
    clock.run_until(16.0)
    assert closed == [15.0]


def test_a_timer_a_tick_early_does_not_spin_or_close_too_soon() -> None:
    clock, closed = Clock(), []
    smtp = session(clock, closed)
    smtp._reset_timeout()
    clock.now = 299.9995  # the loop fired its timer within a millisecond of the deadline
    clock.timers.pop().callback()
    assert closed == [299.9995] and clock.timers == []
    clock2, closed2 = Clock(), []
    smtp2 = session(clock2, closed2)
    smtp2._reset_timeout()
    clock2.now = 299.0  # fired a second early: waits for the rest
    clock2.timers.pop().callback()
    assert closed2 == [] and [t.when for t in clock2.timers] == [300.0]


async def test_on_a_socket_an_idle_session_is_closed_and_a_talking_one_is_not() -> None:
    class Handler:
        pass

    server = await asyncio.get_running_loop().create_server(
        lambda: GatewaySMTP(Handler(), data_size_limit=1000, timeout=0.4), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert (await reader.readline()).startswith(b"220")
        started = time.monotonic()
        while time.monotonic() - started < 1.2:  # three timeouts long, a command every 0.1 s
            writer.write(b"NOOP\r\n")
            assert (await reader.readline()).startswith(b"250"), "still open while talking"
            await asyncio.sleep(0.1)
        quiet = time.monotonic()
        assert await asyncio.wait_for(reader.read(), timeout=5) == b"", "closed once idle"
        assert 0.3 <= time.monotonic() - quiet < 3.0
        writer.close()
    finally:
        server.close()
        await server.wait_closed()
