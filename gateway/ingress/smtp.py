"""The SMTP listener (aiosmtpd): refuse early at RCPT, store durably, then answer 250."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from gateway.ingress.accept import FROM_MISMATCH, special_handler, store_routes
from gateway.ingress.ports import SpecialHandler
from gateway.ingress.routing import Refusal, Route, resolve_route
from gateway.ingress.writer import IngestWriter
from gateway.mail.alias import normalize_address
from gateway.mail.parse import normalize_line_endings
from gateway.store.db import Database

log = logging.getLogger("gateway.smtp")

TEMPFAIL = "451 4.3.0 Temporary problem on our side; please try again later"
TOO_BIG = "552 5.3.4 Message too big for this gateway"


class GatewaySMTP(SMTP):
    """aiosmtpd's protocol with enhanced status codes on its own size refusals."""

    def __init__(self, handler: Any, *, data_size_limit: int, **kwargs: Any) -> None:
        super().__init__(handler, data_size_limit=data_size_limit, **kwargs)
        # aiosmtpd refuses any line over 1001 octets with a permanent 500, which loses mail from
        # clients that send long lines or bare LFs (a whole message is then one "line"). The
        # rewrite re-encodes long lines and normalizes line ends, so inside DATA the size limit
        # is enough. The reader was built with the 1001 limit: commands keep it (see smtp_DATA).
        self.line_length_limit = max(SMTP.line_length_limit, data_size_limit + 2)

    async def smtp_DATA(self, arg: str) -> None:
        # Only during DATA, after RCPT was accepted, may a line be long: a stranger's commands
        # cannot make us buffer megabytes.
        reader = self._reader
        reader._limit = self.line_length_limit  # type: ignore[attr-defined]
        try:
            await super().smtp_DATA(arg)
        finally:
            reader._limit = SMTP.line_length_limit  # type: ignore[attr-defined]

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
    ) -> None:
        self._db = db
        self._writer = writer
        self._domain = domain
        self._max = max_message_bytes
        self._special = special or {}

    async def handle_exception(self, error: Exception) -> str:
        log.error("SMTP session error: %s: %s", type(error).__name__, error)
        return TEMPFAIL

    def _special_handler(self, rcpt: str) -> SpecialHandler | None:
        return special_handler(self._special, rcpt, self._domain)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
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
            route = await self._db.read(
                lambda s: resolve_route(s, domain=self._domain, rcpt=rcpt, envelope_from=sender)
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
            return await self._accept(envelope)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("could not accept message")
            return TEMPFAIL

    async def _accept(self, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        if len(raw) > self._max:
            return TOO_BIG
        raw = normalize_line_endings(raw)
        for rcpt in envelope.rcpt_tos:
            handler = self._special_handler(rcpt)
            if handler is not None:
                return await handler(envelope.mail_from or "", rcpt, raw)
        routes: list[Route] = getattr(envelope, "routes", [])
        stored = await store_routes(self._writer, routes, raw, envelope.mail_from or "", source="smtp")
        if stored is None:
            return FROM_MISMATCH
        numbers = ", ".join(str(mid) for mid, _dup in stored)
        return f"250 2.0.0 Queued as {numbers}"
