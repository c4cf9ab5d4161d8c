"""The visible sender, read strictly: exactly one mailbox in exactly one From header, nothing else."""

from __future__ import annotations

import re
from email import _header_value_parser as parser
from email import errors

_PLAIN_ADDRESS = re.compile(r"[^\s<>()\[\],;:\"@=?]+(?:=[^\s<>()\[\],;:\"@?]+)*@"
                            r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+")
# "addr" or "Plain Name <addr>" with a dot-atom address: what the header parser reads as exactly
# one mailbox without defects, its address as written (the parser costs ~0.1 ms a message).
_SIMPLE_MAILBOX = re.compile(r"(?:[A-Za-z0-9]+(?: [A-Za-z0-9]+)* <(?P<angled>{0})>|(?P<bare>{0}))"
                             .format(r"(?:[A-Za-z0-9_+=-]+\.)*[A-Za-z0-9_+=-]+@"
                                     r"(?:[A-Za-z0-9-]+\.)*[A-Za-z0-9-]+"))


def sole_mailbox(values: list[str]) -> str | None:
    """The one From address, lowercased, or None.

    None when there is not exactly one From header holding exactly one mailbox (a group, a second
    mailbox, text after the address, an unclosed bracket), and when the only "address" is inside
    an RFC 2047 encoded word: a client shows that as a name, and a check must not read it as an
    address. The raw (undecoded) value is parsed, so encoded words stay names."""
    if len(values) != 1:
        return None
    value = re.sub(r"\r?\n(?=[ \t])", "", values[0]).strip()
    if not value or "\x00" in value:
        return None
    simple = _SIMPLE_MAILBOX.fullmatch(value)
    if simple is not None:
        address = simple.group("angled") or simple.group("bare")
        return address.lower() if _PLAIN_ADDRESS.fullmatch(address) else None
    return parsed_mailbox(value)


def parsed_mailbox(value: str) -> str | None:
    """sole_mailbox of one unfolded value, read with the e-mail header parser."""
    try:
        addresses, rest = parser.get_address_list(value)
    except Exception:  # the parser gave up: not a readable mailbox
        return None
    if rest or len(addresses.addresses) != 1 or len(addresses.all_mailboxes) != 1:
        return None
    if addresses.addresses[0][0].token_type != "mailbox":  # a group, even of one
        return None
    if any(isinstance(d, errors.InvalidHeaderDefect) and not isinstance(d, errors.ObsoleteHeaderDefect)
           for d in addresses.all_defects):
        return None
    address = addresses.all_mailboxes[0].addr_spec
    if not _PLAIN_ADDRESS.fullmatch(address):
        return None
    return address.lower()
