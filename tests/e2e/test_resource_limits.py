"""One sender must not stall everyone, over SMTP against the real gateway: header count and size
caps, messages that cannot be rendered refused with a reason (never a silent placeholder), a cap
on concurrent sessions. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.clock import MovableClock
from tests.conftest import make_settings
from tests.e2e.harness import Harness, PairInfo, simple_message
from tests.e2e.moderation_helpers import received_by
from tests.e2e.smarthost import Smarthost
from tests.e2e.test_relay_refusals import assert_human_sentence, stored_messages

pytestmark = pytest.mark.e2e


@pytest.fixture
async def capped(db_url: str, tmp_path: Path, clock: MovableClock, smarthost: Smarthost,
                 empty_rules: Path) -> AsyncIterator[tuple[Harness, PairInfo]]:
    settings = make_settings(db_url, tmp_path, rules_dir=empty_rules,
                             limits={"max_sessions": 3, "per_participant_hour": 1000,
                                     "per_pair_day": 1000})
    harness = Harness(settings, clock, smarthost.port)
    await harness.start()
    pair = await harness.make_pair()
    await harness.pump()
    smarthost.clear()
    try:
        yield harness, pair
    finally:
        await harness.stop()


def with_top(data: bytes, top: bytes) -> bytes:
    return top + data


def nested(depth: int, sender: str, to: str) -> bytes:
    inner = b"Content-Type: text/plain; charset=utf-8\r\n\r\nBonjour\r\n"
    for level in range(depth):
        b = b"b%d" % level
        inner = (b'Content-Type: multipart/mixed; boundary="' + b + b'"\r\n\r\n--' + b + b"\r\n"
                 + inner + b"\r\n--" + b + b"--\r\n")
    return (f"From: {sender}\r\nTo: {to}\r\nSubject: Poupées russes\r\nMIME-Version: 1.0\r\n"
            .encode() + inner)


def long_boundary(sender: str, to: str) -> bytes:
    b = b"x" * 1000
    return (f"From: {sender}\r\nTo: {to}\r\nSubject: Frontière\r\nMIME-Version: 1.0\r\n".encode()
            + b'Content-Type: multipart/mixed; boundary="' + b + b'"\r\n\r\n--' + b
            + b"\r\nContent-Type: text/plain\r\n\r\nBonjour\r\n--" + b + b"--\r\n")


@pytest.mark.parametrize("case", ["30000_headers", "huge_header", "subject_100k", "nested_60",
                                  "boundary_1000"])
async def test_what_cannot_be_handled_is_refused_with_a_reason(
        capped: tuple[Harness, PairInfo], smarthost: Smarthost, case: str) -> None:
    h, pair = capped
    sender, to = pair.mentor_email, pair.mentee_alias
    data = {
        "30000_headers": lambda: with_top(simple_message(sender, to),
                                          b"".join(b"X-H%d: v\r\n" % i for i in range(30000))),
        "huge_header": lambda: with_top(simple_message(sender, to),
                                        b"X-Big: " + b"a" * 300_000 + b"\r\n"),
        "subject_100k": lambda: simple_message(sender, to).replace(
            b"Subject: Bonjour", b"Subject: " + b"A" * 100_000, 1),
        "nested_60": lambda: nested(60, sender, to),
        "boundary_1000": lambda: long_boundary(sender, to),
    }[case]()
    started = time.monotonic()
    outcome = await h.send(sender, [to], data)
    assert outcome.code in (552, 554), outcome
    assert outcome.text[:5] in ("5.3.4", "5.6.0"), outcome
    assert_human_sentence(outcome.text)
    assert time.monotonic() - started < 5
    await h.pump()
    assert smarthost.messages == [] and await stored_messages(h) == 0


async def test_reasonable_nesting_still_passes(capped: tuple[Harness, PairInfo],
                                               smarthost: Smarthost) -> None:
    h, pair = capped
    outcome = await h.send(pair.mentor_email, [pair.mentee_alias],
                           nested(5, pair.mentor_email, pair.mentee_alias))
    assert outcome.code == 250, outcome
    await h.pump()
    [forward] = received_by(smarthost, pair.mentee_email)
    assert "Bonjour" in forward.as_string()


def greeting(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        return conn.recv(200)


def open_sessions(port: int, count: int) -> list[socket.socket]:
    sessions = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(count)]
    for conn in sessions:
        assert conn.recv(200).startswith(b"220")
    return sessions


async def test_sessions_past_the_cap_are_told_to_come_back(capped: tuple[Harness, PairInfo]) -> None:
    h, _pair = capped
    held = await asyncio.to_thread(open_sessions, h.port, 3)  # the server runs on this loop
    try:
        refused = await asyncio.to_thread(greeting, h.port)
        assert refused.startswith(b"421 4.3.2"), refused
    finally:
        for conn in held:
            conn.close()
    await asyncio.sleep(0.2)  # the server sees the closes
    assert (await asyncio.to_thread(greeting, h.port)).startswith(b"220")
