"""Extract, once, every fact about a message that the moderation rules look at."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.message import EmailMessage
from types import MappingProxyType
from typing import Literal

from gateway.mail.text import Attachment, body_of, html_links, html_to_text, parse_bytes

Direction = Literal["mentor_to_mentee", "mentee_to_mentor"]

_TEXT_URL = re.compile(r"(?:\b[a-z][a-z0-9+.-]*://|\bwww\.)[^\s<>\"')\]]+", re.IGNORECASE)


@dataclass(frozen=True)
class MessageFacts:
    direction: Direction
    sender_is_minor: bool
    recipient_is_minor: bool
    first_message: bool
    pair_aliases: frozenset[str]
    subject: str
    text: str
    html: str
    links: tuple[str, ...]
    headers: Mapping[str, tuple[str, ...]]  # lowercase names
    attachments: tuple[Attachment, ...]
    size: int

    @property
    def involves_minor(self) -> bool:
        return self.sender_is_minor or self.recipient_is_minor


def _header_value(message: EmailMessage, name: str) -> str:
    try:
        values = message.get_all(name) or []
        return str(values[0]) if values else ""
    except Exception:  # noqa: BLE001 - a header the parser cannot decode is read raw
        return _raw_header(message, name)


def _raw_header(message: EmailMessage, name: str) -> str:
    for key, value in message.raw_items():
        if key.lower() == name.lower():
            return str(value)
    return ""


def _decoded(raw_value: str) -> str:
    # Only encoded words ("=?utf-8?q?...?=") need the (slow) header parser.
    if "=?" not in raw_value:
        return raw_value
    try:
        return str(make_header(decode_header(raw_value)))
    except Exception:  # noqa: BLE001 - an undecodable header is searched as it was written
        return raw_value


def _headers(message: EmailMessage) -> Mapping[str, tuple[str, ...]]:
    collected: dict[str, list[str]] = {}
    for key, raw_value in message.raw_items():
        collected.setdefault(key.lower(), []).append(_decoded(str(raw_value)))
    return MappingProxyType({k: tuple(v) for k, v in collected.items()})


def _links(text: str, html: str) -> tuple[str, ...]:
    found: list[str] = []
    # bytes.lower() (ASCII only, no other character lowers to "www.") beats str.lower() ~3x
    if "://" in text or b"www." in text.encode("utf-8", "surrogatepass").lower():
        found += [m.group().rstrip(".,;:!?") for m in _TEXT_URL.finditer(text)]
    found += html_links(html) if html else []
    return tuple(dict.fromkeys(link for link in found if link))


def _squeezed(text: str) -> str:
    return " ".join(text.split()).casefold()


def _body_text(text: str, html: str) -> str:
    """The text part, plus the HTML copy as rendered when it shows something the text part does
    not: clients display the HTML, so a harmless text part must not hide a phone number there."""
    if not html:
        return text
    rendered = html_to_text(html)
    if _squeezed(rendered) in _squeezed(text):
        return text
    return f"{text}\n{rendered}" if text else rendered


def facts_from_message(raw: bytes, *, direction: Direction, sender_is_minor: bool = False,
                       recipient_is_minor: bool = False, first_message: bool = False,
                       pair_aliases: Iterable[str] = ()) -> MessageFacts:
    """Parse `raw` once and collect what the rules need; bad input gives empty facts, no error."""
    message = parse_bytes(raw)
    body = body_of(message)  # one walk over the parts: each header read is a full parse
    html = body.html
    text = _body_text(body.text, html)
    return MessageFacts(
        direction=direction, sender_is_minor=sender_is_minor,
        recipient_is_minor=recipient_is_minor, first_message=first_message,
        pair_aliases=frozenset(a.strip().lower() for a in pair_aliases if a),
        subject=_header_value(message, "subject"), text=text, html=html,
        links=_links(text, html), headers=_headers(message),
        attachments=tuple(body.attachments), size=len(raw),
    )
