"""The header fields of a plain header block, as the e-mail parser's raw_items() gives them,
without running the parser (pure: bytes in, (name, value) pairs or None out).

At DATA the accept step needs three headers of every message; the feed parser cost more than
everything else the SMTP edge does with a message. A block of ASCII `Name: value` lines and
their continuation lines, with CRLF line ends, reads the same with a split; anything else
(non-ASCII, NUL, bare CR or LF, a line that is not a field, a leading continuation, a Unix
"From " line) returns None, and the caller parses it."""

from __future__ import annotations

import re

# A field name as the feed parser recognizes one (RFC 5322 ftext: printable ASCII but ':').
_NAME = re.compile(rb"[!-9;-~]+:")


def header_block(raw: bytes) -> bytes:
    """The header lines of a CRLF message, with the last field's CRLF (no blank line)."""
    end = raw.find(b"\r\n\r\n")
    return raw if end < 0 else raw[:end + 2]


def simple_fields(head: bytes) -> list[tuple[str, str]] | None:
    """[(name, value)] like `BytesHeaderParser(...).parsebytes(head).raw_items()`: the value
    without the space after the colon, continuation lines kept with their CRLF; or None."""
    if not head.isascii() or b"\x00" in head:
        return None
    crlf = head.count(b"\r\n")
    if head.count(b"\r") != crlf or head.count(b"\n") != crlf:
        return None  # a bare CR or LF: the parser splits lines there too
    lines = head.split(b"\r\n")
    if lines[-1] == b"":
        lines.pop()
    fields: list[tuple[bytes, list[bytes]]] = []
    for line in lines:
        if line[:1] in (b" ", b"\t"):
            if not fields:
                return None  # the parser reports a defect and keeps the line apart
            fields[-1][1].append(line)
            continue
        found = _NAME.match(line)
        if found is None:
            return None  # not a field: the parser would end the header block here
        fields.append((line[:found.end() - 1], [line[found.end():].lstrip(b" \t")]))
    return [(name.decode("ascii"), b"\r\n".join(parts).decode("ascii"))
            for name, parts in fields]
