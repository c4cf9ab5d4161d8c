"""Signed action tokens sent to staff: obeyed only as signed, for their purpose, before expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.tokens import BadToken, read_action_token, sign

SECRET = b"s" * 32
CODES = {"a": "approve", "r": "reject"}
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def token(*parts: str, purpose: str = "moderate", secret: bytes = SECRET) -> str:
    return sign(secret, purpose, *parts)


def expires(delta: timedelta) -> str:
    return str(int((NOW + delta).timestamp() // 60))


def test_a_valid_token_gives_subject_action_and_staff() -> None:
    good = token("42", "a", "7", expires(timedelta(hours=1)))
    assert read_action_token(SECRET, "moderate", good, CODES, NOW) == (42, "approve", 7)
    assert read_action_token(SECRET, "moderate", good.upper(), CODES, NOW) == (42, "approve", 7)


@pytest.mark.parametrize("bad", [
    token("42", "a", "7", expires(timedelta(hours=1)), purpose="report"),  # another purpose
    token("42", "a", "7", expires(timedelta(hours=1)), secret=b"x" * 32),  # another secret
    token("42", "x", "7", expires(timedelta(hours=1))),  # an action that does not exist
    token("42", "a", expires(timedelta(hours=1))),  # a part missing
    token("42", "a", "7", expires(timedelta(hours=1))).replace("42-", "43-", 1),  # tampered
    token("4a2", "a", "7", expires(timedelta(hours=1))),  # not a number
    "", "-", "garbage",
])
def test_anything_else_is_forged(bad: str) -> None:
    with pytest.raises(BadToken) as refused:
        read_action_token(SECRET, "moderate", bad, CODES, NOW)
    assert refused.value.reason == "forged"


def test_a_token_past_its_time_is_expired() -> None:
    old = token("42", "r", "7", expires(-timedelta(minutes=2)))
    with pytest.raises(BadToken) as refused:
        read_action_token(SECRET, "moderate", old, CODES, NOW)
    assert refused.value.reason == "expired"
