"""A recording SMTP smarthost for end-to-end tests: accepts, records, and misbehaves on request.

Runs aiosmtpd on its own event loop in its own thread (so it works with any pytest-asyncio loop
and with blocking clients), on 127.0.0.1 and an ephemeral port that stays the same across
`down()` / `up()`.

Scripting (what the next messages get), each reply is a full SMTP reply line or a keyword:
    smarthost.script("451 4.3.0 try later", "451 4.3.0 try later", "250")  # then default
    smarthost.always("550 5.1.1 no such user")            # every message from now on
    smarthost.always("550 5.1.1 no such user", stage="rcpt")  # refuse at RCPT TO instead
    smarthost.hang()         # never answer DATA (the client must time out)
    smarthost.script("disconnect")  # drop the connection instead of answering DATA
    smarthost.down(); smarthost.up()  # refuse connections, then listen again on the same port
    smarthost.drop_connections()      # the server closes every open session (idle timeout)
It offers PIPELINING (RFC 2920) as real smarthosts do, unless made with `pipelining=False`.
Only messages answered with a 2xx reply are recorded.
"""

from __future__ import annotations

import asyncio
import collections
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

Stage = Literal["rcpt", "data"]
HANG = "hang"
DISCONNECT = "disconnect"
HANG_SECONDS = 3600.0
DEFAULT_WAIT = 10.0


@dataclass(frozen=True)
class Recorded:
    envelope_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    connection: int  # 1 for the first connection the smarthost ever accepted, 2 for the next...


def _full_reply(reply: str) -> str:
    """"250" -> "250 OK": a bare code is a valid reply, but a text helps when reading logs."""
    reply = reply.strip()
    return f"{reply} OK" if reply.isdigit() else reply


class _RecordingSMTP(SMTP):
    """aiosmtpd's protocol, telling the smarthost when a connection opens and closes."""

    def __init__(self, owner: Smarthost, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._owner = owner
        self.connection_number = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        first_time = self.transport is None  # STARTTLS calls this again on the same connection
        super().connection_made(transport)
        if first_time:
            self.connection_number = self._owner._opened(self)

    def connection_lost(self, error: Exception | None) -> None:
        self._owner._closed(self)
        super().connection_lost(error)


class _Handler:
    def __init__(self, owner: Smarthost) -> None:
        self._owner = owner

    async def handle_EHLO(self, server: SMTP, session: Session, envelope: Envelope,
                          hostname: str, responses: list[str]) -> list[str]:
        session.host_name = hostname
        if self._owner.pipelining:  # aiosmtpd reads pipelined commands; it just never says so
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        reply = self._owner._next_reply("rcpt")
        if reply is None or reply.startswith("2"):
            envelope.rcpt_tos.append(address)
            return _full_reply(reply or "250 OK")
        return await self._misbehave(server, reply)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self._owner._count_data()
        reply = self._owner._next_reply("data") or "250 2.0.0 OK: queued"
        if not reply.startswith("2"):
            return await self._misbehave(server, reply)
        assert isinstance(server, _RecordingSMTP)
        content = envelope.original_content
        if content is None:
            content = envelope.content if isinstance(envelope.content, bytes) else b""
        self._owner._record(Recorded(envelope.mail_from or "", tuple(envelope.rcpt_tos),
                                     content, server.connection_number))
        return _full_reply(reply)

    async def _misbehave(self, server: SMTP, reply: str) -> str:
        if reply == HANG:
            await asyncio.sleep(HANG_SECONDS)  # cancelled when the client or the test goes away
        if reply in (HANG, DISCONNECT):
            if server.transport is not None:
                server.transport.close()
            return "421 4.4.2 closing"  # never reaches the client: the socket is gone
        return _full_reply(reply)


class Smarthost:
    """Start with `start()`, stop with `stop()`; or use the `smarthost` fixture."""

    def __init__(self, *, host: str = "127.0.0.1", smtputf8: bool = True,
                 tls_context: ssl.SSLContext | None = None,
                 credentials: dict[str, str] | None = None, pipelining: bool = True) -> None:
        """`tls_context` offers STARTTLS (and then requires it); `credentials` requires AUTH."""
        self.host = host
        self.pipelining = pipelining
        self.port = 0
        self._smtputf8 = smtputf8
        self._tls_context = tls_context
        self._credentials = credentials
        self.authenticated: list[str] = []  # logins that succeeded, in order
        self._condition = threading.Condition()
        self._recorded: list[Recorded] = []
        self._scripts: dict[str, collections.deque[str]] = {
            "rcpt": collections.deque(), "data": collections.deque()}
        self._defaults: dict[str, str | None] = {"rcpt": None, "data": None}
        self._connections_total = 0
        self._data_commands = 0
        self._live: set[_RecordingSMTP] = set()
        self._handler = _Handler(self)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.AbstractServer | None = None

    # ----- lifecycle (called from the test's thread) -----
    def start(self) -> Smarthost:
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            loop.run_forever()

        self._loop = loop
        self._thread = threading.Thread(target=run, name="smarthost", daemon=True)
        self._thread.start()
        ready.wait()
        self.up()
        return self

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
        self._loop = None
        self._thread = None

    def up(self) -> None:
        """Listen (again) on the same port; the first call picks an ephemeral one."""
        self._call(self._listen())

    def down(self) -> None:
        """Stop listening and drop every open session: new connects are refused."""
        self._call(self._unlisten())

    def drop_connections(self) -> None:
        """Close every open session, as a server does with idle clients (421, then close)."""
        self._call(self._close_sessions(farewell=b"421 4.4.2 idle timeout, closing\r\n"))

    # ----- scripting -----
    def script(self, *replies: str, stage: Stage = "data") -> None:
        """The next messages get these replies, in order; then the default applies again."""
        with self._condition:
            self._scripts[stage].extend(replies)

    def always(self, reply: str | None, *, stage: Stage = "data") -> None:
        """Answer this to every message (after any script); None restores plain 250."""
        with self._condition:
            self._defaults[stage] = reply

    def hang(self) -> None:
        self.always(HANG)

    def reset(self) -> None:
        """Back to accepting everything; recorded messages are kept."""
        with self._condition:
            for stage in ("rcpt", "data"):
                self._scripts[stage].clear()
                self._defaults[stage] = None

    # ----- observing -----
    @property
    def messages(self) -> list[Recorded]:
        with self._condition:
            return list(self._recorded)

    @property
    def connections(self) -> int:
        """How many TCP connections were ever accepted."""
        with self._condition:
            return self._connections_total

    @property
    def open_connections(self) -> int:
        with self._condition:
            return len(self._live)

    @property
    def data_commands(self) -> int:
        """How many messages reached DATA, accepted or not."""
        with self._condition:
            return self._data_commands

    def clear(self) -> None:
        with self._condition:
            self._recorded.clear()

    def wait_for(self, count: int, timeout: float = DEFAULT_WAIT) -> list[Recorded]:
        """Block until at least `count` messages were recorded; AssertionError after `timeout`.

        Blocking: from an async test whose gateway runs on the test's loop, use `wait_for_async`.
        """
        with self._condition:
            arrived = self._condition.wait_for(lambda: len(self._recorded) >= count, timeout)
            if not arrived:
                raise AssertionError(f"smarthost: expected {count} message(s) within {timeout}s, "
                                     f"got {len(self._recorded)}")
            return list(self._recorded)

    async def wait_for_async(self, count: int, timeout: float = DEFAULT_WAIT) -> list[Recorded]:
        return await asyncio.to_thread(self.wait_for, count, timeout)

    # ----- called on the smarthost's loop -----
    def _next_reply(self, stage: Stage) -> str | None:
        with self._condition:
            if self._scripts[stage]:
                return self._scripts[stage].popleft()
            return self._defaults[stage]

    def _record(self, item: Recorded) -> None:
        with self._condition:
            self._recorded.append(item)
            self._condition.notify_all()

    def _count_data(self) -> None:
        with self._condition:
            self._data_commands += 1

    def _opened(self, session: _RecordingSMTP) -> int:
        with self._condition:
            self._connections_total += 1
            self._live.add(session)
            return self._connections_total

    def _closed(self, session: _RecordingSMTP) -> None:
        with self._condition:
            self._live.discard(session)

    def _protocol(self) -> _RecordingSMTP:
        auth: dict[str, Any] = {}
        if self._credentials is not None:
            auth = {"auth_required": True, "authenticator": self._authenticate,
                    "auth_require_tls": self._tls_context is not None}
        return _RecordingSMTP(self, self._handler, enable_SMTPUTF8=self._smtputf8,
                              hostname="smarthost.test", loop=self._loop,
                              tls_context=self._tls_context,
                              require_starttls=self._tls_context is not None, **auth)

    def _authenticate(self, server: SMTP, session: Session, envelope: Envelope,
                      mechanism: str, auth_data: Any) -> AuthResult:
        if not isinstance(auth_data, LoginPassword) or self._credentials is None:
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode(errors="replace")
        password = auth_data.password.decode(errors="replace")
        if self._credentials.get(login) != password:
            return AuthResult(success=False, handled=False)
        with self._condition:
            self.authenticated.append(login)
        return AuthResult(success=True)

    async def _listen(self) -> None:
        if self._server is not None:
            return
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._protocol, self.host, self.port,
                                                reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _unlisten(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        await self._close_sessions(farewell=None)
        if server is not None:
            await server.wait_closed()

    async def _close_sessions(self, farewell: bytes | None) -> None:
        with self._condition:
            sessions = list(self._live)
        for session in sessions:
            if session.transport is not None:
                if farewell is not None:
                    session.transport.write(farewell)  # type: ignore[attr-defined]
                session.transport.close()
        await asyncio.sleep(0)  # let connection_lost run

    async def _shutdown(self) -> None:
        await self._unlisten()
        current = asyncio.current_task()
        pending = [task for task in asyncio.all_tasks() if task is not current]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    def _call(self, coroutine: Any) -> Any:
        assert self._loop is not None, "smarthost is not started"
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)


@pytest.fixture
def smarthost() -> Iterator[Smarthost]:
    """A started recording smarthost on 127.0.0.1; `.port`, `.script(...)`, `.wait_for(n)`."""
    host = Smarthost().start()
    try:
        yield host
    finally:
        host.stop()
