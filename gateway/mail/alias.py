"""Alias tokens and the canonical spelling of addresses."""

from __future__ import annotations

import base64
import secrets

ALIAS_BYTES = 10  # 80 bits of randomness: unguessable, and 16 characters in base32


def new_alias_local_part() -> str:
    """A fresh random local part: 16 lowercase letters and digits, 80 bits from `secrets`."""
    return base64.b32encode(secrets.token_bytes(ALIAS_BYTES)).decode("ascii").lower()


def normalize_address(address: str) -> str:
    """Strip spaces and angle brackets and lowercase the whole address."""
    return address.strip().strip("<>").strip().lower()


def split_address(address: str) -> tuple[str, str]:
    """(local part, domain), both lowercased; the domain is empty when there is no `@`."""
    normalized = normalize_address(address)
    local, _at, domain = normalized.rpartition("@")
    if not _at:
        return normalized, ""
    return local, domain
