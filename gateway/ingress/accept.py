"""The accept step SMTP and IMAP share: find special recipients, check the visible From, store each route."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from typing import Any

from gateway.ingress.doors import Doors
from gateway.ingress.from_header import sole_mailbox
from gateway.ingress.header_fields import header_block, simple_fields
from gateway.ingress.ports import SpecialHandler
from gateway.ingress.routing import Route
from gateway.ingress.writer import Incoming, IngestWriter
from gateway.mail.alias import normalize_address, split_address
from gateway.mail.parse import header_message_ids
from gateway.mail.text import FAST_DEFAULT_POLICY

FROM_MISMATCH = (
    "550 5.7.1 The From header of your message must hold exactly one address, the one registered"
    " for you in the mentoring program; your message was not delivered"
)

MAX_ID_LENGTH = 998  # Message.original_message_id, MessageIdMap.original_id


@dataclass(frozen=True)
class HeaderFacts:
    """What the accept step needs from a message's headers."""

    from_address: str | None
    message_id: str | None
    subject: str | None


def read_headers(raw: bytes) -> HeaderFacts:
    """From, Message-ID and Subject; a plain header block is read without the e-mail parser."""
    head = header_block(raw)
    fields = simple_fields(head)
    facts = _plain_facts(fields) if fields is not None else None
    return facts if facts is not None else parsed_headers(head)


def parsed_headers(head: bytes) -> HeaderFacts:
    """read_headers through the e-mail parser (the reference the plain reading must equal)."""
    # Only the header block: the parser would otherwise decode (copy) a 20 MiB body for nothing.
    headers = BytesHeaderParser(policy=FAST_DEFAULT_POLICY).parsebytes(head + b"\r\n")
    return _facts(_sole_from_address(headers), _header(headers, "Message-ID"),
                  _header(headers, "Subject"))


def _plain_facts(fields: list[tuple[str, str]]) -> HeaderFacts | None:
    """The facts from simple_fields, or None when a Message-ID or Subject is not plain (the
    parser decodes it)."""
    froms: list[str] = []
    first: dict[str, str] = {}
    for name, value in fields:
        lower = name.lower()
        if lower == "from":
            froms.append(value)
        elif lower in _PLAIN_VALUE and lower not in first:
            first[lower] = value
    values: list[str | None] = []
    for lower in ("message-id", "subject"):
        written = first.get(lower)
        plain = _plain_value(lower, written) if written is not None else None
        if written is not None and plain is None:
            return None
        values.append(plain)
    return _facts(sole_mailbox(froms), values[0], values[1])


def _facts(from_address: str | None, message_id: str | None, subject: str | None) -> HeaderFacts:
    # An id longer than its column would fail every insert (451 forever on PostgreSQL); such an
    # id cannot thread anyway, so the message is kept without it (dedup falls back to its bytes).
    ids = [i for i in header_message_ids(message_id) if len(i) <= MAX_ID_LENGTH]
    return HeaderFacts(from_address=from_address, message_id=ids[0] if ids else None,
                       subject=subject[:500] if subject else None)


def from_matches_sender(facts: HeaderFacts, route: Route) -> bool:
    """The partner sees the From header: it must be the registered address the route was checked for."""
    return facts.from_address is not None and facts.from_address == route.sender_email


def incoming(route: Route, raw: bytes, facts: HeaderFacts, envelope_from: str, source: str,
             hold_hits: tuple[dict[str, object], ...] = ()) -> Incoming:
    return Incoming(route=route, raw=raw, envelope_from=normalize_address(envelope_from),
                    original_message_id=facts.message_id, subject=facts.subject, source=source,
                    hold_hits=hold_hits)


def special_handler(special: Mapping[str, SpecialHandler], rcpt: str, domain: str) -> SpecialHandler | None:
    """The handler of a special address at our domain (`moderate+<token>` is `moderate`), if any."""
    local, addr_domain = split_address(rcpt)
    if addr_domain != domain:
        return None
    return special.get(local.split("+", 1)[0])


async def store_routes(writer: IngestWriter, routes: Sequence[Route], raw: bytes, envelope_from: str,
                       *, source: str, doors: Doors | None = None, ip: str | None = None,
                       helo: str = "") -> list[tuple[int, bool]] | str:
    """Store one copy per route, or the SMTP reply that refuses the message: FROM_MISMATCH when
    the From header is not the sender's registered address, or what the doors (rendering, sender
    authentication) said. Returns (message id, was_duplicate) per route."""
    facts = read_headers(raw)
    if not from_matches_sender(facts, routes[0]):
        return FROM_MISMATCH
    if doors is None:
        return [await writer.store(incoming(route, raw, facts, envelope_from, source=source))
                for route in routes]
    async with doors.slot():
        outcome = await doors.check(raw, routes, envelope_from=envelope_from, ip=ip, helo=helo)
        if outcome.reply:
            return outcome.reply
        return [await writer.store(incoming(route, outcome.raw, facts, envelope_from,
                                            source=source, hold_hits=outcome.hold_hits))
                for route in routes]


def _sole_from_address(headers: Any) -> str | None:
    """The From address, or None unless there is exactly one From mailbox (see from_header)."""
    try:
        values = [str(value) for name, value in headers.raw_items() if name.lower() == "from"]
    except Exception:  # a malformed header is as good as absent
        return None
    return sole_mailbox(values)


# Values that policy.default returns exactly as written: a plain Message-ID, and a Subject of
# printable ASCII without encoded words. Parsing them into header objects was half of this step.
_PLAIN_VALUE: dict[str, Callable[[str], object]] = {
    "message-id": re.compile(r"<(?:[A-Za-z0-9_+=$-]+\.)*[A-Za-z0-9_+=$-]+@"
                             r"(?:[A-Za-z0-9_-]+\.)*[A-Za-z0-9_-]+>").fullmatch,
    "subject": lambda value: value.isascii() and value.isprintable() and "=?" not in value,
}


def plain_header(headers: Any, name: str) -> str | None:
    """The first `name` header as policy.default reads it, when that is the value as written
    (None otherwise: the header is absent or must be parsed)."""
    lower = name.lower()
    for key, value in headers.raw_items():
        if key.lower() == lower:
            return _plain_value(lower, value) if isinstance(value, str) else None
    return None


def _plain_value(lower: str, value: str) -> str | None:
    unfolded = value.replace("\r", "").replace("\n", "")  # as header_fetch_parse does
    return unfolded if _PLAIN_VALUE[lower](unfolded) else None


def _header(headers: Any, name: str) -> str | None:
    plain = plain_header(headers, name)
    if plain is not None:
        return plain.replace("\x00", "")
    try:
        value = headers.get(name)
        # PostgreSQL text cannot hold NUL (SQLite can): storing it would answer 451 forever.
        return str(value).replace("\x00", "") if value is not None else None
    except Exception:  # a malformed header is as good as absent
        return None
