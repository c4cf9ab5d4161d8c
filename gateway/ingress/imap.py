"""The IMAP poller: read a catch-all mailbox and hand each message to the gateway exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Awaitable, Callable
from typing import TypeVar

from gateway.ingress.imap_client import ImapSession, ImapTrouble
from gateway.ingress.imap_envelope import recover_envelope
from gateway.ingress.ports import (
    AcceptOutcome,
    ImapCursorStore,
    ImapSettings,
    IngestSink,
)

__all__ = ["AcceptOutcome", "ImapCursorStore", "ImapPoller", "ImapSettings", "IngestSink"]

log = logging.getLogger("gateway.imap")

PROCESSED_KEYWORD = "$GatewayProcessed"
UNROUTABLE_KEYWORD = "$GatewayUnroutable"
# Servers drop clients idle for 30 minutes (RFC 2177); re-IDLE before that.
MAX_IDLE_SECONDS = 29 * 60
T = TypeVar("T")


class ConnectionDropped(ImapTrouble):
    """The server closed the connection while a command was in flight."""


class ImapPoller:
    """Poll (or IDLE on) one mailbox; survive server restarts; never lose or double a message.

    `on_event` receives one short string per step ("connected", "processed 7",
    "unroutable 8", "tempfail 9", "idle", "disconnected") so tests await progress instead of
    sleeping.
    """

    def __init__(
        self,
        settings: ImapSettings,
        password: str,
        sink: IngestSink,
        cursors: ImapCursorStore,
        *,
        on_event: Callable[[str], None] | None = None,
        ssl_context: ssl.SSLContext | None = None,
        backoff_initial: float = 1.0,
        backoff_max: float = 60.0,
    ) -> None:
        self.settings = settings
        self._password = password
        self._sink = sink
        self._cursors = cursors
        self._on_event = on_event
        self._ssl_context = ssl_context
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._session: ImapSession | None = None
        self._settled = 0  # messages moved or flagged by the last pass (tempfails excluded)

    @property
    def account(self) -> str:
        return f"{self.settings.username}@{self.settings.host}:{self.settings.port}"

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop` is set: read, wait for news, repeat; reconnect with capped backoff."""
        backoff = self._backoff_initial
        try:
            while not stop.is_set():
                try:
                    await self._guarded(self._connect())
                    backoff = self._backoff_initial
                    await self._guarded(self._serve(stop))
                except Exception as exc:  # server trouble of any kind: pause, then reconnect
                    await self._drop_session()
                    self._emit("disconnected")
                    log.warning(
                        "IMAP %s:%s unavailable (%s); reconnecting in %.1fs",
                        self.settings.host, self.settings.port, _reason(exc), backoff,
                    )
                    await _wait_or_stop(stop, backoff)
                    backoff = min(backoff * 2, self._backoff_max)
        finally:
            await self._drop_session()

    async def poll_once(self) -> int:
        """One pass over the mailbox (connecting if needed); returns messages handed to the sink."""
        await self._guarded(self._connect())
        return await self._guarded(self._pass())

    async def close(self) -> None:
        await self._drop_session()

    async def _connect(self) -> None:
        if self._session is not None and not self._session.lost.is_set():
            return
        await self._drop_session()
        self._session = await ImapSession.open(self.settings, self._password, self._ssl_context)
        for mailbox in (self.settings.processed_mailbox, self.settings.unroutable_mailbox):
            await self._session.ensure_mailbox(mailbox)
        self._emit("connected")

    async def _serve(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self._pass()
            # Mail that arrived during a pass was announced (EXISTS) before IDLE began, and IDLE
            # does not announce it again: look once more before waiting, until a pass settles nothing.
            if self._settled == 0:
                await self._wait_for_news(stop)

    async def _pass(self) -> int:
        session = self._require_session()
        mailbox = self.settings.mailbox
        uidvalidity = await session.select(mailbox)
        cursor = await self._cursors.load_cursor(self.account, mailbox)
        # A new UIDVALIDITY means old UIDs mean nothing: start again from UID 1; the sink's
        # dedup turns messages already stored into "duplicate".
        last_uid = cursor[1] if cursor is not None and cursor[0] == uidvalidity else 0
        handed = 0
        self._settled = 0
        advancing = True
        for uid in await session.uids_after(last_uid, skip_keywords=self._flag_keywords()):
            status = await self._handle(session, uid)
            handed += status != "vanished"
            self._settled += status in ("processed", "unroutable")
            if status == "tempfail":
                # Keep the cursor below a message left for retry; later ones are still
                # handled now and, once moved or flagged, are not searched again.
                advancing = False
            elif advancing:
                await self._cursors.save_cursor(self.account, mailbox, uidvalidity, uid)
        return handed

    async def _handle(self, session: ImapSession, uid: int) -> str:
        raw = await session.fetch(uid)
        if raw is None:
            return "vanished"
        envelope = recover_envelope(raw)
        outcome = await self._accept(raw, envelope.envelope_from, envelope.recipients, uid)
        if outcome.status in ("stored", "duplicate"):
            await self._file(session, uid, self.settings.processed_mailbox, PROCESSED_KEYWORD)
            self._emit(f"processed {uid}")
            return "processed"
        if outcome.status in ("unroutable", "rejected"):
            await self._file(session, uid, self.settings.unroutable_mailbox, UNROUTABLE_KEYWORD)
            self._emit(f"unroutable {uid}")
            return "unroutable"
        self._emit(f"tempfail {uid}")
        return "tempfail"

    async def _accept(
        self, raw: bytes, envelope_from: str, recipients: list[str], uid: int
    ) -> AcceptOutcome:
        # Shielded: a dropped IMAP connection must not cancel a store halfway through.
        accepting = asyncio.ensure_future(
            self._sink.accept_imap(raw, envelope_from=envelope_from, recipients=recipients)
        )
        try:
            return await asyncio.shield(accepting)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a sink bug must not stop the mailbox; retry next pass
            log.error("IMAP message uid %s not accepted: %s", uid, type(exc).__name__)
            return AcceptOutcome("tempfail", type(exc).__name__)

    async def _file(self, session: ImapSession, uid: int, mailbox: str, keyword: str) -> None:
        if mailbox:
            await session.move(uid, mailbox)
        else:
            await session.add_flags(uid, "\\Seen", keyword)

    def _flag_keywords(self) -> tuple[str, ...]:
        keywords = []
        if not self.settings.processed_mailbox:
            keywords.append(PROCESSED_KEYWORD)
        if not self.settings.unroutable_mailbox:
            keywords.append(UNROUTABLE_KEYWORD)
        return tuple(keywords)

    async def _wait_for_news(self, stop: asyncio.Event) -> None:
        session = self._require_session()
        interval = max(self.settings.poll_interval, 0.01)
        if not (self.settings.idle and session.has("IDLE")):
            await _wait_or_stop(stop, interval)
            return
        # IDLE no longer than poll_interval, so messages left on tempfail are retried.
        idle = await session.start_idle(timeout=min(interval, MAX_IDLE_SECONDS))
        self._emit("idle")
        push = asyncio.ensure_future(session.wait_push(timeout=interval + 5))
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({push, stopping, idle}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            push.cancel()
            stopping.cancel()
        await session.end_idle(idle)

    async def _guarded(self, work: Awaitable[T]) -> T:
        """Run `work`, but give up as soon as the connection drops (aioimaplib would wait)."""
        task = asyncio.ensure_future(work)
        session = self._session
        if session is None:
            return await task
        lost = asyncio.ensure_future(session.lost.wait())
        try:
            await asyncio.wait({task, lost}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            task.cancel()
            raise
        finally:
            lost.cancel()
        if task.done():
            return task.result()
        task.cancel()
        raise ConnectionDropped("connection closed by server")

    def _require_session(self) -> ImapSession:
        if self._session is None:
            raise ImapTrouble("not connected")
        return self._session

    async def _drop_session(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.logout()

    def _emit(self, event: str) -> None:
        if self._on_event is not None:
            self._on_event(event)


async def _wait_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


def _reason(exc: BaseException) -> str:
    text = str(exc).splitlines()[0][:160] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
