"""Signed, case-insensitive tokens that survive in an e-mail local part: digits, '-', lowercase hex."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime

from sqlmodel import Session

from gateway.store.models import GatewaySecret

SIGNATURE_HEX = 24  # 96 bits


def signing_secret(session: Session, env_name: str = "GATEWAY_WEB_SECRET") -> bytes:
    """The operator's secret if set, else one generated once and shared through the database."""
    from_env = os.environ.get(env_name)
    if from_env:
        return from_env.encode()
    row = session.get(GatewaySecret, "signing")
    if row is None:
        row = GatewaySecret(name="signing", value=secrets.token_hex(32))
        session.add(row)
        session.flush()
    return row.value.encode()


def _signature(secret: bytes, purpose: str, parts: tuple[str, ...]) -> str:
    text = "|".join((purpose, *parts)).encode()
    return hmac.new(secret, text, hashlib.sha256).hexdigest()[:SIGNATURE_HEX]


def sign(secret: bytes, purpose: str, *parts: str) -> str:
    for part in parts:
        if not part or not all(c.isalnum() and c.lower() == c for c in part):
            raise ValueError(f"token parts must be lowercase alphanumeric, got {part!r}")
    return "-".join((*parts, _signature(secret, purpose, parts)))


def verify(secret: bytes, purpose: str, token: str) -> list[str] | None:
    """The parts of a token with a valid signature, else None."""
    *parts, signature = token.lower().split("-")
    if not parts:
        return None
    expected = _signature(secret, purpose, tuple(parts))
    return parts if hmac.compare_digest(expected, signature) else None


class BadToken(Exception):
    """Why a token was not obeyed: "forged" or "expired"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def read_action_token(secret: bytes, purpose: str, token: str, codes: Mapping[str, str],
                      now: datetime) -> tuple[int, str, int]:
    """(subject id, action, staff id) of an `<id>-<code>-<staff>-<expires>` token sent to staff
    (expiry in minutes since the epoch); raises BadToken("forged" | "expired")."""
    parts = verify(secret, purpose, token)
    if parts is None or len(parts) != 4 or parts[1] not in codes \
            or not all(p.isdigit() for p in (parts[0], parts[2], parts[3])):
        raise BadToken("forged")
    subject_id, code, staff_id, expires = parts
    if now > datetime.fromtimestamp(int(expires) * 60, UTC):
        raise BadToken("expired")
    return int(subject_id), codes[code], int(staff_id)
