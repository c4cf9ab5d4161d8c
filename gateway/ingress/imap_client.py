"""One IMAP session for the poller: connect (TLS, STARTTLS or plain), log in, and the few commands it needs."""

from __future__ import annotations

import asyncio
import base64
import re
import ssl
from collections.abc import Callable
from typing import Any

import aioimaplib

from gateway.ingress.ports import ImapSettings

UIDVALIDITY_RE = re.compile(rb"\[UIDVALIDITY (\d+)\]")
COMMAND_TIMEOUT = 30.0


class ImapTrouble(Exception):
    """The server refused, misbehaved or went away; the poller reconnects after a pause."""


def imap_utf7(name: str) -> str:
    """Encode a mailbox name in IMAP's modified UTF-7 (RFC 3501 5.1.3), e.g. "Traités"."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            chunk = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(chunk).decode().rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    flush()
    return "".join(out)


def mailbox_arg(name: str) -> str:
    """A mailbox name as one quoted IMAP argument (spaces, quotes and accents survive)."""
    encoded = imap_utf7(name).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{encoded}"'


def _ok(response: Any, what: str) -> Any:
    if response.result != "OK":
        text = response.lines[-1] if response.lines else b""
        raise ImapTrouble(f"{what} answered {response.result} {_printable(text)}")
    return response


def _printable(line: Any) -> str:
    if isinstance(line, bytes | bytearray):
        return bytes(line[:200]).decode("ascii", "replace")
    return str(line)[:200]


class ImapSession:
    """A logged-in connection; `lost` is set the moment the server drops it."""

    def __init__(self, client: aioimaplib.IMAP4, lost: asyncio.Event) -> None:
        self.client = client
        self.lost = lost

    @classmethod
    async def open(
        cls, settings: ImapSettings, password: str, ssl_context: ssl.SSLContext | None
    ) -> ImapSession:
        lost = asyncio.Event()

        def on_lost(_exc: Exception | None) -> None:
            lost.set()

        context = ssl_context or ssl.create_default_context()
        session = cls(_make_client(settings, context, on_lost), lost)
        try:
            await session.client.wait_hello_from_server()
            if settings.security == "starttls":
                await session._starttls(settings.host, context)
            _ok(await session.client.login(settings.username, password), "LOGIN")
            # LOGIN's own capability list is parsed loosely by aioimaplib; ask again.
            await asyncio.wait_for(session.client.protocol.capability(), COMMAND_TIMEOUT)
        except BaseException:
            session.abort()
            raise
        return session

    async def _starttls(self, host: str, context: ssl.SSLContext) -> None:
        protocol = self.client.protocol
        if "STARTTLS" not in protocol.capabilities:
            # Never send the password in clear to a server that cannot encrypt.
            raise ImapTrouble("server does not offer STARTTLS")
        command = aioimaplib.Command("STARTTLS", protocol.new_tag(), loop=protocol.loop)
        _ok(await asyncio.wait_for(protocol.execute(command), COMMAND_TIMEOUT), "STARTTLS")
        loop = asyncio.get_running_loop()
        protocol.transport = await asyncio.wait_for(
            loop.start_tls(protocol.transport, protocol, context, server_hostname=host),
            COMMAND_TIMEOUT,
        )
        # Capabilities seen before TLS are not to be trusted (RFC 3501 6.2.1).
        await asyncio.wait_for(protocol.capability(), COMMAND_TIMEOUT)

    def has(self, capability: str) -> bool:
        return self.client.has_capability(capability)

    async def ensure_mailbox(self, name: str) -> None:
        """CREATE, accepting the "already exists" answer."""
        if name:
            await self.client.create(mailbox_arg(name))

    async def select(self, name: str) -> int:
        """SELECT the mailbox and return its UIDVALIDITY."""
        response = _ok(await self.client.select(mailbox_arg(name)), f"SELECT {name}")
        for line in response.lines:
            match = UIDVALIDITY_RE.search(bytes(line))
            if match:
                return int(match.group(1))
        raise ImapTrouble(f"SELECT {name} gave no UIDVALIDITY")

    async def uids_after(self, last_uid: int, *, skip_keywords: tuple[str, ...]) -> list[int]:
        criteria = [f"UID {last_uid + 1}:*", "UNDELETED"]
        criteria += [f"UNKEYWORD {keyword}" for keyword in skip_keywords]
        response = _ok(await self.client.uid_search(*criteria, charset=None), "UID SEARCH")
        uids: set[int] = set()
        for line in response.lines[:-1]:
            uids.update(int(token) for token in bytes(line).split() if token.isdigit())
        # "n:*" always matches the highest UID, even when it is below n.
        return sorted(uid for uid in uids if uid > last_uid)

    async def fetch(self, uid: int) -> bytes | None:
        """The whole message, without setting \\Seen; None if it vanished meanwhile."""
        response = _ok(await self.client.uid("fetch", str(uid), "(UID BODY.PEEK[])"), "UID FETCH")
        lines = response.lines
        # Only the answer to our own request carries a BODY[] literal; unsolicited FETCH
        # responses (flag changes by another client) do not.
        for line, following in zip(lines, lines[1:], strict=False):
            if isinstance(following, bytearray) and b"BODY[]" in bytes(line):
                return bytes(following)
        return None

    async def move(self, uid: int, mailbox: str) -> None:
        target = mailbox_arg(mailbox)
        if self.has("MOVE"):
            _ok(await self.client.uid("move", str(uid), target), "UID MOVE")
            return
        _ok(await self.client.uid("copy", str(uid), target), "UID COPY")
        await self.add_flags(uid, "\\Deleted")
        if self.has("UIDPLUS"):
            _ok(await self.client.uid("expunge", str(uid)), "UID EXPUNGE")
        else:
            _ok(await self.client.expunge(), "EXPUNGE")

    async def add_flags(self, uid: int, *flags: str) -> None:
        flag_list = "(" + " ".join(flags) + ")"
        _ok(await self.client.uid("store", str(uid), "+FLAGS.SILENT", flag_list), "UID STORE")

    async def start_idle(self, timeout: float) -> asyncio.Future[Any]:
        return await self.client.idle_start(timeout=timeout)

    async def wait_push(self, timeout: float) -> None:
        await self.client.wait_server_push(timeout=timeout)

    async def end_idle(self, idle: asyncio.Future[Any]) -> None:
        if self.client.has_pending_idle():
            self.client.idle_done()
        await asyncio.wait_for(idle, COMMAND_TIMEOUT)

    async def logout(self) -> None:
        try:
            if not self.lost.is_set():
                await asyncio.wait_for(self.client.logout(), 5.0)
        except Exception:  # a polite goodbye is optional
            pass
        finally:
            self.abort()

    def abort(self) -> None:
        transport = self.client.protocol.transport
        if transport is not None:
            transport.close()


def _make_client(
    settings: ImapSettings, context: ssl.SSLContext, on_lost: Callable[[Exception | None], None]
) -> aioimaplib.IMAP4:
    # IMAP4 rather than IMAP4_SSL: only IMAP4 reports a lost connection (conn_lost_cb).
    return aioimaplib.IMAP4(
        host=settings.host,
        port=settings.port,
        timeout=COMMAND_TIMEOUT,
        conn_lost_cb=on_lost,
        ssl_context=context if settings.security == "tls" else None,
    )
