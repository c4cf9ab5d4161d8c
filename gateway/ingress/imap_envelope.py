"""Recover the SMTP envelope (sender, candidate recipients) from the headers of a mailbox copy."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses

# Order matters: the sink takes the first address at the gateway domain, and the headers a
# delivering MTA adds (Delivered-To, X-Original-To) name the real recipient even when
# To/Cc do not (Bcc, mailing lists).
RECIPIENT_HEADERS = ("Delivered-To", "X-Original-To", "To", "Cc")


@dataclass(frozen=True)
class RecoveredEnvelope:
    envelope_from: str
    recipients: list[str]


def recover_envelope(raw: bytes) -> RecoveredEnvelope:
    """Sender from Return-Path (else From), recipients in RECIPIENT_HEADERS order, deduplicated.

    Never raises: a message whose headers cannot be read gets an empty envelope, which the
    sink answers as unroutable.
    """
    try:
        headers = BytesHeaderParser(policy=compat32).parsebytes(raw)
        return RecoveredEnvelope(_sender(headers), _recipients(headers))
    except Exception:  # malformed input must never stop the poller
        return RecoveredEnvelope("", [])


def _addresses(headers: Message, name: str) -> list[str]:
    found: list[str] = []
    for value in headers.get_all(name, []):
        found.extend(_addresses_in(str(value)))
    return found


def _sender(headers: Message) -> str:
    return_path = headers.get_all("Return-Path", [])
    if return_path:
        # The topmost Return-Path is the one the final MTA wrote; "<>" is a bounce.
        addresses = _addresses_in(str(return_path[0]))
        if addresses or str(return_path[0]).strip() == "<>":
            return addresses[0] if addresses else ""
    senders = _addresses(headers, "From")
    return senders[0] if senders else ""


def _addresses_in(value: str) -> list[str]:
    found = []
    for _display, address in getaddresses([value]):
        address = address.strip().strip("<>").strip()
        if "@" in address and not any(ch.isspace() for ch in address):
            found.append(address)
    return found


def _recipients(headers: Message) -> list[str]:
    seen: set[str] = set()
    ordered: list[str] = []
    for name in RECIPIENT_HEADERS:
        for address in _addresses(headers, name):
            if address.lower() not in seen:
                seen.add(address.lower())
                ordered.append(address)
    return ordered
