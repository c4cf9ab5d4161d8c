"""The IMAP ingress contracts: its settings and the small protocols it talks to (sink, cursor store)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

AcceptStatus = Literal["stored", "duplicate", "unroutable", "rejected", "tempfail"]


@dataclass(frozen=True)
class ImapSettings:
    """The `[imap]` section of config.toml (built by gateway.config)."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 993
    security: Literal["tls", "starttls", "none"] = "tls"
    username: str = ""
    password_env: str = "GATEWAY_IMAP_PASSWORD"
    mailbox: str = "INBOX"
    # Empty: leave handled mail in place, flagged \Seen + $GatewayProcessed.
    processed_mailbox: str = "Processed"
    unroutable_mailbox: str = "Unroutable"
    idle: bool = True
    poll_interval: float = 60.0


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
