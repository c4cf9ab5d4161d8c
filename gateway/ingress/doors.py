"""The checks every arriving message passes before it is stored (SMTP and IMAP alike): header
limits, renderability, sender authentication; a bound on how many are checked at once."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from gateway.config import Settings
from gateway.ingress.authentication import authenticate, strip_authentication_results
from gateway.ingress.limits import header_refusal, parsed_refusal, render_refusal, render_scan
from gateway.ingress.routing import Route

# Up to this size the render scan (~2 ms a MiB) runs on the event loop: a thread hop cost more
# than scanning a usual message; the parse it may call for still runs in a thread.
INLINE_SCAN_BYTES = 128 * 1024


@dataclass(frozen=True)
class DoorOutcome:
    reply: str | None  # an SMTP refusal (4xx/5xx), or None: store it
    raw: bytes  # what to store: untrusted Authentication-Results removed
    hold_hits: tuple[dict[str, object], ...] = ()


class Doors:
    def __init__(self, settings: Settings) -> None:
        self._auth = settings.authentication
        self._limits = settings.limits
        self._in_flight = asyncio.Semaphore(settings.limits.max_messages_in_flight)

    def header_refusal(self, raw: bytes) -> str | None:
        return header_refusal(raw, max_count=self._limits.max_header_count,
                              max_bytes=self._limits.max_header_bytes)

    def slot(self) -> asyncio.Semaphore:
        """`async with doors.slot():` at most [limits] max_messages_in_flight messages are
        checked and stored at once: the rest wait here (their senders see a slower answer, the
        gateway keeps its memory). The semaphore itself: no generator per message."""
        return self._in_flight

    async def check(self, raw: bytes, routes: Sequence[Route], *, envelope_from: str,
                    ip: str | None, helo: str) -> DoorOutcome:
        refusal = await _render_refusal(raw)
        if refusal:
            return DoorOutcome(refusal, raw)
        trusted_id = self._auth.trust_authserv_id if self._auth.mode == "trust" else ""
        raw, trusted = strip_authentication_results(raw, trusted_id)
        sender = routes[0].sender_email
        decision = await authenticate(
            raw, self._auth, from_domain=sender.rpartition("@")[2], mail_from=envelope_from,
            ip=ip, helo=helo, to_minor=any(r.recipient_minor for r in routes), trusted=trusted)
        if decision.action in ("refuse", "tempfail"):
            return DoorOutcome(decision.reply, raw)
        hits = (decision.hold_hit(),) if decision.action == "hold" else ()
        return DoorOutcome(None, raw, hits)


async def _render_refusal(raw: bytes) -> str | None:
    """limits.render_refusal, off the loop for what costs: a large message, or a parse."""
    if len(raw) > INLINE_SCAN_BYTES:
        return await asyncio.to_thread(render_refusal, raw)
    refusal, must_parse = render_scan(raw)
    return await asyncio.to_thread(parsed_refusal, raw) if must_parse else refusal
