"""Message-IDs: read a message's thread references and mint new ids that carry no information."""

from __future__ import annotations

import secrets
from email.message import EmailMessage

from gateway.mail.parse import header_message_ids


def _header_text(msg: EmailMessage, name: str) -> str | None:
    try:
        value = msg.get(name)
        return str(value) if value is not None else None
    except Exception:  # a malformed header counts as absent
        return None


def reference_ids(msg: EmailMessage) -> list[str]:
    """In-Reply-To ids then References ids, each once, in order of appearance."""
    ids: list[str] = []
    for name in ("In-Reply-To", "References"):
        for found in header_message_ids(_header_text(msg, name)):
            if found not in ids:
                ids.append(found)
    return ids


def new_message_id(domain: str) -> str:
    """`<random@domain>`: 128 random bits, nothing about time, host or people."""
    return f"<{secrets.token_hex(16)}@{domain}>"
