"""Read what a message says: its text, its HTML, its links and its attachments, never raising."""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from email.message import EmailMessage, Message
from html.parser import HTMLParser

# Elements whose start or end begins a new line when HTML is rendered to text.
_BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "fieldset",
    "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
    "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "td", "th", "tr", "ul",
})
_HIDDEN_TAGS = frozenset({"script", "style", "head", "title", "template"})
_BLANK_LINES = re.compile(r"\n[ \t]*(?:\n[ \t]*)+")
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")


class _TextRenderer(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.hrefs: list[str] = []
        self._hidden_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN_TAGS:
            self._hidden_depth += 1
        elif tag in _BLOCK_TAGS:
            self.chunks.append("\n")
        for name, value in attrs:
            if name in ("href", "src") and value and tag in ("a", "area", "img", "iframe"):
                self.hrefs.append(value.strip())

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN_TAGS:
            self._hidden_depth = max(0, self._hidden_depth - 1)
        elif tag in _BLOCK_TAGS:
            self.chunks.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden_depth:
            self.chunks.append(data)


def _render(html: str) -> _TextRenderer:
    renderer = _TextRenderer()
    try:
        renderer.feed(html)
        renderer.close()
    except Exception:  # noqa: BLE001 - malformed HTML keeps whatever was read so far
        pass
    return renderer


def html_to_text(html: str) -> str:
    """The visible text of an HTML document: no tags, scripts or styles, one line per block."""
    text = _SPACES.sub(" ", "".join(_render(html).chunks))
    lines = "\n".join(line.strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", lines).strip()


def html_links(html: str) -> tuple[str, ...]:
    """Every href/src of links, images and frames, in document order."""
    return tuple(_render(html).hrefs)


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int
    payload: bytes


def parse_bytes(raw: bytes) -> EmailMessage:
    """Parse raw bytes with the modern policy; the parser itself never raises on bad input."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)  # guaranteed by policy.default
    return message


def _is_attachment(part: Message) -> bool:
    try:
        disposition = part.get_content_disposition()
        filename = part.get_filename()
    except Exception:  # noqa: BLE001 - a broken header makes it an unknown part, kept as attachment
        return True
    if disposition == "attachment" or filename:
        return True
    return part.get_content_maintype() not in ("text", "multipart", "message")


def _decoded_text(part: Message) -> str:
    payload = _payload(part)
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:  # unknown charset name
        return payload.decode("utf-8", errors="replace")


def _payload(part: Message) -> bytes:
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001 - undecodable transfer encoding counts as empty
        return b""
    return payload if isinstance(payload, bytes) else b""


def _leaf_parts(msg: Message) -> list[Message]:
    try:
        return [part for part in msg.walk() if not part.is_multipart()]
    except Exception:  # noqa: BLE001 - a pathological structure yields no parts
        return []


def _body_parts(msg: Message, subtype: str) -> list[str]:
    return [_decoded_text(part) for part in _leaf_parts(msg)
            if part.get_content_type() == f"text/{subtype}" and not _is_attachment(part)]


def text_of(msg: EmailMessage) -> str:
    """All text/plain body parts, or the HTML rendered to text when there is no plain part."""
    plain = _body_parts(msg, "plain")
    if plain:
        return "\n".join(plain)
    return "\n".join(html_to_text(html) for html in _body_parts(msg, "html"))


def html_of(msg: EmailMessage) -> str:
    """The text/html body parts, concatenated ('' when there is none)."""
    return "\n".join(_body_parts(msg, "html"))


def attachments_of(msg: EmailMessage) -> list[Attachment]:
    """Every attached file with its decoded bytes (also inline images and unnamed binary parts)."""
    found: list[Attachment] = []
    for part in _leaf_parts(msg):
        if not _is_attachment(part):
            continue
        try:
            filename = part.get_filename() or ""
        except Exception:  # noqa: BLE001
            filename = ""
        payload = _payload(part)
        found.append(Attachment(filename=str(filename), content_type=part.get_content_type(),
                                size=len(payload), payload=payload))
    return found
