"""Make one MIME leaf safe to show: scrub it in place, check it as the client would read it, and
fall back to its scrubbed visible text, or withhold it, when scrubbing in place is not enough."""

from __future__ import annotations

import base64
import email
import email.policy
import quopri
from collections.abc import Callable
from email.generator import BytesGenerator
from email.message import Message
from html import escape
from io import BytesIO

from gateway.mail import parts
from gateway.mail.bodies import (
    IDENTITY_ENCODINGS,
    Substitute,
    reencode_long_binary,
    rewrite_raw_leaf,
    rewrite_text_leaf,
    set_encoded_payload,
    transfer_encoding,
)
from gateway.mail.canonical import private_left, read_part
from gateway.mail.html_view import view
from gateway.mail.privacy import Privacy
from gateway.mail.visible import decode_text, unflow, unfold, uu_spans, visible

WITHHELD_TEXT = ("[Une pièce de ce message a été retirée par le programme. / "
                 "A part of this message was withheld by the program.]\n")
MAX_NESTED = 8

# Rewrites a whole nested message (headers and parts) in place; returns how many replacements.
RewriteMessage = Callable[[Message, int], int]


def unwrap_encoded_messages(msg: Message) -> None:
    """A base64/quoted-printable message/* part becomes a leaf holding its encoded text, so that
    it is decoded, rewritten and encoded again like an attached .eml file."""
    for part in [p for p in msg.walk() if p.get_content_maintype() == "message"]:
        if parts.encoded_message(part) is None:
            continue
        inner = part.get_payload(0)
        assert isinstance(inner, Message)  # encoded_message checked it
        body = inner.get_payload()
        part.set_payload(body if not list(inner.keys()) and isinstance(body, str)
                         else inner.as_string())


def withhold(part: Message) -> None:
    """Replace the part by the short bilingual line (its type, name and encoding go with it)."""
    for name in [k for k in part if k.lower().startswith("content-")]:
        del part[name]
    part["Content-Type"] = 'text/plain; charset="utf-8"'
    part["Content-Disposition"] = "inline"
    set_encoded_payload(part, WITHHELD_TEXT.encode("utf-8"), as_base64=False)


def _is_text_like(part: Message, data: bytes) -> bool:
    return parts.reads_as_text(part.get_content_type(), data, parts.file_names(part),
                               parts.content_types(part))


def _replace_text(part: Message, text: str) -> None:
    part.set_param("charset", "utf-8")
    set_encoded_payload(part, text.encode("utf-8"), as_base64=transfer_encoding(part) == "base64")


def _fallback(part: Message, privacy: Privacy) -> bool:
    """The part's scrubbed visible text instead of its source; False when it is not text."""
    data = parts.payload_bytes(part)
    if not _is_text_like(part, data):
        return False
    text = decode_text(data, part.get_content_charset())
    names = parts.file_names(part)
    if part.get_content_type() == "text/html":
        shown = privacy.subn(visible(view(text).text))[0]
        _replace_text(part, f'<div style="white-space: pre-wrap">{escape(shown)}</div>\n')
        return True
    flowed = parts.flowed(part)
    if flowed is not None:
        text = unflow(text, delsp=flowed)
        part.del_param("format")
    for start, end in reversed(uu_spans(text)):
        text = text[:start] + WITHHELD_TEXT + text[end:]
    if parts.is_folded_type(part.get_content_type(), names, text):
        text = unfold(text)
        if "QUOTED-PRINTABLE" in text.upper():
            text = quopri.decodestring(text.encode("utf-8")).decode("utf-8", "replace")
    _replace_text(part, privacy.subn(visible(text))[0])
    return True


def leaks(part: Message, privacy: Privacy) -> bool:
    if privacy.empty:
        return False
    reading = read_part(part)
    return any(privacy.found(seen.text) for seen in reading.texts) or bool(
        private_left(reading, privacy))


def make_safe(part: Message, substitute: Substitute, privacy: Privacy,
              nested: RewriteMessage, withheld: list[str], depth: int) -> int:
    """Scrub one leaf; what still shows a participant's details afterwards is replaced."""
    count = _scrub(part, substitute, nested, depth)
    if leaks(part, privacy):
        label = _label(part)
        if not _fallback(part, privacy) or leaks(part, privacy):
            withhold(part)
            withheld.append(label)
        count += 1
    return count


def _label(part: Message) -> str:
    names = parts.file_names(part)
    return f"{part.get_content_type()}{' ' + repr(names[0]) if names else ''}"


def _scrub(part: Message, substitute: Substitute, nested: RewriteMessage, depth: int) -> int:
    maintype = part.get_content_maintype()
    ctype = part.get_content_type()
    data = parts.payload_bytes(part)
    if depth < MAX_NESTED and (
            (maintype == "message" and ctype not in parts.TEXT_MESSAGES
             and transfer_encoding(part) not in IDENTITY_ENCODINGS)
            or parts.opens_as_message(part.get_content_type(), data, parts.file_names(part))):
        return _nested_bytes(part, data, nested, depth)
    if maintype == "text" or (maintype in ("application", "image") and _is_text_like(part, data)):
        return rewrite_text_leaf(part, substitute)
    if maintype in ("multipart", "message") or transfer_encoding(part) in IDENTITY_ENCODINGS:
        # A broken multipart or a readable non-text body: its visible text must not leak.
        count = rewrite_raw_leaf(part, substitute)
        reencode_long_binary(part)
        return count
    reencode_long_binary(part)
    return 0


def _nested_bytes(part: Message, data: bytes, nested: RewriteMessage, depth: int) -> int:
    """A whole message carried as bytes (base64 message/rfc822, an .eml file): rewritten too."""
    inner = email.message_from_bytes(data, policy=email.policy.compat32)
    count = nested(inner, depth + 1)
    out = BytesIO()
    BytesGenerator(out, mangle_from_=False, policy=email.policy.compat32.clone(
        linesep="\r\n")).flatten(inner)
    new = out.getvalue()
    if new != data:
        if transfer_encoding(part) in IDENTITY_ENCODINGS:
            part.set_payload(base64.encodebytes(new).decode("ascii"))
            del part["Content-Transfer-Encoding"]
            part["Content-Transfer-Encoding"] = "base64"
        else:
            set_encoded_payload(part, new, as_base64=transfer_encoding(part) == "base64")
    return count


def withhold_unreadable(raw: bytes, max_depth: int = MAX_NESTED) -> bytes:
    """The message with every part that cannot be read (or sits past the nesting limit)
    replaced by the bilingual line: what a moderator's redacted approval sends on."""
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    unwrap_encoded_messages(msg)
    changed = _withhold_under(msg, 0, max_depth)
    if not changed:
        return raw
    out = BytesIO()
    BytesGenerator(out, mangle_from_=False, policy=email.policy.compat32.clone(
        linesep="\r\n")).flatten(msg)
    return out.getvalue()


def _withhold_under(part: Message, depth: int, max_depth: int) -> int:
    payload = part.get_payload()
    if isinstance(payload, list) and depth < max_depth:
        if part.get_content_type() == "multipart/encrypted":
            part.set_type("multipart/mixed")
        return sum(_withhold_under(child, depth + 1, max_depth) for child in payload
                   if isinstance(child, Message))
    if isinstance(payload, list) or read_part(part).unreadable:
        withhold(part)
        return 1
    return 0
