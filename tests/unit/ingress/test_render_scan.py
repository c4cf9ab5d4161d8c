"""The render check's two scans (a lowercased copy, or case-insensitive patterns) agree, and the
doors' inline path answers what limits.render_refusal answers."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

from gateway.ingress import doors
from gateway.ingress.limits import MAX_BOUNDARY, MAX_NESTING, render_refusal, render_scan

DATA = Path(__file__).resolve().parents[2] / "data"
PIECES = [b"Content-Type: multipart/mixed; boundary=", b"CONTENT-TYPE : Message/rfc822\r\n",
          b"content-type:multipart/ALTERNATIVE;\r\n BOUNDARY = \"", b"BoUnDaRy=", b"boundary =\t",
          b"Subject: ", b"SUBJECT:", b"\r\n", b"\r\n\r\n", b"\r\n ", b"x" * 90, b"Y" * 120, b"\"",
          b";", b"text/plain", b"=?utf-8?q?caf=C3=A9?=", b"\xc3\xa9", b"--", b"multipart/"]


def _messages() -> list[bytes]:
    pick = random.Random(31)
    made = [b"".join(pick.choice(PIECES) for _ in range(pick.randrange(1, 40)))
            for _ in range(3000)]
    made += [b"Content-Type: multipart/mixed; boundary=" + b"b" * (MAX_BOUNDARY + n) + b"\r\n\r\n"
             for n in (-1, 0, 1)]
    made += [b"Content-Type: multipart/mixed\r\n\r\n" * (MAX_NESTING + n) for n in (-1, 0, 1, 2)]
    made += [b"Subject: " + b"s" * 2100 + b"\r\n\r\nbody"]
    made += [path.read_bytes() for path in sorted((DATA / "adversarial").glob("*.eml"))]
    return made


def test_the_lowered_copy_scans_as_the_case_insensitive_patterns() -> None:
    for raw in _messages():
        assert render_scan(raw, lowered_copy=True) == render_scan(raw, lowered_copy=False), raw


def test_the_doors_inline_check_answers_as_render_refusal() -> None:
    async def inline_all(messages: list[bytes]) -> list[str | None]:
        return [await doors._render_refusal(raw) for raw in messages]

    messages = _messages()
    assert all(len(raw) <= doors.INLINE_SCAN_BYTES for raw in messages)
    answers = asyncio.run(inline_all(messages))
    assert answers == [render_refusal(raw) for raw in messages]
    assert any(answers) and not all(answers)
