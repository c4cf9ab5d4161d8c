"""Parse raw message bytes once, tolerantly, and read ids and addresses out of header values."""

from __future__ import annotations

import email.parser
import re
from email.message import EmailMessage
from email.utils import getaddresses

from gateway.mail.fastparse import message_from_bytes
from gateway.mail.text import FAST_DEFAULT_POLICY

_BARE_LINE_END = re.compile(rb"\r\n|\r|\n")
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_ADDR_SPEC = re.compile(r"[^\s<>()\[\],;:\"@]+@[^\s<>()\[\],;:\"@]+\.[^\s<>()\[\],;:\"@]+")


def normalize_line_endings(raw: bytes) -> bytes:
    """Turn bare LF and bare CR into CRLF, leaving existing CRLF alone."""
    if b"\r" not in raw:
        return raw.replace(b"\n", b"\r\n")
    if raw.count(b"\r") == raw.count(b"\n") == raw.count(b"\r\n"):
        return raw
    return _BARE_LINE_END.sub(b"\r\n", raw)


def parse(raw: bytes) -> EmailMessage:
    """Parse with the modern policy; malformed input yields a best-effort message, never an error."""
    try:
        message = message_from_bytes(raw, FAST_DEFAULT_POLICY)
        assert isinstance(message, EmailMessage)
        return message
    except Exception:  # the parser is tolerant; this guards the rare case it is not
        fallback = EmailMessage()
        fallback.set_content(raw.decode("latin-1"), charset="utf-8")
        return fallback


def parse_headers(raw: bytes) -> EmailMessage:
    """The header section only (the body stays an unparsed string): the top-level headers read
    exactly as parse() reads them, for a fraction of the cost on a long message."""
    try:
        message = email.parser.BytesParser(policy=FAST_DEFAULT_POLICY).parsebytes(
            raw, headersonly=True)
        assert isinstance(message, EmailMessage)
        return message
    except Exception:  # as parse(): never an error
        return EmailMessage()


def header_message_ids(value: str | None) -> list[str]:
    """Every `<id>` in a header value, in order, without repeats; junk between them is ignored."""
    if not value:
        return []
    seen: list[str] = []
    for found in _MESSAGE_ID.findall(str(value)):
        if found not in seen:
            seen.append(found)
    return seen


def address_of(header_value: str | None) -> str | None:
    """The first addr-spec in a From/To-style value, lowercased; None when there is none."""
    if not header_value:
        return None
    try:
        for _name, address in getaddresses([str(header_value)]):
            if "@" in address and _ADDR_SPEC.fullmatch(address.strip()):
                return address.strip().lower()
    except Exception:  # getaddresses can choke on pathological input; fall back to a scan
        pass
    match = _ADDR_SPEC.search(str(header_value))
    return match.group(0).lower() if match else None
