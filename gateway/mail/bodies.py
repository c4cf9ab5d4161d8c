"""Rewrite the text of MIME leaves in place, re-encoding only what changed or cannot be sent."""

from __future__ import annotations

import base64
import binascii
import codecs
from collections.abc import Callable
from email.message import Message

MAX_LINE = 998
IDENTITY_ENCODINGS = frozenset({"", "7bit", "8bit", "binary"})

Substitute = Callable[[str], tuple[str, int]]


def transfer_encoding(part: Message) -> str:
    value = part.get("Content-Transfer-Encoding")
    return str(value).strip().lower() if value is not None else ""


def has_long_line(payload: str) -> bool:
    """True when a line of the encoded payload would exceed SMTP's 998-octet limit."""
    if len(payload) <= MAX_LINE:
        return False
    return max(map(len, payload.splitlines())) > MAX_LINE


def _codec_for(part: Message) -> str:
    """The codec named by the part's charset, or Latin-1 (which decodes any bytes) if unknown."""
    charset = part.get_content_charset() or "us-ascii"
    try:
        name = codecs.lookup(charset).name
    except (LookupError, ValueError):
        return "latin-1"
    return "latin-1" if name == "ascii" else name


def set_encoded_payload(part: Message, data: bytes, *, as_base64: bool) -> None:
    """Store `data` as base64 or quoted-printable, keeping every other header of the part."""
    if as_base64:
        encoded = base64.encodebytes(data).decode("ascii")
        cte = "base64"
    else:
        encoded = binascii.b2a_qp(data.replace(b"\r\n", b"\n"), istext=True).decode("ascii")
        cte = "quoted-printable"
    part.set_payload(encoded)
    if "Content-Transfer-Encoding" in part:
        part.replace_header("Content-Transfer-Encoding", cte)
    else:
        part["Content-Transfer-Encoding"] = cte


def rewrite_text_leaf(part: Message, substitute: Substitute) -> int:
    """Apply `substitute` to the decoded text of one leaf; re-encode it when needed.

    A part whose bytes do not decode in its charset is handled as Latin-1, which maps bytes to
    characters one to one: the replacement still happens and every other byte is kept.
    """
    raw_payload = part.get_payload()
    if not isinstance(raw_payload, str):
        return 0
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return 0
    codec = _codec_for(part)
    try:
        text = data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        codec = "latin-1"
        text = data.decode(codec)
    new_text, count = substitute(text)
    cte = transfer_encoding(part)
    if count == 0 and not has_long_line(raw_payload):
        return 0
    try:
        new_data = new_text.encode(codec)
    except UnicodeEncodeError:
        new_data = new_text.encode("utf-8")
        part.set_param("charset", "utf-8")
    set_encoded_payload(part, new_data, as_base64=cte == "base64")
    return count


def rewrite_raw_leaf(part: Message, substitute: Substitute) -> int:
    """For a leaf whose encoded form is readable as is (7bit/8bit): scrub the visible text."""
    raw_payload = part.get_payload()
    if not isinstance(raw_payload, str):
        return 0
    new_payload, count = substitute(raw_payload)
    if count:
        part.set_payload(new_payload)
    return count


def reencode_long_binary(part: Message) -> None:
    """A non-text leaf with over-long lines is re-encoded as base64; its decoded bytes stay equal."""
    raw_payload = part.get_payload()
    if isinstance(raw_payload, str) and has_long_line(raw_payload):
        data = part.get_payload(decode=True)
        if isinstance(data, bytes):
            set_encoded_payload(part, data, as_base64=True)
