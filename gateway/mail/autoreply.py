"""Recognize machine-sent mail: auto-replies (out of office, lists) and delivery failure reports."""

from __future__ import annotations

import re
from email.message import EmailMessage

from gateway.mail.parse import address_of

_AUTO_PRECEDENCE = frozenset({"auto_reply", "bulk", "junk", "list"})
_AUTO_SUBJECT = re.compile(
    r"^\s*(?:"
    r"auto(?:matic)?[ _-]?(?:reply|response|answer)"
    r"|auto\s*:"
    r"|autoreply|auto-reply|autorespon"
    r"|out of (?:the )?office"
    r"|away from (?:the )?office"
    r"|absence du bureau|absent du bureau|absente du bureau"
    r"|r[ée]ponse automatique|r[ée]ponse auto\b|message d'absence|notification d'absence"
    r")",
    re.IGNORECASE,
)
_DAEMON_LOCALS = frozenset({"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"})


def _header(msg: EmailMessage, name: str) -> str:
    try:
        value = msg.get(name)
        return str(value).strip() if value is not None else ""
    except Exception:  # malformed header: treat as absent
        return ""


def is_auto_reply(msg: EmailMessage) -> bool:
    """True when headers or subject say a machine wrote this (RFC 3834 and common practice)."""
    auto_submitted = _header(msg, "Auto-Submitted").lower()
    if auto_submitted and auto_submitted.split(";")[0].strip() != "no":
        return True
    if _header(msg, "X-Autoreply") or _header(msg, "X-Autorespond") or _header(msg, "X-Autoreply-From"):
        return True
    if _header(msg, "Precedence").lower() in _AUTO_PRECEDENCE:
        return True
    if _header(msg, "List-Id") or _header(msg, "List-Unsubscribe"):
        return True
    return _AUTO_SUBJECT.search(_header(msg, "Subject")) is not None


def is_bounce(msg: EmailMessage, envelope_from: str) -> bool:
    """True for delivery failure reports: null sender, DSN report, or a mailer daemon sender."""
    if envelope_from.strip().strip("<>").strip() == "":
        return True
    try:
        if msg.get_content_type() == "multipart/report":
            report_type = str(msg.get_param("report-type", "") or "").lower()
            if report_type in ("delivery-status", ""):
                return True
    except Exception:  # unreadable Content-Type: fall through to the sender checks
        pass
    for candidate in (envelope_from, address_of(_header(msg, "From")) or ""):
        local = candidate.strip().strip("<>").rpartition("@")[0] or candidate
        if local.strip().lower() in _DAEMON_LOCALS:
            return True
    return False


def mark_auto_reply(data: bytes) -> bytes:
    """A forwarded auto-reply keeps saying so (RFC 3834): the partner's own responder then stays
    silent, and two out-of-office responders cannot answer each other forever through a pair.
    `data` is the rewritten message, whose allow-list dropped the sender's markers."""
    end = data.find(b"\r\n\r\n")
    head = data if end < 0 else data[:end + 2]
    present = {line.split(b":", 1)[0].strip().lower() for line in head.split(b"\r\n")
               if line and line[:1] not in (b" ", b"\t")}
    extra = b""
    if b"auto-submitted" not in present:
        extra += b"Auto-Submitted: auto-replied\r\n"
    if b"precedence" not in present:
        extra += b"Precedence: bulk\r\n"
    return extra + data
