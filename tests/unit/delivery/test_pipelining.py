"""The pipelined session writes the bytes aiosmtplib writes and reads replies as it reads them."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest
from aiosmtplib.protocol import PERIOD_REGEX, normalize_message_line_endings

from gateway.delivery.pipelining import BadReply, Disconnected, Replies, message_size, wire_data

PIECES = [b"a", b"Bonjour", b"\r\n", b"\n", b"\r", b".", b"..", b"\r\n.", b"\n.\n", b" ",
          b"\xc3\xa9", b"\r\r\n", b"\n\r"]


def _aiosmtplib_wire(data: bytes) -> bytes:
    """What aiosmtplib's execute_data_command writes after DATA (its own two steps)."""
    normalized = normalize_message_line_endings(data)
    return PERIOD_REGEX.sub(b"..", normalized) + b".\r\n"


def test_wire_data_equals_aiosmtplibs_encoding() -> None:
    pick = random.Random(41)
    samples = [b"", b".", b"Subject: x\r\n\r\nbody\r\n", b"x" * 5000 + b"\r\n.\r\n"]
    samples += [b"".join(pick.choice(PIECES) for _ in range(pick.randrange(0, 30)))
                for _ in range(20000)]
    for data in samples:
        assert wire_data(data) == _aiosmtplib_wire(data), data
        assert message_size(data) == len(normalize_message_line_endings(data)), data


class _Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.closed = False

    def write(self, data: Any) -> None:
        self.written += data

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed



async def test_replies_split_and_joined_across_packets() -> None:
    replies = Replies(_Transport())
    waiting = asyncio.ensure_future(replies.next())
    for chunk in (b"25", b"0 2.1.0 Ok\r\n250-2.1.5 first\r\n250 2.1.5 ", b"second\r\n354 go\r\n"):
        replies.data_received(chunk)
    assert await waiting == (250, "2.1.0 Ok")
    assert await replies.next() == (250, "2.1.5 first\n2.1.5 second")
    assert await replies.next() == (354, "go")
    assert replies.usable


async def test_a_closed_connection_ends_the_wait_and_an_unasked_reply_spoils_the_session() -> None:
    replies = Replies(_Transport())
    replies.data_received(b"421 4.4.2 idle timeout\r\n")
    assert not replies.usable  # a reply nobody asked for: the next send reconnects
    assert await replies.next() == (421, "4.4.2 idle timeout")
    waiting = asyncio.ensure_future(replies.next())
    await asyncio.sleep(0)
    replies.connection_lost(None)
    with pytest.raises(Disconnected):
        await waiting
    with pytest.raises(Disconnected):
        replies.write(b"MAIL FROM:<>\r\n")


async def test_a_reply_that_is_not_smtp_fails_the_session() -> None:
    replies = Replies(_Transport())
    replies.data_received(b"HTTP/1.1 400 Bad Request\r\n")
    with pytest.raises(BadReply):
        await replies.next()
    assert replies.transport.is_closing()
