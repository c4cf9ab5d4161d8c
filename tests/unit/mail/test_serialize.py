"""serialize.to_bytes writes what the stdlib's BytesGenerator writes with the same policy."""

from __future__ import annotations

import email
import random
from email.generator import BytesGenerator
from io import BytesIO
from pathlib import Path

import pytest

from gateway.mail.parse import normalize_line_endings
from gateway.mail.rewrite import _INPUT_POLICY
from gateway.mail.serialize import _LINE_END, _OUTPUT_POLICY, _with_line_ends, to_bytes
from tests.unit.mail.test_fast_paths import FILES, _key


def _stock(msg: email.message.Message) -> bytes:
    out = BytesIO()
    BytesGenerator(out, mangle_from_=False, policy=_OUTPUT_POLICY).flatten(msg)
    return out.getvalue()


@pytest.mark.parametrize("path", FILES, ids=_key)
def test_every_message_is_written_as_the_stdlib_writes_it(path: Path) -> None:
    raw = path.read_bytes()
    for data in (raw, normalize_line_endings(raw)):
        assert to_bytes(email.message_from_bytes(data, policy=_INPUT_POLICY)) == _stock(
            email.message_from_bytes(data, policy=_INPUT_POLICY))


def test_line_ends_equal_the_regex_split_and_join() -> None:
    pick = random.Random(5)
    for _ in range(20000):
        text = "".join(pick.choice(["a", "é", "\udce9", "\r", "\n", "\r\n", " "])
                       for _ in range(pick.randrange(0, 12)))
        for end in ("\r\n", "\n", "\r"):
            assert _with_line_ends(text, end) == end.join(_LINE_END.split(text)), (text, end)
