"""The ingress contracts: special-recipient handlers and the small protocols IMAP talks to (sink, cursors)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from gateway.config import ImapSettings

__all__ = ["AcceptOutcome", "AcceptStatus", "ImapCursorStore", "ImapSettings", "IngestSink",
           "SpecialHandler"]

AcceptStatus = Literal["stored", "duplicate", "unroutable", "rejected", "tempfail"]
# A special recipient (bounce address, unsubscribe, moderation replies) answers RCPT and DATA
# itself: (envelope sender, recipient, raw message) -> SMTP reply line.
SpecialHandler = Callable[[str, str, bytes], Awaitable[str]]


@dataclass(frozen=True)
class AcceptOutcome:
    """What the gateway did with one message handed over by an ingress."""

    status: AcceptStatus
    detail: str = ""


class IngestSink(Protocol):
    """The shared accept step: stores (deduplicating) or refuses one raw message."""

    async def accept_imap(
        self, raw: bytes, *, envelope_from: str, recipients: list[str]
    ) -> AcceptOutcome:
        """stored/duplicate -> processed; unroutable/rejected -> unroutable; tempfail -> retry."""
        ...


class ImapCursorStore(Protocol):
    """Durable memory of how far the poller got in one mailbox of one account."""

    async def load_cursor(self, account: str, mailbox: str) -> tuple[int, int] | None:
        """(uidvalidity, last_uid) or None when the mailbox was never read."""
        ...

    async def save_cursor(
        self, account: str, mailbox: str, uidvalidity: int, last_uid: int
    ) -> None:
        """Remember that every message up to last_uid has been handled."""
        ...
