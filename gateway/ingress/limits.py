"""What a message may cost us, checked at SMTP time: header count and bytes, and whether it can be
rendered at all (MIME nesting, boundary length, subject length). Pure: bytes in, a reply or None."""

from __future__ import annotations

import re
from email import policy
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesParser

MAX_NESTING = 30  # the rewrite gives up past 50; real mail rarely goes past 5
MAX_BOUNDARY = 200  # RFC 2046 allows 70; some clients write longer ones
MAX_SUBJECT_CHARS = 2000

TOO_MANY_HEADERS = ("554 5.6.0 Your message has {count} header lines; this gateway accepts at"
                    " most {limit}. Your message was not delivered")
HEADERS_TOO_BIG = ("552 5.3.4 Your message's header is {size} bytes; this gateway accepts at most"
                   " {limit}. Your message was not delivered")
UNRENDERABLE = ("554 5.6.0 Your message cannot be shown to its recipient ({why}); please send it"
                " again in a simpler form (plain text, fewer forwarded parts)")


def header_block_size(raw: bytes) -> tuple[int, int]:
    """(header fields, header bytes) of a CRLF message, in one linear scan."""
    end = raw.find(b"\r\n\r\n")
    head = raw if end < 0 else raw[:end + 2]
    fields = 0
    start = 0
    while start < len(head):
        stop = head.find(b"\r\n", start)
        stop = len(head) if stop < 0 else stop
        if stop > start and head[start:start + 1] not in (b" ", b"\t"):
            fields += 1
        start = stop + 2
    return fields, len(head)


def header_refusal(raw: bytes, *, max_count: int, max_bytes: int) -> str | None:
    fields, size = header_block_size(raw)
    if size > max_bytes:
        return HEADERS_TOO_BIG.format(size=size, limit=max_bytes)
    if fields > max_count:
        return TOO_MANY_HEADERS.format(count=fields, limit=max_count)
    return None


_BOUNDARY = re.compile(rb"""boundary\s*=\s*(?:"([^"\r\n]*)"|([^\s;"]+))""", re.IGNORECASE)
_NESTING_TYPE = re.compile(rb"content-type\s*:\s*(?:multipart|message)/", re.IGNORECASE)
# The same patterns for a lowercased copy: a case-sensitive search jumps to its literal prefix,
# eight times faster than the case-insensitive one (lowering keeps every length and position).
_BOUNDARY_LOWER = re.compile(_BOUNDARY.pattern)
_NESTING_TYPE_LOWER = re.compile(_NESTING_TYPE.pattern)
_SUBJECT = re.compile(rb"^subject\s*:", re.IGNORECASE | re.MULTILINE)
LOWERED_COPY_MAX = 1024 * 1024  # above this, no second copy of the message in memory


def render_refusal(raw: bytes) -> str | None:
    """Why the message could not be rendered for its recipient, as an SMTP reply, or None.

    A linear scan first (render_scan); only a message with more nestable parts than the nesting
    limit, or a subject near the limit, is parsed to be sure (in a worker thread, by the caller)."""
    refusal, must_parse = render_scan(raw)
    return parsed_refusal(raw) if must_parse else refusal


def render_scan(raw: bytes, *, lowered_copy: bool | None = None) -> tuple[str | None, bool]:
    """(the refusal a linear scan finds, whether the message must be parsed to be sure): the
    longest boundary, how many parts could nest, the subject's size. No parse, no thread."""
    if lowered_copy is None:
        lowered_copy = len(raw) <= LOWERED_COPY_MAX
    text, boundary, nesting = ((raw.lower(), _BOUNDARY_LOWER, _NESTING_TYPE_LOWER)
                               if lowered_copy else (raw, _BOUNDARY, _NESTING_TYPE))
    longest = max((len(m.group(1) or m.group(2) or b"") for m in boundary.finditer(text)),
                  default=0)
    if longest > MAX_BOUNDARY:
        return UNRENDERABLE.format(
            why=f"a MIME boundary of {longest} characters; at most {MAX_BOUNDARY}"), False
    end = raw.find(b"\r\n\r\n")
    head = raw if end < 0 else raw[:end + 2]
    subject_bytes = sum(len(line) for line in _subject_lines(head))
    nestable = len(nesting.findall(text))
    return None, nestable > MAX_NESTING or subject_bytes > MAX_SUBJECT_CHARS


def _subject_lines(head: bytes) -> list[bytes]:
    found = _SUBJECT.search(head)
    if not found:
        return []
    stop = found.start()
    while True:  # the field and its continuation lines
        nxt = head.find(b"\r\n", stop)
        if nxt < 0 or head[nxt + 2:nxt + 3] not in (b" ", b"\t"):
            return [head[found.start():nxt if nxt >= 0 else len(head)]]
        stop = nxt + 2


def parsed_refusal(raw: bytes) -> str | None:
    """render_refusal's answer from the parsed message (CPU-heavy: run it off the loop)."""
    try:
        message = BytesParser(policy=policy.compat32).parsebytes(raw)
        why = _unrenderable(message)
    except RecursionError:
        why = f"MIME parts nested more than {MAX_NESTING} deep"
    except Exception:  # the parser itself gave up
        why = "its MIME structure cannot be read"
    return UNRENDERABLE.format(why=why) if why else None


def _unrenderable(message: Message) -> str | None:
    subject = _decoded_subject(message)
    if len(subject) > MAX_SUBJECT_CHARS:
        return f"a subject of {len(subject)} characters; at most {MAX_SUBJECT_CHARS}"
    stack: list[tuple[Message, int]] = [(message, 0)]
    while stack:
        part, depth = stack.pop()
        if depth > MAX_NESTING:
            return f"MIME parts nested more than {MAX_NESTING} deep"
        boundary = part.get_param("boundary") if part.get_content_maintype() == "multipart" else None
        if isinstance(boundary, str) and len(boundary) > MAX_BOUNDARY:
            return f"a MIME boundary of {len(boundary)} characters; at most {MAX_BOUNDARY}"
        payload = part.get_payload()
        if isinstance(payload, list):
            stack.extend((child, depth + 1) for child in payload if isinstance(child, Message))
    return None


def _decoded_subject(message: Message) -> str:
    values = message.get_all("Subject") or []
    text = "".join(str(v) for v in values)
    if "=?" not in text:
        return text
    try:
        return str(make_header(decode_header(text)))
    except Exception:  # undecodable: its raw length is what a client would struggle with
        return text
