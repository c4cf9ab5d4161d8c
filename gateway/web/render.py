"""Pure presentation helpers for one message: evidence highlighting, safe HTML, MIME summary, ages."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

import nh3
from markupsafe import Markup, escape

# The iframe document refuses everything remote; inline styles only (mail HTML relies on them).
FRAME_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:"
MAX_HEADER_VALUE = 2000


def _spans_for(text: str, hits: Sequence[Mapping[str, Any]], field: str) -> list[tuple[int, int]]:
    """Evidence offsets in `field`; when offsets do not fit the text, find the evidence instead."""
    spans: list[tuple[int, int]] = []
    for hit in hits:
        if hit.get("field") != field:
            continue
        start, end, evidence = hit.get("start"), hit.get("end"), hit.get("evidence") or ""
        if (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text)
                and (not evidence or text[start:end] == evidence)):
            spans.append((start, end))
            continue
        if evidence:
            at = text.find(evidence)
            if at >= 0:
                spans.append((at, at + len(evidence)))
    return _merged(spans)


def _merged(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def highlight(text: str, hits: Sequence[Mapping[str, Any]], field: str = "text") -> Markup:
    """The text escaped, with each evidence span of `field` wrapped in <mark>."""
    pieces: list[str] = []
    position = 0
    for start, end in _spans_for(text, hits, field):
        pieces.append(str(escape(text[position:start])))
        pieces.append(f"<mark>{escape(text[start:end])}</mark>")
        position = end
    pieces.append(str(escape(text[position:])))
    return Markup("".join(pieces))


def _only_inline_images(tag: str, attribute: str, value: str) -> str | None:
    # Any remote URL in src/srcset/background would tell the sender the message was opened.
    if attribute in ("src", "srcset", "background", "poster"):
        return value if value.strip().lower().startswith("data:image/") else None
    return value


def sanitize_html(html: str) -> str:
    """Mail HTML with scripts, handlers, forms and remote images removed (nh3 / Ammonia)."""
    return nh3.clean(html, attribute_filter=_only_inline_images, link_rel="noopener noreferrer",
                     url_schemes={"http", "https", "mailto", "data"})


def frame_document(clean_html: str) -> str:
    """A whole document for <iframe sandbox srcdoc>, carrying its own no-remote-content CSP."""
    return (f'<!doctype html><html><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{FRAME_CSP}">'
            f"</head><body>{clean_html}</body></html>")


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class MimeSummary:
    headers: list[tuple[str, str]]
    html: str | None
    attachments: list[Attachment]


def readable(value: str) -> str:
    """A str safe to send: raw 8-bit header bytes (surrogate escapes) decoded as UTF-8 or replaced."""
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _text_of_part(part: EmailMessage) -> str:
    try:
        content = part.get_content()
    except Exception:  # undeclared or broken charset: show what can be decoded
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    return readable(content) if isinstance(content, str) else ""


def _attachment(part: EmailMessage) -> Attachment:
    payload = part.get_payload(decode=True)
    try:
        name = part.get_filename() or "(sans nom / unnamed)"
    except Exception:
        name = "(sans nom / unnamed)"
    return Attachment(filename=readable(str(name)), content_type=part.get_content_type(),
                      size=len(payload) if isinstance(payload, bytes) else 0)


def mime_summary(raw: bytes) -> MimeSummary:
    """Headers, the first HTML part and the attachments of a raw message; never raises."""
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
    except Exception:
        return MimeSummary([], None, [])
    assert isinstance(msg, EmailMessage)
    headers: list[tuple[str, str]] = []
    for name, value in msg.raw_items():
        headers.append((readable(name), readable(" ".join(str(value).split()))[:MAX_HEADER_VALUE]))
    html: str | None = None
    attachments: list[Attachment] = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        assert isinstance(part, EmailMessage)
        disposition = part.get_content_disposition()
        if disposition == "attachment" or (part.get_filename() and disposition != "inline"):
            attachments.append(_attachment(part))
        elif part.get_content_type() == "text/html" and html is None:
            html = _text_of_part(part)
    return MimeSummary(headers, html, attachments)


def age_label(now: datetime, then: datetime, t: Callable[..., str]) -> str:
    minutes = max(0, int((now - then).total_seconds() // 60))
    if minutes < 60:
        return t("minutes", n=minutes)
    if minutes < 48 * 60:
        return t("hours", n=minutes // 60)
    return t("days", n=minutes // (24 * 60))


def local_time(at: datetime, zone: str) -> str:
    """A moment as staff read it: their program's (or organization's) clock, the zone named."""
    local = at.astimezone(ZoneInfo(zone))
    return local.strftime("%Y-%m-%d %H:%M ") + (local.tzname() or zone)
