"""The plain reading of a header block gives what the e-mail parser gives (read_headers too)."""

from __future__ import annotations

import random
from email.parser import BytesHeaderParser
from pathlib import Path

from gateway.ingress.accept import parsed_headers, read_headers
from gateway.ingress.header_fields import header_block, simple_fields
from gateway.mail.text import FAST_DEFAULT_POLICY

DATA = Path(__file__).resolve().parents[2] / "data"
NAMES = [b"From", b"FROM", b"from", b"Message-ID", b"Message-Id", b"message-id", b"Subject",
         b"SUBJECT", b"To", b"Date", b"X-Odd_Name!", b"Received", b"Subject ", b" Subject", b"",
         b"From ", b"Na\xc3\xa9me"]
VALUES = [b"a@example.org", b"Jean <jean@example.org>", b"<id-1@client.example>",
          b"<a@b> <c@d>", b"Bonjour", b"=?utf-8?q?caf=C3=A9?=", b"caf\xc3\xa9", b"", b" ", b"\t",
          b"x\x00y", b"<very@long", b"a, b@c", b"(comment) <x@y>", b"Re: a  b ", b"a\rb",
          b"a\nb", b"trailing\t"]
CONTINUATIONS = [b" more", b"\tmore", b" ", b"  <id-2@client.example>", b" jean@example.org"]


def _block(pick: random.Random) -> bytes:
    lines: list[bytes] = []
    if pick.random() < 0.05:
        lines.append(pick.choice([b" leading continuation", b"From someone Mon Jan 1", b"no colon"]))
    for _ in range(pick.randrange(0, 9)):
        name = pick.choice(NAMES)
        separator = pick.choice([b": ", b":", b":  ", b":\t", b" : "])
        lines.append(name + separator + pick.choice(VALUES))
        while pick.random() < 0.2:
            lines.append(pick.choice(CONTINUATIONS))
    ending = pick.choice([b"\r\n\r\nbody\r\n", b"\r\n", b"", b"\r\n\r\n"])
    return b"\r\n".join(lines) + ending


def test_simple_fields_equal_the_parsers_raw_items() -> None:
    pick = random.Random(17)
    simple = 0
    for _ in range(20000):
        raw = _block(pick)
        head = header_block(raw)
        fields = simple_fields(head)
        if fields is None:
            continue
        simple += 1
        parsed = BytesHeaderParser(policy=FAST_DEFAULT_POLICY).parsebytes(head + b"\r\n")
        assert fields == list(parsed.raw_items()), raw
        assert not parsed.defects, raw
    assert simple > 2000  # the plain path is exercised, not only the fallback


def test_read_headers_equals_the_parsed_reading() -> None:
    pick = random.Random(23)
    for _ in range(20000):
        raw = _block(pick)
        assert read_headers(raw) == parsed_headers(header_block(raw)), raw


def test_read_headers_of_the_test_mail_equals_the_parsed_reading() -> None:
    paths = sorted(DATA.glob("*.eml")) + sorted((DATA / "adversarial").glob("*.eml"))
    assert paths
    for path in paths:
        raw = path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        assert read_headers(raw) == parsed_headers(header_block(raw)), path
