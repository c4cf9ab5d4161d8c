"""Extract, once, every fact about a message that the moderation rules look at."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.message import EmailMessage
from types import MappingProxyType
from typing import Literal

from gateway.mail.canonical import MAX_CHECKED_CHARS, Reading, Unreadable, private_left, read
from gateway.mail.privacy import Privacy
from gateway.mail.text import Attachment, html_links, parse_bytes

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
    # Parts that cannot be read to text, and participants' details where they cannot be removed.
    unreadable: tuple[Unreadable, ...] = ()

    @property
    def involves_minor(self) -> bool:
        return self.sender_is_minor or self.recipient_is_minor


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


def _body_text(reading: Reading, scrub: Callable[[str], str]) -> str:
    """Every text the client shows but the subject, each once: an HTML copy that shows nothing
    the text part does not is left out (its hits would be counted twice). Forwarded headers and
    preambles are scrubbed like the rest but not judged (a client hardly shows a preamble, and
    forwarded headers name third parties as a matter of course)."""
    shown = [seen for seen in reading.texts if seen.kind not in ("subject", "header", "hidden")]
    if len(shown) == 1:  # the common single text part: nothing to compare
        return scrub(shown[0].text)
    kept: list[str] = []
    squeezed = ""
    for seen in shown:
        text = scrub(seen.text)
        flat = _squeezed(text)
        if flat and flat in squeezed:
            continue
        kept.append(text)
        squeezed += "\n" + flat
    return "\n".join(kept)


def facts_from_message(raw: bytes, *, direction: Direction, sender_is_minor: bool = False,
                       recipient_is_minor: bool = False, first_message: bool = False,
                       pair_aliases: Iterable[str] = (),
                       privacy: Privacy | None = None,
                       parsed: EmailMessage | None = None,
                       max_chars: int | None = MAX_CHECKED_CHARS) -> MessageFacts:
    """Parse `raw` once and collect what the rules need; bad input gives empty facts, no error.

    The rules read the canonical reading (what the recipient's client shows), with the
    participants' own addresses and names replaced as the rewrite will replace them: a scrubbed
    address is no reason to hold, anything left (a third party's address) still is.
    `parsed`: `raw` already parsed by the caller (the relay parses once for the rules and the
    rewrite); it is only read, never changed. At most `max_chars` characters of text are read
    (None: all): the rest is an "unchecked" part, which the shipped rules hold."""
    message = parsed if parsed is not None else parse_bytes(raw)
    reading = read(message, max_chars)

    def scrub(text: str) -> str:
        return privacy.subn(text)[0] if privacy is not None else text

    html = reading.html
    text = _body_text(reading, scrub)
    unreadable = reading.unreadable + tuple(
        private_left(reading, privacy) if privacy is not None else ())
    return MessageFacts(
        direction=direction, sender_is_minor=sender_is_minor,
        recipient_is_minor=recipient_is_minor, first_message=first_message,
        pair_aliases=frozenset(a.strip().lower() for a in pair_aliases if a),
        subject=scrub(reading.shown("subject")), text=text, html=html,
        links=_links(text, html), headers=_headers(message),
        attachments=reading.attachments, size=len(raw), unreadable=unreadable,
    )
