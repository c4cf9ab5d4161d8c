"""fastparse gives exactly the message the stdlib's parser gives, or leaves the message to it."""

from __future__ import annotations

import email
import random
from email.message import Message
from email.policy import Policy
from pathlib import Path

import pytest

from gateway.mail.fastparse import _single_part, message_from_bytes
from gateway.mail.parse import normalize_line_endings
from gateway.mail.rewrite import _INPUT_POLICY
from gateway.mail.text import FAST_DEFAULT_POLICY
from tests.unit.mail.test_fast_paths import FILES, _key

POLICIES = (_INPUT_POLICY, FAST_DEFAULT_POLICY)


def _state(msg: Message) -> object:
    """Everything the parser sets on a message, recursively."""
    payload = msg._payload  # type: ignore[attr-defined]
    return (type(msg), msg.policy, list(msg._headers), msg.get_unixfrom(),  # type: ignore[attr-defined]
            [(type(d), str(d)) for d in msg.defects], msg.preamble, msg.epilogue,
            msg.get_default_type(), msg.get_charset(),
            [_state(p) for p in payload] if isinstance(payload, list) else payload)


def _same_as_stdlib(raw: bytes, policy: Policy) -> bool:
    """True when the fast path took the message (and gave what the stdlib gives)."""
    stock = email.message_from_bytes(raw, policy=policy)
    assert _state(message_from_bytes(raw, policy)) == _state(stock)
    return _single_part(raw.decode("ascii", "surrogateescape"), policy) is not None


@pytest.mark.parametrize("path", FILES, ids=_key)
def test_every_corpus_message_parses_as_with_the_stdlib(path: Path) -> None:
    raw = path.read_bytes()
    for policy in POLICIES:
        _same_as_stdlib(raw, policy)
        _same_as_stdlib(normalize_line_endings(raw), policy)


FIELDS = ["Subject: x", "Subject:", "subject:  two  words ", "From: a@b.example", "From a@b",
          "From  x", ":no name", "X-\udce9\udca9: 8 bit", "X-8bit: caf\udcc3\udca9", " cont",
          "\tcont", " ", "Content-Type: multipart/mixed; boundary=b", "Content-Type: message/rfc822",
          "Content-Type: text/plain; charset=utf-8", "Content-Type: text/html",
          "content-type: Message/Delivery-Status", "Content-Type: MULTIPART/alternative",
          "Content-Transfer-Encoding: base64", "not a header", "Na me: x", "X:y", "X\x00: nul",
          "X-Long: " + "a" * 200]
ENDS = ["\r\n", "\n", "\r", "\r\r\n"]
BODIES = ["", "body\r\n", "body", "\r\nlines\nmixed\rends\r\n", "--b\r\n\r\nx\r\n--b--\r\n",
          "From the start\r\n", "caf\udcc3\udca9\r\n"]


def test_random_messages_parse_as_with_the_stdlib() -> None:
    pick = random.Random(23)
    taken = 0
    for _ in range(6000):
        fields = [pick.choice(FIELDS) + pick.choice(ENDS) for _ in range(pick.randrange(0, 7))]
        head = "".join(fields)
        blank = pick.choice(ENDS + ["", "x\r\n"])
        text = head + blank + pick.choice(BODIES)
        raw = text.encode("ascii", "surrogateescape")  # the escapes stand for 8-bit bytes
        for policy in POLICIES:
            taken += _same_as_stdlib(raw, policy)
    assert taken > 2000
