"""Read what a message says: its text, its HTML, its links and its attachments, never raising."""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage, Message
from email.policy import EmailPolicy
from email.utils import _has_surrogates  # type: ignore[attr-defined]
from html.parser import HTMLParser
from typing import Any, NamedTuple

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


class _Rendered(NamedTuple):
    text: str
    hrefs: tuple[str, ...]


class _LastRendered:
    """Rendering HTML is the slowest step of reading a message (a pure-Python parser), and the
    same HTML is asked for its text and then its links: the last rendering is kept for reuse."""

    def __init__(self) -> None:
        self._last: tuple[str, _Rendered] | None = None

    def __call__(self, html: str) -> _Rendered:
        last = self._last  # one read: another thread may replace it meanwhile
        if last is not None and last[0] == html:
            return last[1]
        renderer = _render(html)
        text = _SPACES.sub(" ", "".join(renderer.chunks))
        lines = "\n".join(line.strip() for line in text.split("\n"))
        rendered = _Rendered(_BLANK_LINES.sub("\n\n", lines).strip(), tuple(renderer.hrefs))
        self._last = (html, rendered)
        return rendered


_rendered = _LastRendered()


def html_to_text(html: str) -> str:
    """The visible text of an HTML document: no tags, scripts or styles, one line per block."""
    return _rendered(html).text


def html_links(html: str) -> tuple[str, ...]:
    """Every href/src of links, images and frames, in document order."""
    return _rendered(html).hrefs


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int
    payload: bytes
    member: bool = False  # a file inside an archive ("archive.zip/inner.exe")


class _ReusedHeaderClasses(HeaderRegistry):
    """The stock registry builds a new class at every header read (tens of µs each, a dozen reads
    per message); the same class is built for a given name every time, so build it once."""

    _LIMIT = 512  # header names are chosen by senders: do not let them grow the cache forever
    _READ_LIMIT = 256  # header objects kept, up to ~60 KB each (values repeat: Content-Type)
    _READ_LENGTH = 256  # longer values are parsed at every read (a parse tree is ~50 B a character)

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type[BaseHeader]] = {}
        self._read: dict[tuple[str, str], BaseHeader] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        found = self._classes.get(key)
        if found is None:
            found = super().__getitem__(name)
            if len(self._classes) < self._LIMIT:
                self._classes[key] = found
        return found

    def read(self, name: str, value: str) -> BaseHeader:
        """The header object for a value as stored in a message: parsed once per distinct value.

        Header objects never change once built (a str with read-only parsed attributes), so two
        reads of the same name and value can share one; each read used to parse it again."""
        key = (name, value)
        found = self._read.get(key)
        if found is None:
            # As EmailPolicy.header_fetch_parse: the value without its line breaks.
            found = self(name, value.replace("\r", "").replace("\n", ""))
            if len(value) <= self._READ_LENGTH:
                if len(self._read) >= self._READ_LIMIT:
                    self._read.clear()  # senders choose values: start over rather than grow
                self._read[key] = found
        return found


class _FastDefaultPolicy(EmailPolicy):
    """policy.default whose header reads reuse the header object of an equal earlier read (the
    rules, the report check and the reading fetch Content-Type a dozen times per message)."""

    def header_fetch_parse(self, name: str, value: str) -> Any:
        factory = self.header_factory
        if hasattr(value, "name") or not isinstance(factory, _ReusedHeaderClasses):
            return super().header_fetch_parse(name, value)
        return factory.read(name, value)


_PARAMS: dict[str, tuple[tuple[str, Any], ...]] = {}


class _CachedParams(Message):
    """A message whose Content-Type parameters are parsed once per distinct value: the stdlib
    splits the header again at every get_param (charset, format, boundary, name...); and whose
    header look-ups search a list of lowered names instead of lowering every name at every read
    (a part's headers are read some twenty-five times while it is read and rewritten)."""

    _names_of: list[tuple[str, Any]] | None = None  # the header list `_names` was made from
    _names: list[str]

    def _lowered_names(self) -> list[str]:
        # The email package changes a header list only by appending to it, by replacing a value
        # under its own name (replace_header) or by putting a new list in its place: the names
        # are made again when the list is another one or has another length.
        headers: list[tuple[str, Any]] = self._headers  # type: ignore[attr-defined]
        if self._names_of is not headers or len(self._names) != len(headers):
            self._names = [name.lower() for name, _value in headers]
            self._names_of = headers
        return self._names

    # get_payload's answers for the payload text they were computed from (decoding 5 KB of 8-bit
    # text costs ~8 µs, and a part's payload is asked for six to eight times): per key, the
    # answer and the defects the stdlib registered when computing it, registered again.
    _memo_of: str | None = None
    _surrogates = False  # the payload holds 8-bit bytes (as surrogate escapes)
    _memos: dict[tuple[bool, Any], tuple[Any, list[Any]]]

    def get_payload(self, i: int | None = None, decode: bool = False) -> Any:  # type: ignore[override]
        stock: Any = super().get_payload  # typeshed's overloads want literal arguments
        payload = self.__dict__.get("_payload")
        if i is not None or not isinstance(payload, str):
            return stock(i, decode)
        cte = str(self.get("content-transfer-encoding", "")).lower()  # as the stdlib reads it
        if self._memo_of is not payload:
            self._memo_of, self._memos = payload, {}
            self._surrogates = _has_surrogates(payload)
        if not decode and not self._surrogates:
            return payload  # the stdlib gives the text itself
        try:  # decoded, the answer depends on the transfer encoding; else on the charset
            key = (decode, cte if decode else self.get_param("charset", "ascii"))
            found = self._memos.get(key)
        except Exception:  # noqa: BLE001 - the stdlib says what it says of such a part
            return stock(i, decode)
        if found is not None:
            for defect in found[1]:
                self.policy.handle_defect(self, defect)
            return found[0]
        before = len(self.defects)
        answer = stock(None, decode)
        self._memos[key] = (answer, self.defects[before:])
        return answer

    def get(self, name: str, failobj: Any = None) -> Any:
        try:
            index = self._lowered_names().index(name.lower())
        except ValueError:
            return failobj
        found, value = self._headers[index]  # type: ignore[attr-defined]
        return self.policy.header_fetch_parse(found, value)

    def __contains__(self, name: str) -> bool:
        return name.lower() in self._lowered_names()

    def _get_params_preserve(self, failobj: Any, header: str) -> Any:
        value = self.get(header)
        if value is None:
            return super()._get_params_preserve(failobj, header)  # type: ignore[misc]
        key = str(value)  # the stdlib parses str(value): the result depends on it alone
        found = _PARAMS.get(key)
        if found is None:
            found = tuple(super()._get_params_preserve(failobj, header))  # type: ignore[misc]
            if len(key) <= 256:
                if len(_PARAMS) >= 512:
                    _PARAMS.clear()  # senders choose values: start over rather than grow
                _PARAMS[key] = found
        return list(found)  # a new list: callers may change it


class _FastEmailMessage(_CachedParams, EmailMessage):
    pass


class FastCompatMessage(_CachedParams):
    """compat32's Message, its parameters read faster (the rewrite's parse uses it)."""


# policy.default, parsing headers the same way, only faster.
FAST_DEFAULT_POLICY = _FastDefaultPolicy(header_factory=_ReusedHeaderClasses(),
                                         message_factory=_FastEmailMessage)
_POLICY = FAST_DEFAULT_POLICY


def parse_bytes(raw: bytes) -> EmailMessage:
    """Parse raw bytes with the modern policy; the parser itself never raises on bad input."""
    message = email.message_from_bytes(raw, policy=_POLICY)
    assert isinstance(message, EmailMessage)  # guaranteed by policy.default
    return message


def _is_attachment(part: Message, content_type: str) -> bool:
    try:
        disposition = part.get_content_disposition()
        filename = part.get_filename()
    except Exception:  # noqa: BLE001 - a broken header makes it an unknown part, kept as attachment
        return True
    if disposition == "attachment" or filename:
        return True
    return content_type.split("/")[0] not in ("text", "multipart", "message")


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


class _Leaf(NamedTuple):
    part: Message
    content_type: str
    attached: bool


def _leaves(msg: Message) -> list[_Leaf]:
    """Every non-multipart part with its type, read once: each header read is a full parse."""
    try:
        parts = [part for part in msg.walk() if not part.is_multipart()]
    except Exception:  # noqa: BLE001 - a pathological structure yields no parts
        return []
    leaves = []
    for part in parts:
        content_type = part.get_content_type()
        leaves.append(_Leaf(part, content_type, _is_attachment(part, content_type)))
    return leaves


def _body_parts(leaves: list[_Leaf], subtype: str, head: int | None = None) -> list[str]:
    return [_decoded_text(leaf.part)[:head] for leaf in leaves
            if leaf.content_type == f"text/{subtype}" and not leaf.attached]


def _text(leaves: list[_Leaf], html_parts: list[str] | None = None,
          head: int | None = None) -> str:
    plain = _body_parts(leaves, "plain", head)
    if plain:
        return "\n".join(plain)
    if html_parts is None:
        html_parts = _body_parts(leaves, "html", head)
    return "\n".join(html_to_text(html) for html in html_parts)


# Enough of a body part to reach the first lines typed, even after the 20-30 KB of styles
# Outlook puts before them in HTML (rendering 14 MB of HTML to find a first word took 20 s).
HEAD_CHARS = 200_000


def text_of(msg: EmailMessage, *, head: int | None = None) -> str:
    """All text/plain body parts, or the HTML rendered to text when there is no plain part.
    `head`: read only the first `head` characters of each part (for callers that need only
    the first lines: a report keyword, a reply's decision)."""
    return _text(_leaves(msg), head=head)


def html_of(msg: EmailMessage) -> str:
    """The text/html body parts, concatenated ('' when there is none)."""
    return "\n".join(_body_parts(_leaves(msg), "html"))


def _attachments(leaves: list[_Leaf]) -> list[Attachment]:
    found: list[Attachment] = []
    for leaf in leaves:
        if not leaf.attached:
            continue
        try:
            filename = leaf.part.get_filename() or ""
        except Exception:  # noqa: BLE001
            filename = ""
        payload = _payload(leaf.part)
        found.append(Attachment(filename=str(filename), content_type=leaf.content_type,
                                size=len(payload), payload=payload))
    return found


def attachments_of(msg: EmailMessage) -> list[Attachment]:
    """Every attached file with its decoded bytes (also inline images and unnamed binary parts)."""
    return _attachments(_leaves(msg))


class Body(NamedTuple):
    text: str  # as text_of
    html: str  # as html_of
    attachments: list[Attachment]  # as attachments_of


def body_of(msg: EmailMessage) -> Body:
    """text_of, html_of and attachments_of in one walk over the parts (one read of each header)."""
    leaves = _leaves(msg)
    html_parts = _body_parts(leaves, "html")
    return Body(_text(leaves, html_parts), "\n".join(html_parts), _attachments(leaves))


def first_line(text: str, limit: int = 120) -> str:
    """The first line that is neither blank nor quoted, cut to `limit` characters."""
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(">"):
            return line if len(line) <= limit else line[: limit - 1] + "…"
    return ""
