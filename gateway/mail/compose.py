"""Build the gateway's own messages (introductions, notices, reminders) as CRLF bytes."""

from __future__ import annotations

import email.policy
from collections.abc import Mapping
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from gateway.mail.alias import split_address


def _mailbox(name: str, address: str) -> Address:
    local, domain = split_address(address)
    return Address(display_name=name, username=local, domain=domain)


def compose(*, from_address: str, from_name: str, to_address: str, to_name: str, subject: str,
            text: str, html: str | None, message_id: str, date: datetime,
            reply_to: str | None = None, auto_submitted: str | None = None,
            extra_headers: Mapping[str, str] | None = None) -> bytes:
    """A UTF-8 message: text/plain, or multipart/alternative with the HTML beside it."""
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = _mailbox(from_name, from_address)
    msg["To"] = _mailbox(to_name, to_address)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id
    if reply_to:
        msg["Reply-To"] = reply_to
    if auto_submitted:
        msg["Auto-Submitted"] = auto_submitted
    for name, value in (extra_headers or {}).items():
        msg[name] = value
    msg.set_content(text, charset="utf-8", cte="quoted-printable")
    if html is not None:
        msg.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    return msg.as_bytes(policy=email.policy.SMTP)
