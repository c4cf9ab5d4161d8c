"""Hand one finished message to the outside world (SMTP smarthost or local maildir) and say how it went."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import itertools
import logging
import os
import secrets
import socket
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, cast

import aiosmtplib
from aiosmtplib.email import parse_address as aiosmtplib_parse_address

from gateway.delivery import pipelining

log = logging.getLogger("gateway.delivery.transports")

Status = Literal["sent", "temporary", "permanent"]


@dataclass(frozen=True)
class SendResult:
    """What happened to one message. `detail` is the server's own reply ("451 4.3.0 try later"),
    or a short plain description of a network failure; never a traceback."""

    status: Status
    detail: str


class Transport(Protocol):
    async def send(self, envelope_from: str, recipient: str, data: bytes) -> SendResult: ...

    async def close(self) -> None: ...


# "Authenticate first" / "STARTTLS first" / "bad credentials": our settings are wrong, not the
# message; failing every queued message for good over a config typo would lose mail.
_SESSION_NOT_AUTHORIZED = frozenset({530, 534, 535, 538})


def _from_reply(code: int, message: str) -> SendResult:
    """2xx sent, 4xx temporary, 5xx (and anything unexpected) permanent, as RFC 5321 says."""
    detail = f"{code} {message}".strip()
    if 200 <= code < 300:
        return SendResult("sent", detail)
    if 400 <= code < 500 or code in _SESSION_NOT_AUTHORIZED:
        return SendResult("temporary", detail)
    return SendResult("permanent", detail)


@functools.lru_cache(maxsize=1024)  # the same few addresses, checked again at every send
def _address_problem(address: str, *, may_be_empty: bool = False) -> str | None:
    """Why this address cannot go on the wire as it is, or None.

    aiosmtplib would otherwise pick an address out of a messy string ("x\r\nRCPT TO:<y@z>"
    becomes y@z): an envelope must name exactly the mailbox we were given, or nothing.
    """
    if address == "" and may_be_empty:
        return None  # the null reverse-path <>, for notices that must never bounce
    if any(ch.isspace() or not ch.isprintable() or ch in "<>" for ch in address):
        return "invalid address: spaces, control characters or <> are not allowed"
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        return "invalid address: expected local-part@domain"
    try:
        on_the_wire = aiosmtplib_parse_address(address)
    except ValueError:
        on_the_wire = None
    if on_the_wire != address:
        return "invalid address: not a plain mailbox"
    return None


def _needs_smtputf8(*addresses: str) -> bool:
    return any(not address.isascii() for address in addresses)


class SmtpTransport:
    """One SMTP connection to the smarthost, opened on first use and reused for every message.

    Sends are serialized by an internal lock, so sharing one instance between coroutines is safe
    but gives no parallelism: for N parallel senders, make N transports.
    Failures while connecting (refused, timeout, bad greeting, STARTTLS or AUTH refused) are
    always "temporary": they describe the smarthost or our settings, not the message, and the
    message must survive until an operator fixes them.
    """

    def __init__(self, host: str, port: int, *, starttls: bool = False,
                 username: str | None = None, password: str | None = None,
                 timeout: float = 30.0, local_hostname: str | None = None,
                 tls_context: ssl.SSLContext | None = None) -> None:
        self.host = host
        self.port = port
        self._starttls = starttls
        self._username = username
        self._password = password
        self._timeout = timeout
        self._local_hostname = local_hostname
        self._tls_context = tls_context
        self._client: aiosmtplib.SMTP | None = None
        # A server offering PIPELINING: the connection aiosmtplib opened, taken over (see
        # pipelining.py), and what its EHLO offered.
        self._replies: pipelining.Replies | None = None
        self._offers: frozenset[str] = frozenset()
        self._lock = asyncio.Lock()
        self.pipelining = True  # False: one command per round trip even when offered
        self.connections_opened = 0

    @property
    def _where(self) -> str:
        return f"{self.host}:{self.port}"

    async def send(self, envelope_from: str, recipient: str, data: bytes) -> SendResult:
        async with self._lock:
            try:
                return await self._send_with_one_reconnect(envelope_from, recipient, data)
            except asyncio.CancelledError:
                # Stopped mid-command: the session's next reply belongs to this abandoned
                # message, so reusing it would answer the next message with a stale reply.
                self._drop_connection()
                raise
            except Exception as exc:  # the contract: every failure becomes a SendResult
                log.exception("unexpected error sending to %s", self._where)
                self._drop_connection()
                return SendResult("temporary", f"unexpected error talking to {self._where}: "
                                               f"{type(exc).__name__}")

    async def _send_with_one_reconnect(self, envelope_from: str, recipient: str,
                                       data: bytes) -> SendResult:
        problem = _address_problem(envelope_from, may_be_empty=True) or _address_problem(recipient)
        if problem is not None:
            return SendResult("permanent", problem)
        reused = self._connected()
        result, hung_up = await self._send_once(envelope_from, recipient, data)
        if hung_up and reused:
            # The server closed a connection we kept open (idle timeout, often announced with
            # an unsolicited 421): nothing was accepted, so one fresh try is safe.
            result, _ = await self._send_once(envelope_from, recipient, data)
        return result

    async def _send_once(self, envelope_from: str, recipient: str,
                         data: bytes) -> tuple[SendResult, bool]:
        """One attempt; the flag says "the server hung up on us", which may deserve a retry."""
        failure = await self._ensure_connected()
        if failure is not None:
            return failure, False
        options = ["SMTPUTF8"] if _needs_smtputf8(envelope_from, recipient) else []
        if self._replies is not None:
            return await self._pipelined(envelope_from, recipient, data, options)
        assert self._client is not None
        try:
            _, message = await self._client.sendmail(envelope_from, [recipient], data,
                                                     mail_options=options)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refused = exc.recipients[0]
            return self._after_reply(_from_reply(refused.code, refused.message))
        except aiosmtplib.SMTPResponseException as exc:
            return self._after_reply(_from_reply(exc.code, exc.message))
        except aiosmtplib.SMTPServerDisconnected:
            self._drop_connection()
            return SendResult("temporary", f"{self._where} closed the connection"), True
        except aiosmtplib.SMTPNotSupported:
            return SendResult("permanent", f"{self._where} does not accept international "
                                           "addresses (no SMTPUTF8)"), False
        except (aiosmtplib.SMTPTimeoutError, TimeoutError):
            self._drop_connection()  # the session is in an unknown state: never reuse it
            return SendResult("temporary", f"no answer from {self._where} within "
                                           f"{self._timeout:g}s"), False
        except ValueError as exc:  # an address aiosmtplib refuses to put on the wire
            return SendResult("permanent", f"invalid address: {exc}"), False
        except (aiosmtplib.SMTPException, OSError) as exc:
            self._drop_connection()
            return SendResult("temporary", f"connection to {self._where} failed: {exc}"), False
        return SendResult("sent", f"250 {message}".strip()), False

    async def _pipelined(self, envelope_from: str, recipient: str, data: bytes,
                         options: list[str]) -> tuple[SendResult, bool]:
        """_send_once on a taken-over connection: the same results for the same replies."""
        assert self._replies is not None
        if options and "smtputf8" not in self._offers:
            return SendResult("permanent", f"{self._where} does not accept international "
                                           "addresses (no SMTPUTF8)"), False
        encoding = "utf-8" if options else "ascii"
        if "size" in self._offers:
            options = [f"size={pipelining.message_size(data)}", *options]
        params = b"".join(b" " + option.encode("ascii") for option in options)
        try:
            code, message = await pipelining.transaction(
                self._replies, f"<{envelope_from}>".encode(encoding) + params,
                f"<{recipient}>".encode(encoding), data, self._timeout)
        except pipelining.Disconnected:
            self._drop_connection()
            return SendResult("temporary", f"{self._where} closed the connection"), True
        except TimeoutError:
            self._drop_connection()  # the session is in an unknown state: never reuse it
            return SendResult("temporary", f"no answer from {self._where} within "
                                           f"{self._timeout:g}s"), False
        except (pipelining.BadReply, OSError) as exc:
            self._drop_connection()
            return SendResult("temporary", f"connection to {self._where} failed: {exc}"), False
        if code == 250:
            return SendResult("sent", f"250 {message}".strip()), False
        return self._after_reply(_from_reply(code, message))

    def _after_reply(self, result: SendResult) -> tuple[SendResult, bool]:
        if result.detail.startswith("421"):
            self._drop_connection()  # 421: the server is closing the channel
            return result, True
        return result, False

    def _connected(self) -> bool:
        if self._replies is not None:
            return self._replies.usable
        return self._client is not None and self._client.is_connected

    async def _ensure_connected(self) -> SendResult | None:
        if self._connected():
            return None
        self._drop_connection()
        client = aiosmtplib.SMTP(
            hostname=self.host, port=self.port, timeout=self._timeout,
            local_hostname=self._local_hostname, start_tls=self._starttls,
            tls_context=self._tls_context, username=self._username, password=self._password,
        )
        try:
            await client.connect()
            if self.pipelining and client.is_ehlo_or_helo_needed:
                # What the server offers (aiosmtplib would ask at the first send); a server
                # without ESMTP stays with aiosmtplib, which then says HELO.
                with contextlib.suppress(aiosmtplib.SMTPHeloError):
                    await client.ehlo()
        except aiosmtplib.SMTPResponseException as exc:
            client.close()
            return SendResult("temporary", f"{exc.code} {exc.message}".strip())
        except (aiosmtplib.SMTPTimeoutError, TimeoutError):
            client.close()
            return SendResult("temporary", f"no answer from {self._where} within "
                                           f"{self._timeout:g}s")
        except (aiosmtplib.SMTPException, OSError, ssl.SSLError) as exc:
            client.close()
            return SendResult("temporary", f"cannot connect to {self._where}: {exc}")
        self.connections_opened += 1
        self._take_over(client)
        return None

    def _take_over(self, client: aiosmtplib.SMTP) -> None:
        """Keep aiosmtplib's session, or take its connection over when it may pipeline."""
        transport = client.transport
        # uvloop's transports are not asyncio.Transport subclasses: what counts is set_protocol.
        if not (self.pipelining and client.supports_extension("pipelining")
                and hasattr(transport, "set_protocol")):
            self._client = client
            return
        self._offers = frozenset(name for name in ("smtputf8", "size")
                                 if client.supports_extension(name))
        taken = cast(asyncio.Transport, transport)
        self._replies = pipelining.Replies(taken)
        taken.set_protocol(self._replies)

    def _drop_connection(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._replies is not None:
            self._replies.close()
            self._replies = None

    async def close(self) -> None:
        async with self._lock:
            replies, self._replies = self._replies, None
            if replies is not None:
                await _quit(replies, min(self._timeout, 5.0))
            client, self._client = self._client, None
            if client is None or not client.is_connected:
                return
            try:
                await client.quit(timeout=min(self._timeout, 5.0))
            except Exception:  # closing politely is a courtesy; the socket goes either way
                client.close()


async def _quit(replies: pipelining.Replies, timeout: float) -> None:
    """QUIT on a taken-over connection; closing politely is a courtesy."""
    try:
        if replies.usable:
            replies.write(b"QUIT\r\n")
            async with asyncio.timeout(timeout):
                await replies.next()
    except (pipelining.Disconnected, pipelining.BadReply, TimeoutError, OSError):
        pass
    replies.close()


_SEQUENCE = itertools.count()


def _maildir_safe(text: str) -> str:
    return text.replace("/", "\\057").replace(":", "\\072")


def _unique_name() -> str:
    """Maildir-style name: time, microseconds, pid, a per-process counter, randomness, host."""
    now_ns = time.time_ns()
    seconds, micros = divmod(now_ns // 1000, 1_000_000)
    return (f"{seconds}.M{micros}P{os.getpid()}Q{next(_SEQUENCE)}R{secrets.token_hex(6)}"
            f".{_maildir_safe(socket.gethostname())}")


class MaildirTransport:
    """Drops each message into `<root>/new` as one file, written whole in `tmp/` first, then renamed.

    A reader of `new/` never sees a partial file. Safe to share between coroutines and threads.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    async def send(self, envelope_from: str, recipient: str, data: bytes) -> SendResult:
        try:
            name = await asyncio.to_thread(self._deliver, data)
        except OSError as exc:
            full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
            reason = "disk full" if full else (exc.strerror or type(exc).__name__)
            return SendResult("temporary", f"cannot write to maildir {self.root}: {reason}")
        except Exception as exc:  # the contract: every failure becomes a SendResult
            log.exception("unexpected error writing to maildir %s", self.root)
            return SendResult("temporary", f"unexpected error writing to maildir: "
                                           f"{type(exc).__name__}")
        return SendResult("sent", f"delivered to maildir as {name}")

    def _deliver(self, data: bytes) -> str:
        for folder in ("tmp", "new", "cur"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)
        name = _unique_name()
        temporary = self.root / "tmp" / name
        final = self.root / "new" / name
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            try:
                view = memoryview(data)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.rename(temporary, final)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        _fsync_directory(self.root / "new")  # make the rename itself survive a power cut
        return name

    async def close(self) -> None:
        return None


def _fsync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def build_transport(mode: Literal["smtp", "maildir"], **kwargs: Any) -> Transport:
    """`build_transport("smtp", host=..., port=...)` or `build_transport("maildir", root=...)`."""
    if mode == "smtp":
        return SmtpTransport(**kwargs)
    if mode == "maildir":
        return MaildirTransport(**kwargs)
    raise ValueError(f"unknown outbound mode {mode!r}: use \"smtp\" or \"maildir\"")
