"""`kill -9` of a real `serve` process in IMAP mode after it stored a message and before it moved it."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, func, select

from gateway.cli_commands.base import with_db
from gateway.config import load_settings
from gateway.store.models import Message, Outbox
from tests.e2e import dovecot as dovecot_fixtures
from tests.e2e.dovecot import Dovecot, append_all, uids
from tests.e2e.serve_process import ServeProcess, free_port, make_pairs, wait_until, write_config
from tests.e2e.smarthost import Smarthost
from tests.e2e.test_imap_gateway import subjects

dovecot = dovecot_fixtures.dovecot  # the fixture, visible to pytest here

pytestmark = pytest.mark.e2e
WAIT = 30.0


class HoldingProxy:
    """A TCP proxy to Dovecot that, while `holding`, never forwards a client line containing `hold`.

    It stops the gateway at an exact point of the IMAP conversation (the MOVE of one message)
    without touching the gateway's code: `held` is set once that command has been swallowed.
    """

    def __init__(self, upstream_port: int, hold: bytes) -> None:
        self.upstream_port = upstream_port
        self.hold = hold
        self.holding = True
        self.held = asyncio.Event()
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            server_r, server_w = await asyncio.open_connection("127.0.0.1", self.upstream_port)
            await asyncio.gather(self._pipe(client_r, server_w, watch=True),
                                 self._pipe(server_r, client_w, watch=False))
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._tasks.discard(task)
            client_w.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, watch: bool) -> None:
        try:
            while data := await reader.read(65536):
                if watch and self.holding and self.hold in data:
                    self.held.set()
                    await asyncio.Event().wait()  # the command never reaches the server
                writer.write(data)
                await writer.drain()
        finally:
            with contextlib.suppress(Exception):
                writer.close()


def mail(sender: str, alias: str, n: int) -> bytes:
    return (
        f"Return-Path: <{sender}>\r\nDelivered-To: {alias}\r\nFrom: <{sender}>\r\nTo: {alias}\r\n"
        f"Subject: imap {n}\r\nMessage-ID: <kill-{n}@client.example.com>\r\n\r\nBonjour {n}.\r\n"
    ).encode()


def counts(config: Path) -> tuple[int, int]:
    """(messages stored, outbox rows not yet sent), read straight from the database."""
    def read(s: object) -> tuple[int, int]:
        stored = s.exec(select(func.count()).select_from(Message)).one()  # type: ignore[attr-defined]
        unsent = s.exec(select(func.count()).select_from(Outbox)  # type: ignore[attr-defined]
                        .where(col(Outbox.state) != "sent")).one()
        return int(stored), int(unsent)

    result: tuple[int, int] = with_db(load_settings(config), read)
    return result


async def inbox_emptied(client: Any) -> bool:
    """Wait for the outcome (INBOX empty), checking after each of the server's answers."""
    deadline = time.monotonic() + WAIT
    while await uids(client, "INBOX"):
        if time.monotonic() > deadline:
            return False
        assert (await client.noop()).result == "OK"
    return True


async def test_kill_9_between_storing_and_moving_delivers_nothing_twice_after_restart(
    db_url: str, tmp_path: Path, empty_rules: Path, dovecot: Dovecot, smarthost: Smarthost,
) -> None:
    proxy = HoldingProxy(dovecot.imap_port, hold=b"UID MOVE 3 ")
    await proxy.start()
    port = free_port()
    config = write_config(tmp_path / "config.toml", db_url=db_url, smtp_port=port,
                          rules_dir=empty_rules,
                          outbound={"mode": "smtp", "host": "127.0.0.1", "port": smarthost.port})
    with config.open("a", encoding="utf-8") as toml:
        toml.write(f'[imap]\nenabled = true\nhost = "127.0.0.1"\nport = {proxy.port}\n'
                   f'security = "none"\nusername = "{dovecot.user}"\n'
                   'password_env = "GATEWAY_TEST_IMAP_PASSWORD"\npoll_interval = 60.0\n')
    pair = (await asyncio.to_thread(make_pairs, config, 1))[0]
    serve = ServeProcess(config, port, tmp_path, env={"GATEWAY_TEST_IMAP_PASSWORD": dovecot.password})
    client = await dovecot.client()
    try:
        await asyncio.to_thread(serve.start)
        await smarthost.wait_for_async(2, timeout=WAIT)  # the pair's introductions
        smarthost.clear()
        await append_all(client, [mail(pair.mentor_email, pair.mentee_alias, n) for n in range(5)])

        await asyncio.wait_for(proxy.held.wait(), WAIT)  # the third is stored; its MOVE is held
        await smarthost.wait_for_async(3, timeout=WAIT)
        # Kill once the first three are fully sent, so any second copy can only come from IMAP.
        assert await asyncio.to_thread(wait_until, lambda: counts(config) == (3, 0), WAIT)
        await asyncio.to_thread(serve.kill)
        assert await uids(client, "INBOX") == [3, 4, 5]

        proxy.holding = False
        await asyncio.to_thread(serve.start)
        await smarthost.wait_for_async(5, timeout=WAIT)
        assert await asyncio.to_thread(wait_until, lambda: counts(config) == (5, 0), WAIT), \
            f"stored, unsent: {counts(config)}\n{serve.log()}"
        assert await inbox_emptied(client), "the restarted gateway did not file every message"
        assert len(await uids(client, "Processed")) == 5
        assert await asyncio.to_thread(serve.terminate) == 0
    finally:
        await asyncio.to_thread(serve.stop)
        await proxy.close()
        with contextlib.suppress(Exception):
            await client.logout()

    assert subjects(smarthost.messages) == Counter({f"imap {n}": 1 for n in range(5)})
