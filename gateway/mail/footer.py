"""Append a footer to a message's body: its first plain-text and first HTML part, nothing else."""

from __future__ import annotations

import email
import re
from email.generator import BytesGenerator
from email.message import Message
from email.policy import compat32
from io import BytesIO

from gateway.mail.bodies import rewrite_text_leaf

_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)


def _body_leaves(msg: Message) -> list[Message]:
    """The leaves a client shows as the body: not attachments, not inside a forwarded message."""
    found: list[Message] = []

    def visit(part: Message, depth: int) -> None:
        if depth > 50:
            return
        payload = part.get_payload()
        if isinstance(payload, list):
            if part.get_content_maintype() == "message":
                return
            for child in payload:
                if isinstance(child, Message):
                    visit(child, depth + 1)
            return
        if part.get_content_maintype() == "text" and part.get_content_disposition() != "attachment":
            found.append(part)

    visit(msg, 0)
    return found


def _add_html(html: str, footer: str) -> tuple[str, int]:
    ends = list(_BODY_END.finditer(html))
    if not ends:
        return html + footer, 1
    at = ends[-1].start()
    return html[:at] + footer + html[at:], 1


def append_footer(raw: bytes, text: str, html: str) -> bytes:
    """`text` after the first text/plain body part, `html` at the end of the first text/html one."""
    # compat32 and no header refolding: the headers the rewrite built leave exactly as they were.
    msg = email.message_from_bytes(raw, policy=compat32)
    done: set[str] = set()
    for part in _body_leaves(msg):
        subtype = part.get_content_subtype()
        if subtype in done or subtype not in ("plain", "html"):
            continue
        done.add(subtype)
        if subtype == "plain":
            rewrite_text_leaf(part, lambda body: (body.rstrip("\n") + "\n" + text, 1))
        else:
            rewrite_text_leaf(part, lambda body: _add_html(body, html))
    if not done:
        return raw
    out = BytesIO()
    BytesGenerator(out, mangle_from_=False, policy=compat32.clone(linesep="\r\n")).flatten(msg)
    return out.getvalue()
