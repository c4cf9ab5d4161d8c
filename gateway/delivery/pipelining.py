"""One SMTP mail transaction in two round trips (RFC 2920 PIPELINING) on a connection that
aiosmtplib opened (greeting, EHLO, STARTTLS, AUTH) and handed over.

aiosmtplib waits for each reply before the next command: MAIL, RCPT, DATA and the message were
four writes and four wake-ups per message, a third of delivery's CPU on the event loop. A server
that offers PIPELINING gets MAIL, RCPT and DATA in one write and the message in a second one;
the replies are read in order and mean what aiosmtplib makes of them (see transports.py)."""

from __future__ import annotations

import asyncio
import collections
import re

MAX_REPLY_BYTES = 32 * 1024  # as aiosmtplib: a server that never ends its reply is cut off
_LONE_LINE_END = re.compile(rb"\r\n|\n|\r(?!\n)")  # aiosmtplib's normalize_message_line_endings


class Disconnected(Exception):
    """The server closed the connection (or it failed) before the reply we wait for."""


class BadReply(Exception):
    """A reply that is not SMTP: the session cannot be trusted any more."""


class Replies(asyncio.Protocol):
    """The protocol of a taken-over connection: replies queue in the order they arrive."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self._buffer = bytearray()
        self._replies: collections.deque[tuple[int, str]] = collections.deque()
        self._waiter: asyncio.Future[None] | None = None
        self._lost = False
        self._error: Exception | None = None

    @property
    def usable(self) -> bool:
        """Open, and nothing unasked for came in (an idle server's 421 before it hangs up)."""
        return not self._lost and not self._replies and not self._buffer \
            and not self.transport.is_closing()

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        try:
            while (reply := self._one_reply()) is not None:
                self._replies.append(reply)
        except BadReply as exc:
            self._fail(exc)
            return
        if self._replies:
            self._wake()

    def eof_received(self) -> bool:
        self._fail(Disconnected("the server closed the connection"))
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(Disconnected(f"connection lost: {exc}" if exc else "connection lost"))

    def write(self, data: bytes) -> None:
        if self._lost or self.transport.is_closing():
            raise Disconnected("connection lost")
        self.transport.write(data)

    async def next(self) -> tuple[int, str]:
        """The next reply (code, text joined as aiosmtplib joins it)."""
        while not self._replies:
            if self._lost:
                raise self._error or Disconnected("connection lost")
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._replies.popleft()

    def close(self) -> None:
        self._lost = True
        self.transport.close()

    def _fail(self, error: Exception) -> None:
        if not self._lost:
            self._lost, self._error = True, error
            self.transport.close()
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _one_reply(self) -> tuple[int, str] | None:
        """A whole reply taken off the buffer, or None until one is complete."""
        texts: list[bytes] = []
        offset = 0
        while (end := self._buffer.find(b"\n", offset)) >= 0:
            line = bytes(self._buffer[offset:end + 1])
            offset = end + 1
            if not line[:3].isdigit():
                raise BadReply(f"malformed SMTP reply line: {line[:60]!r}")
            texts.append(line[4:].strip(b" \t\r\n"))
            if line[3:4] != b"-":
                del self._buffer[:offset]
                return int(line[:3]), b"\n".join(texts).decode("utf-8", "surrogateescape")
        if len(self._buffer) > MAX_REPLY_BYTES:
            raise BadReply("reply too long")
        return None


def message_size(data: bytes) -> int:
    """The SIZE parameter aiosmtplib announces: the message with CRLF line ends, unstuffed."""
    return len(wire_data(data, stuffed=False))


def wire_data(data: bytes, *, stuffed: bool = True) -> bytes:
    """The message as DATA carries it, ending with the final dot: line ends made CRLF and lines
    starting with a dot doubled, exactly as aiosmtplib's execute_data_command writes it."""
    if data.count(b"\r") != data.count(b"\n") or data.count(b"\r\n") != data.count(b"\n"):
        data = _LONE_LINE_END.sub(b"\r\n", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    if not stuffed:
        return data
    doubled = data.replace(b"\n.", b"\n..")
    return (b"." + doubled if doubled.startswith(b".") else doubled) + b".\r\n"


async def transaction(replies: Replies, mail: bytes, rcpt: bytes, data: bytes,
                      timeout: float) -> tuple[int, str]:
    """MAIL, RCPT and DATA in one write, the message in a second one: the first reply that is
    not a success (the session reset for the next message), or the server's 250 for the
    message. Each round trip may take `timeout` seconds (TimeoutError)."""
    replies.write(b"MAIL FROM:" + mail + b"\r\nRCPT TO:" + rcpt + b"\r\nDATA\r\n")
    async with asyncio.timeout(timeout):
        mail_reply, rcpt_reply, data_reply = (await replies.next(), await replies.next(),
                                              await replies.next())
    refused = next((reply for reply, good in ((mail_reply, (250,)), (rcpt_reply, (250, 251)),
                                              (data_reply, (354,)))
                    if reply[0] not in good), None)
    if refused is None:
        replies.write(wire_data(data))
        async with asyncio.timeout(timeout):
            final = await replies.next()
        if final[0] == 250:
            return final
        refused = final
    elif data_reply[0] == 354:  # the server takes a message after all: end it empty
        replies.write(b".\r\n")
        async with asyncio.timeout(timeout):
            await replies.next()
    if refused[0] != 421:  # 421: the server is closing the channel anyway
        await _reset(replies, timeout)
    return refused


async def _reset(replies: Replies, timeout: float) -> None:
    """RSET after a refusal, as aiosmtplib's sendmail does; its own failure is not the news."""
    try:
        replies.write(b"RSET\r\n")
        async with asyncio.timeout(timeout):
            await replies.next()
    except (Disconnected, BadReply, TimeoutError):
        replies.close()
