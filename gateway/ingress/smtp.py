"""The SMTP listener (aiosmtpd): refuse early at RCPT, store durably, then answer 250."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from aiosmtpd.smtp import MISSING, SMTP, Envelope, Session

from gateway.ingress.accept import special_handler, store_routes
from gateway.ingress.doors import Doors
from gateway.ingress.ports import SpecialHandler
from gateway.ingress.routing import Refusal, Route, resolve_route
from gateway.ingress.smtp_data import read_data
from gateway.ingress.writer import IngestWriter
from gateway.mail.alias import normalize_address
from gateway.mail.parse import normalize_line_endings
from gateway.store.db import Database

log = logging.getLogger("gateway.smtp")

TEMPFAIL = "451 4.3.0 Temporary problem on our side; please try again later"
TOO_BIG = "552 5.3.4 Message too big for this gateway"


TOO_MANY_RECIPIENTS = "452 4.5.3 Too many recipients; please send the rest in another message"
TOO_MANY_SESSIONS = b"421 4.3.2 Too many connections right now; please try again later\r\n"

# MAIL FROM / RCPT TO as nearly every client writes them: "<local@domain>", then parameters.
_PLAIN_PATH = re.compile(r"<((?:[A-Za-z0-9_+=-]+\.)*[A-Za-z0-9_+=-]+@"
                         r"(?:[A-Za-z0-9-]+\.)*[A-Za-z0-9-]+)>(?:[ \t]+(?=[^ \t(])|$)")


def plain_path(arg: str) -> tuple[str, str] | None:
    """(address, parameters) of a plain `<local@domain>` path, as aiosmtpd's parser reads it;
    None for anything else (quoted, commented, literal or non-ASCII: left to that parser)."""
    match = _PLAIN_PATH.match(arg)
    return (match.group(1), arg[match.end():]) if match else None


class SessionGate:
    """Counts open SMTP sessions; past `limit` a new connection is told 421 and closed."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open = 0


class GatewaySMTP(SMTP):
    """aiosmtpd's protocol with enhanced status codes on its own size refusals and a session cap."""

    def __init__(self, handler: Any, *, data_size_limit: int, gate: SessionGate | None = None,
                 **kwargs: Any) -> None:
        super().__init__(handler, data_size_limit=data_size_limit, **kwargs)
        self._gate = gate
        self._counted = False
        # aiosmtpd refuses any line over 1001 octets with a permanent 500, which loses mail from
        # clients that send long lines or bare LFs (a whole message is then one "line"). The
        # rewrite re-encodes long lines and normalizes line ends, so inside DATA the size limit
        # is enough. The reader was built with the 1001 limit: commands keep it (see smtp_DATA).
        self.line_length_limit = max(SMTP.line_length_limit, data_size_limit + 2)
        self._idle_deadline = 0.0
        self._idle_timer_at: float | None = None

    def _reset_timeout(self, duration: float | None = None) -> None:
        """The idle deadline moves on at every command. aiosmtpd cancels its timer and starts
        another each time (a timer and a heap entry per command, a few per message); here one
        timer runs at a time, and when it fires before the deadline it waits for the rest."""
        deadline = self.loop.time() + (duration or self._timeout_duration)
        self._idle_deadline = deadline
        if self._idle_timer_at is not None and self._idle_timer_at <= deadline:
            return
        if self._timeout_handle is not None:
            self._timeout_handle.cancel()
        self._idle_timer_at = deadline
        self._timeout_handle = self.loop.call_at(deadline, self._idle_check)

    def _idle_check(self) -> None:
        self._idle_timer_at = None
        # a loop's timers may fire a clock tick early: within a millisecond is due
        if self._idle_deadline - self.loop.time() > 0.001:
            self._idle_timer_at = self._idle_deadline
            self._timeout_handle = self.loop.call_at(self._idle_deadline, self._idle_check)
        else:
            self._timeout_cb()

    def connection_made(self, transport: Any) -> None:
        gate = self._gate
        if gate is not None and not self._counted and self.transport is None:
            if gate.open >= gate.limit:
                transport.write(TOO_MANY_SESSIONS)
                transport.close()
                return
            gate.open += 1
            self._counted = True
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        if not self._counted and self._gate is not None and self.session is None:
            return  # refused at connection_made: aiosmtpd never set anything up
        if self._counted and self._gate is not None:
            self._gate.open -= 1
            self._counted = False
        super().connection_lost(error)

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        """aiosmtpd parses every MAIL and RCPT address with the e-mail header parser (a tenth
        of an SMTP session's CPU); a plain path is read with one regex, to the same result."""
        found = plain_path(arg)
        if found is None or (self.local_part_limit
                             and len(found[0].rpartition("@")[0]) > self.local_part_limit):
            return super()._getaddr(arg)  # type: ignore[no-any-return]
        return found

    def eof_received(self) -> bool | None:
        if self.session is None:
            return False
        return super().eof_received()

    async def smtp_DATA(self, arg: str) -> None:
        """aiosmtpd's DATA, read in chunks (see smtp_data.py); long lines are fine inside DATA."""
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 5.5.1 Error: need RCPT command")
            return
        if arg:
            await self.push("501 5.5.4 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        try:
            content = await read_data(self._reader, self.data_size_limit or 2**62)
        except asyncio.CancelledError:
            self._writer.close()
            raise
        if content is None:
            self._set_post_data_state()
            await self.push(TOO_BIG)
            return
        self.envelope.content = self.envelope.original_content = content
        status = await self._call_handler_hook("DATA")
        self._set_post_data_state()
        await self.push("250 OK" if status is MISSING else status)

    async def push(self, status: Any) -> None:
        text = status.decode() if isinstance(status, bytes) else status
        if text.startswith("552 Error"):
            text = TOO_BIG
        await super().push(text)


class GatewayHandler:
    def __init__(
        self,
        db: Database,
        writer: IngestWriter,
        *,
        domain: str,
        max_message_bytes: int,
        special: dict[str, SpecialHandler] | None = None,
        doors: Doors | None = None,
        max_recipients: int = 100,
    ) -> None:
        self._db = db
        self._writer = writer
        self._domain = domain
        self._max = max_message_bytes
        self._special = special or {}
        self._doors = doors
        self._max_recipients = max_recipients

    async def handle_exception(self, error: Exception) -> str:
        log.error("SMTP session error: %s: %s", type(error).__name__, error)
        return TEMPFAIL

    def _special_handler(self, rcpt: str) -> SpecialHandler | None:
        return special_handler(self._special, rcpt, self._domain)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if len(envelope.rcpt_tos) >= self._max_recipients:
            return TOO_MANY_RECIPIENTS
        try:
            rcpt = normalize_address(address)
            if self._special_handler(rcpt) is not None:
                if envelope.rcpt_tos:
                    return "452 4.5.3 Please send this message separately"
                envelope.special = True  # type: ignore[attr-defined]
                envelope.rcpt_tos.append(rcpt)
                return "250 2.1.5 OK"
            if getattr(envelope, "special", None):
                return "452 4.5.3 Please send this message separately"
            sender = envelope.mail_from or ""
            route = await self._db.read_rows(
                lambda c: resolve_route(c, domain=self._domain, rcpt=rcpt, envelope_from=sender)
            )
        except Exception:
            log.exception("RCPT lookup failed")
            return TEMPFAIL
        if isinstance(route, Refusal):
            # Addresses only at DEBUG: INFO lines may be shipped to a log service.
            log.info("refused a recipient: %s", route.reply[:13],
                     extra={"event": "rcpt_refused", "reply": route.reply[:13]})
            log.debug("refused RCPT %s from %s", rcpt, envelope.mail_from)
            return route.reply
        routes: list[Route] = getattr(envelope, "routes", [])
        routes.append(route)
        envelope.routes = routes  # type: ignore[attr-defined]
        envelope.rcpt_tos.append(rcpt)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        try:
            return await self._accept(envelope, session)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("could not accept message")
            return TEMPFAIL

    async def _accept(self, envelope: Envelope, session: Session) -> str:
        raw = envelope.original_content or b""
        if len(raw) > self._max:
            return TOO_BIG
        raw = normalize_line_endings(raw)
        if self._doors is not None and (refusal := self._doors.header_refusal(raw)):
            return refusal
        for rcpt in envelope.rcpt_tos:
            handler = self._special_handler(rcpt)
            if handler is not None:
                return await handler(envelope.mail_from or "", rcpt, raw)
        routes: list[Route] = getattr(envelope, "routes", [])
        peer = session.peer[0] if isinstance(session.peer, tuple) else None
        stored = await store_routes(self._writer, routes, raw, envelope.mail_from or "",
                                    source="smtp", doors=self._doors, ip=peer,
                                    helo=session.host_name or "")
        if isinstance(stored, str):
            log.info("refused DATA from %s: %s", envelope.mail_from, stored[:13])
            return stored
        numbers = ", ".join(str(mid) for mid, _dup in stored)
        return f"250 2.0.0 Queued as {numbers}"
