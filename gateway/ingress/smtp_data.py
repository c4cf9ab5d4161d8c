"""Read one SMTP DATA section in large chunks: linear, with few Python steps per megabyte.

aiosmtpd reads DATA line by line (a bytearray per line, then a join): a message of 30,000 short
header lines kept the event loop busy for over a second, and a 20 MiB message cost about four
times its size in memory. Here the bytes are searched for the end marker chunk by chunk."""

from __future__ import annotations

import asyncio

END = b"\r\n.\r\n"
CHUNK = 256 * 1024


async def read_data(reader: asyncio.StreamReader, limit: int) -> bytes | None:
    """The message (dot-unstuffed, RFC 5321 4.5.2), or None when it is over `limit` bytes (the
    rest is still read, so that the client hears the refusal after its final dot)."""
    buf = bytearray()
    tail = b"\r\n"  # the CRLF that precedes the first line, so that "." alone ends DATA at once
    too_big = False
    chunks = 0
    while True:
        chunk = await reader.read(CHUNK)
        if not chunk:
            raise ConnectionResetError("connection closed during DATA")
        window = tail + chunk
        found = window.find(END)
        if found >= 0:
            content_end = found + 2 - len(tail)  # keep the last line's CRLF
            if not too_big:
                if content_end >= 0:
                    buf += chunk[:content_end]
                else:  # the end marker began in the previous chunk
                    del buf[len(buf) + content_end:]
            leftover = window[found + len(END):]
            if leftover:  # a client that pipelines past DATA: its next commands stay readable
                reader._buffer[:0] = leftover  # type: ignore[attr-defined]
            break
        if not too_big:
            buf += chunk
            too_big = len(buf) > limit
            if too_big:
                buf = bytearray()
        tail = window[-(len(END) - 1):]
        chunks += 1
        if chunks % 16 == 0:
            await asyncio.sleep(0)  # a fast client must not keep other sessions waiting
    if too_big or len(buf) > limit:
        return None
    body = bytes(buf)
    del buf
    if body.startswith(b"."):
        body = body[1:]
    return body.replace(b"\r\n.", b"\r\n")
