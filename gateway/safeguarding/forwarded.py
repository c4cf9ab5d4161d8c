"""Which message a forwarded report is about: the ids and aliases of ours that the copy names."""

from __future__ import annotations

import re

_ID = r"<[^<>\s@]{1,200}@{domain}>"


def gateway_ids_in(raw: bytes, domain: str) -> list[str]:
    """Message-IDs we minted (`<random@domain>`) found anywhere in the forwarded copy, in order."""
    text = raw.decode("utf-8", errors="replace")
    pattern = re.compile(_ID.replace("{domain}", re.escape(domain)), re.IGNORECASE)
    found: list[str] = []
    for match in pattern.finditer(text):
        value = match.group(0)
        if value not in found:
            found.append(value)
    return found


def aliases_in(text: str, domain: str) -> list[str]:
    """Local parts of addresses at our domain that appear in the forwarded text."""
    pattern = re.compile(r"([A-Za-z0-9._+-]{1,64})@" + re.escape(domain) + r"\b", re.IGNORECASE)
    found: list[str] = []
    for match in pattern.finditer(text):
        local = match.group(1).lower()
        if local not in found:
            found.append(local)
    return found
