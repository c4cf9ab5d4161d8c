"""The one canonical reading of a message: every text its recipient's client would show, and
every part that cannot be read to text (so it is held rather than passed unread)."""

from __future__ import annotations

import email
import email.policy
import quopri
from dataclasses import dataclass
from email.message import Message
from typing import Any

from gateway.mail import parts
from gateway.mail.archives import list_archive
from gateway.mail.html_view import view
from gateway.mail.privacy import Privacy
from gateway.mail.text import Attachment
from gateway.mail.visible import (
    data_uris,
    decode_text,
    looks_like_text,
    percent_decoded,
    unflow,
    unfold,
    uudecoded,
    visible,
)

MAX_DEPTH = 8  # nested messages and multiparts
MAX_PARTS = 500
MAX_TEXT_BYTES = 5 * 1024 * 1024  # a text part larger than this is not read (held instead)
# How much of a message the rules read: their cost grows with the text (up to ~5 µs a
# character for word-dense filler), and checking is one message after another, so a 20 MB text
# read in full held every other sender's mail for minutes. Past the budget the rest is not
# read and the reading says so ("unchecked"): the message is held, never passed half-read.
MAX_CHECKED_CHARS = 200_000
HTML_MARKUP_RATIO = 5  # HTML markup read per shown character (its parse is the costly part)
SHOWN_HEADERS = ("from", "to", "cc", "reply-to", "sender", "subject", "date")


@dataclass(frozen=True)
class Seen:
    where: str  # "subject", "part 2 (text/html)", "part 3 file name", ...
    kind: str  # subject | header | body | name | link
    text: str  # as shown: decoded, unfolded, rendered, invisible characters removed, NFKC


@dataclass(frozen=True)
class Unreadable:
    where: str
    why: str  # for a moderator: "Outlook TNEF (winmail.dat)", "an encrypted archive", ...
    # or "private": a participant's details where they cannot be removed; "unchecked": text
    # past what the rules read (canonical.MAX_CHECKED_CHARS)
    kind: str = "unreadable"


@dataclass(frozen=True)
class Reading:
    texts: tuple[Seen, ...]
    unreadable: tuple[Unreadable, ...]
    attachments: tuple[Attachment, ...]  # one per file and per name it is given
    html: str  # the raw HTML bodies (top level), for links and redaction

    def shown(self, *kinds: str) -> str:
        return "\n".join(seen.text for seen in self.texts if not kinds or seen.kind in kinds)


class _Reader:
    def __init__(self, budget: int | None = None) -> None:
        self.texts: list[Seen] = []
        self.unreadable: list[Unreadable] = []
        self.attachments: list[Attachment] = []
        self.html: list[str] = []
        self.count = 0
        self.budget = budget  # characters still to read (None: no limit)
        self.limit = budget
        self._cut: set[str] = set()

    def add(self, where: str, kind: str, text: str) -> None:
        shown = self._within(where, visible(self._within(where, text, ratio=2)).strip())
        if shown:
            self.texts.append(Seen(where, kind, shown))
            if self.budget is not None:
                self.budget = max(0, self.budget - len(shown))

    def _within(self, where: str, text: str, *, ratio: int = 1) -> str:
        """`text` cut to what the budget still allows (`ratio` characters read per character
        counted: visible() drops invisible ones, HTML shows a fraction of its markup)."""
        if self.budget is None or len(text) <= self.budget * ratio:
            return text
        if where not in self._cut:
            self._cut.add(where)
            self.unreadable.append(Unreadable(
                where, f"too long to check: the rules read at most {self.limit:,} characters "
                "of a message", "unchecked"))
        return text[:self.budget * ratio]

    def hold(self, where: str, why: str) -> None:
        self.unreadable.append(Unreadable(where, why))

    def message(self, msg: Message, depth: int, path: str) -> None:
        label = f"forwarded message {path}" if path else ""
        for name in SHOWN_HEADERS:
            if path or name == "subject":
                for value in parts.header_values(msg, name):
                    self.add("subject" if not path and name == "subject" else
                             f"{label} {name}", "subject" if not path else "header", value)
        self.part(msg, depth, path)

    def part(self, part: Message, depth: int, path: str) -> None:
        self.count += 1
        where = f"part {path or '1'}"
        if depth > MAX_DEPTH or self.count > MAX_PARTS:
            self.hold(where, "parts nested deeper (or more numerous) than the limit")
            return
        ctype = part.get_content_type()
        payload = part.get_payload()
        encoded = parts.encoded_message(part)
        if encoded is not None:
            self._nested(encoded, depth, path, f"{where} ({ctype})")
            return
        if isinstance(payload, list):
            self._children(part, payload, depth, path, ctype)
            return
        self._leaf(part, depth, path, where, ctype)

    def _children(self, part: Message, children: list[Any], depth: int, path: str,
                  ctype: str) -> None:
        for attribute in ("preamble", "epilogue"):
            extra = getattr(part, attribute, None)
            if isinstance(extra, str):
                self.add(f"part {path or '1'} {attribute}", "hidden", extra)
        if ctype == "multipart/encrypted":
            self.hold(f"part {path or '1'}", "an encrypted message (PGP or S/MIME)")
        base = f"{path}." if path else ""
        for index, child in enumerate(children, start=1):
            if not isinstance(child, Message):
                continue
            if part.get_content_maintype() == "message":
                self.message(child, depth + 1, f"{base}{index}")
            else:
                self.part(child, depth + 1, f"{base}{index}")

    def _leaf(self, part: Message, depth: int, path: str, where: str, ctype: str) -> None:
        names = parts.file_names(part)
        types = parts.content_types(part)
        for name in names:
            self.add(f"{where} file name", "name", name)
        data = parts.payload_bytes(part)
        label = f"{where} ({ctype}{', ' + repr(names[0]) if names else ''})"
        if parts.is_attachment(part, ctype, names):
            # A file is judged by its name as drawn and as stored (a bidi override can draw
            # "photo<RLO>gpj.exe" as "photoexe.jpg": it is still an .exe).
            shown = list(dict.fromkeys(v for name in names or [""]
                                       for v in (visible(name), visible(name, reorder=False))))
            self.attachments += [Attachment(name, kind, len(data), data)
                                 for name in shown or [""] for kind in types]
        why = parts.opaque_reason(types, names, data)
        if why:
            self.hold(label, why)
            return
        if ctype.startswith("message/") and ctype not in parts.TEXT_MESSAGES:
            self._nested(data, depth, path, label)
            return
        if parts.opens_as_message(ctype, data, names):
            self._nested(data, depth, path, label)
            return
        if ctype.startswith("multipart/"):  # a broken multipart: clients show little of it
            self.add(where, "hidden", decode_text(data, part.get_content_charset()))
            return
        if parts.is_archive_part(data, names, types):
            self._archive(data, names, label, where, office=parts.is_office(names, types))
            return
        if parts.reads_as_text(ctype, data, names, types):
            if len(data) > MAX_TEXT_BYTES:
                self.unreadable.append(Unreadable(
                    label, "a text part larger than the reading limit", "unchecked"))
                return
            text = decode_text(data, part.get_content_charset())
            flowed = parts.flowed(part)
            if flowed is not None:
                text = unflow(text, delsp=flowed)
            self._text(text, ctype, names, where,
                       top=not parts.is_attachment(part, ctype, names))

    def _nested(self, data: bytes, depth: int, path: str, label: str) -> None:
        if not data.strip():
            return
        if not parts.sniff_message(data, ()):
            self.hold(label, "a forwarded message that cannot be read")
            return
        inner = email.message_from_bytes(data, policy=email.policy.compat32)
        self.message(inner, depth + 1, f"{path or '1'}.1")

    def _archive(self, data: bytes, names: list[str], label: str, where: str, *,
                 office: bool) -> None:
        listing = list_archive(data)
        outer = names[0] if names else "(no name)"
        for member in listing.names:
            self.add(f"{where} archive member", "name", member)
            self.attachments.append(Attachment(f"{outer}/{member}", "", 0, b"", member=True))
        for member in listing.names:
            why = parts.opaque_reason([], [member], b"")
            if why:
                self.hold(f"{label}: {member!r}", why)
        for member, content in [] if office else listing.texts:
            why = parts.opaque_reason([], [], content)
            if why:
                self.hold(f"{label}: {member!r}", why)
            elif looks_like_text(content):
                self._text(decode_text(content, None), "text/plain", [member],
                           f"{where} archive member {member!r}", top=False)
        if listing.problem:
            self.hold(label, listing.problem)

    def _text(self, text: str, ctype: str, names: list[str], where: str, *, top: bool) -> None:
        lowered = " ".join(names).lower()
        if ctype == "text/html" or lowered.endswith((".html", ".htm")):
            text = self._within(where, text, ratio=HTML_MARKUP_RATIO)
            if top:
                self.html.append(text)
            shown = view(text)
            self.add(where, "body", shown.text)
            for extra in shown.extras:
                self.add(where + " link", "link", extra)
                self._decoded_link(extra, where)
            return
        if parts.is_folded_type(ctype, names, text):
            text = unfold(text)
            text = self._within(where, text, ratio=2)
            if "QUOTED-PRINTABLE" in text.upper():  # vCard 2.1 values a viewer decodes
                self.add(where, "body", quopri.decodestring(text.encode("utf-8", "replace"))
                         .decode("utf-8", "replace"))
        text = self._within(where, text, ratio=2)
        self.add(where, "body", text)
        decoded = percent_decoded(text)
        if decoded:
            self.add(where + " link", "link", decoded)
        for name, content in uudecoded(text):
            self.add(f"{where} uuencoded file name", "name", name)
            if looks_like_text(content):
                self.add(f"{where} uuencoded {name!r}", "body", decode_text(content, None))
            else:
                self.attachments.append(Attachment(name, "application/octet-stream",
                                                   len(content), content))

    def _decoded_link(self, link: str, where: str) -> None:
        decoded = percent_decoded(link)
        if decoded:
            self.add(where + " link", "link", decoded)
        for media, content in data_uris(decoded or link):
            if media.startswith("text/") or looks_like_text(content):
                decoded_content = decode_text(content, None)
                if media == "text/html":
                    decoded_content = view(decoded_content).text
                self.add(where + " data: link", "link", decoded_content)


def read(msg: Message, budget: int | None = MAX_CHECKED_CHARS) -> Reading:
    """What the recipient would see of `msg` (parsed with any policy), and what cannot be read.
    At most `budget` characters are read (None: all); the rest is reported "unchecked"."""
    reader = _Reader(budget)
    try:
        reader.message(msg, 0, "")
    except RecursionError:
        reader.hold("message", "parts nested deeper than the limit")
    return Reading(tuple(reader.texts), tuple(reader.unreadable), tuple(reader.attachments),
                   "\n".join(reader.html))


def read_part(part: Message) -> Reading:
    """The reading of one part alone (the rewrite checks each part it changed)."""
    reader = _Reader()
    try:
        reader.part(part, 0, "")
    except RecursionError:
        reader.hold("part", "parts nested deeper than the limit")
    return Reading(tuple(reader.texts), tuple(reader.unreadable), tuple(reader.attachments),
                   "\n".join(reader.html))


def private_left(reading: Reading, privacy: Privacy) -> list[Unreadable]:
    """Where a participant's address, domain or name sits where no rewrite can remove it: in a
    binary file, or in a file inside an archive."""
    found: list[Unreadable] = []
    for seen in reading.texts:
        if " archive member " in seen.where and privacy.found(seen.text):
            found.append(Unreadable(seen.where, "a participant's details inside an archive",
                                    "private"))
    seen_payloads: set[int] = set()
    for attachment in reading.attachments:
        if attachment.member or id(attachment.payload) in seen_payloads:
            continue
        seen_payloads.add(id(attachment.payload))
        if not parts.reads_as_text(attachment.content_type, attachment.payload,
                                   [attachment.filename], [attachment.content_type]) \
                and privacy.in_bytes(attachment.payload):
            found.append(Unreadable(f"file {attachment.filename or '(no name)'!r}",
                                    "a participant's address inside a file that cannot be "
                                    "edited", "private"))
    return found


def read_bytes(raw: bytes) -> Reading:
    return read(email.message_from_bytes(raw, policy=email.policy.compat32))
