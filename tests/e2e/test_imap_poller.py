"""IMAP ingress against a real Dovecot: every message handed once, filed, and nothing lost on trouble."""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator

import aioimaplib
import pytest

from gateway.ingress.imap import ImapPoller
from gateway.ingress.ports import AcceptOutcome, ImapSettings
from tests.e2e import dovecot as harness
from tests.e2e.dovecot import Dovecot, append_all, rebuild_mailbox, require_dovecot, uids

# The harness's fixtures, made visible to pytest in this module.
dovecot = harness.dovecot
imap_client = harness.imap_client

pytestmark = pytest.mark.e2e
DOMAIN = "gateway.test"
WAIT = 20.0


def message(n: int, *, to: str | None = None, sender: str = "mentor@school.test") -> bytes:
    recipient = to if to is not None else f"pair-{n}@{DOMAIN}"
    return (
        f"Return-Path: <{sender}>\r\nFrom: Mentor <{sender}>\r\nTo: {recipient}\r\n"
        f"Subject: message {n}\r\nMessage-ID: <msg-{n}@school.test>\r\n\r\nBonjour {n}\r\n"
    ).encode()


def message_id(raw: bytes) -> str:
    for line in raw.split(b"\r\n"):
        if line.lower().startswith(b"message-id:"):
            return line.split(b":", 1)[1].strip().decode()
    return ""


class MemorySink:
    """Routes like the real accept step: alias at our domain, known sender, dedup on the triple."""

    def __init__(self, strangers: tuple[str, ...] = ()) -> None:
        self.strangers = strangers
        self.handed: list[str] = []
        self.stored: Counter[str] = Counter()
        self.outcomes: Counter[str] = Counter()
        self.tempfail_once: set[str] = set()
        self._stored_keys: set[tuple[str, str, str]] = set()

    async def accept_imap(
        self, raw: bytes, *, envelope_from: str, recipients: list[str]
    ) -> AcceptOutcome:
        outcome = self._decide(message_id(raw), envelope_from, recipients)
        self.outcomes[outcome.status] += 1
        return outcome

    def _decide(self, mid: str, sender: str, recipients: list[str]) -> AcceptOutcome:
        self.handed.append(mid)
        if mid in self.tempfail_once:
            self.tempfail_once.discard(mid)
            return AcceptOutcome("tempfail", "database busy")
        alias = next((r for r in recipients if r.lower().endswith("@" + DOMAIN)), None)
        if alias is None or sender in self.strangers:
            return AcceptOutcome("unroutable", "no alias" if alias is None else "stranger")
        key = (mid, sender.lower(), alias.lower())
        if key in self._stored_keys:
            return AcceptOutcome("duplicate")
        self._stored_keys.add(key)
        self.stored[mid] += 1
        return AcceptOutcome("stored")


class MemoryCursors:
    def __init__(self) -> None:
        self.cursors: dict[tuple[str, str], tuple[int, int]] = {}

    async def load_cursor(self, account: str, mailbox: str) -> tuple[int, int] | None:
        return self.cursors.get((account, mailbox))

    async def save_cursor(self, account: str, mailbox: str, uidvalidity: int, last_uid: int) -> None:
        self.cursors[(account, mailbox)] = (uidvalidity, last_uid)


class Events:
    """The poller's event hook, awaitable: tests wait for progress instead of sleeping."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self._changed = asyncio.Event()

    def __call__(self, event: str) -> None:
        self.seen.append(event)
        self._changed.set()

    def count(self, prefix: str) -> int:
        return sum(1 for event in self.seen if event.startswith(prefix))

    async def until(self, prefix: str, count: int = 1, timeout: float = WAIT) -> None:
        deadline = time.monotonic() + timeout
        while self.count(prefix) < count:
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), deadline - time.monotonic())
            except TimeoutError:
                pytest.fail(f"waited {timeout}s for {count} x {prefix!r}; saw {self.seen[-20:]}")


def settings_for(server: Dovecot, **overrides: object) -> ImapSettings:
    values: dict[str, object] = {
        "enabled": True,
        "host": "127.0.0.1",
        "port": server.imap_port,
        "security": "none",
        "username": server.user,
        "poll_interval": 60.0,
    }
    values.update(overrides)
    return ImapSettings(**values)  # type: ignore[arg-type]


@pytest.fixture
def events() -> Events:
    return Events()


@pytest.fixture
async def background() -> AsyncIterator[Callable[[ImapPoller], asyncio.Event]]:
    """Run pollers in the background; at the end each must stop promptly once asked."""
    started: list[tuple[asyncio.Event, asyncio.Task[None]]] = []

    def start(poller: ImapPoller) -> asyncio.Event:
        stop = asyncio.Event()
        started.append((stop, asyncio.get_running_loop().create_task(poller.run(stop))))
        return stop

    yield start
    for stop, _task in started:
        stop.set()
    for _stop, task in started:
        if not task.done():
            await asyncio.wait_for(task, 10)


WITHOUT_MOVE = "IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE UIDPLUS"
WITHOUT_MOVE_OR_UIDPLUS = "IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE"


@pytest.fixture(params=[None, WITHOUT_MOVE, WITHOUT_MOVE_OR_UIDPLUS],
                ids=["move", "copy-uid-expunge", "copy-expunge"])
def any_dovecot(request: pytest.FixtureRequest) -> Iterator[Dovecot]:
    require_dovecot()
    server = Dovecot(capabilities=request.param)
    try:
        server.start()
        yield server
    finally:
        server.cleanup()
async def test_fifty_messages_are_each_handed_once_and_moved(any_dovecot: Dovecot) -> None:
    client = await any_dovecot.client()
    await append_all(client, [message(n) for n in range(50)])
    sink, cursors = MemorySink(), MemoryCursors()
    poller = ImapPoller(settings_for(any_dovecot), any_dovecot.password, sink, cursors)
    try:
        assert await poller.poll_once() == 50
        assert await poller.poll_once() == 0
    finally:
        await poller.close()

    assert len(sink.handed) == 50 and set(sink.stored.values()) == {1}
    assert len(sink.stored) == 50
    assert await uids(client, "INBOX") == []
    assert len(await uids(client, "Processed")) == 50
    assert await uids(client, "Unroutable") == []
    ((_account, _mailbox), (_validity, last_uid)), = cursors.cursors.items()
    assert last_uid == 50


async def test_dovecot_restart_mid_run_loses_nothing_and_stores_nothing_twice(
    dovecot: Dovecot, events: Events, background: Callable[[ImapPoller], asyncio.Event],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="gateway.imap")
    client = await dovecot.client()
    await append_all(client, [message(n) for n in range(30)])
    await client.logout()

    reached, release = asyncio.Event(), asyncio.Event()
    sink = MemorySink()
    accept = sink.accept_imap

    async def stall_on_tenth(raw: bytes, *, envelope_from: str, recipients: list[str]) -> AcceptOutcome:
        outcome = await accept(raw, envelope_from=envelope_from, recipients=recipients)
        if message_id(raw) == "<msg-10@school.test>" and not reached.is_set():
            reached.set()  # stored; the server dies before the poller can move it
            await release.wait()
        return outcome

    sink.accept_imap = stall_on_tenth  # type: ignore[method-assign]
    poller = ImapPoller(settings_for(dovecot), dovecot.password, sink, MemoryCursors(),
                        on_event=events, backoff_initial=0.1, backoff_max=0.5)
    background(poller)
    await asyncio.wait_for(reached.wait(), WAIT)
    await asyncio.to_thread(dovecot.stop)
    release.set()
    await events.until("disconnected")
    await asyncio.to_thread(dovecot.start)
    await events.until("processed", 30)

    assert sorted(sink.stored) == sorted(f"<msg-{n}@school.test>" for n in range(30))
    assert set(sink.stored.values()) == {1}, "a message was stored twice"
    # The one in flight when the server died was stored, not moved: handed again, deduplicated.
    assert sink.outcomes["duplicate"] == 1 and len(sink.handed) == 31
    assert events.count("connected") >= 2
    reconnect_lines = [r for r in caplog.records if "reconnecting" in r.getMessage()]
    assert reconnect_lines and all("\n" not in r.getMessage() for r in reconnect_lines)
    client = await dovecot.client()
    assert await uids(client, "INBOX") == []
    assert len(await uids(client, "Processed")) == 30


async def test_gateway_dying_between_store_and_move_does_not_store_twice(
    dovecot: Dovecot, imap_client: aioimaplib.IMAP4, events: Events,
    background: Callable[[ImapPoller], asyncio.Event],
) -> None:
    await append_all(imap_client, [message(n) for n in range(5)])
    sink, cursors = MemorySink(), MemoryCursors()
    accept = sink.accept_imap
    first_run: list[asyncio.Task[None]] = []

    async def die_after_storing_third(raw: bytes, **envelope: object) -> AcceptOutcome:
        outcome = await accept(raw, **envelope)  # type: ignore[arg-type]
        if message_id(raw) == "<msg-2@school.test>" and first_run:
            first_run.pop().cancel()  # the process dies right after the commit
            await asyncio.sleep(0)
        return outcome

    sink.accept_imap = die_after_storing_third  # type: ignore[method-assign]
    doomed = ImapPoller(settings_for(dovecot), dovecot.password, sink, cursors)
    first_run.append(asyncio.get_running_loop().create_task(doomed.run(asyncio.Event())))
    task = first_run[0]
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, WAIT)
    assert sink.stored["<msg-2@school.test>"] == 1
    assert 3 in await uids(imap_client, "INBOX")  # stored, yet never moved

    restarted = ImapPoller(settings_for(dovecot), dovecot.password, sink, cursors, on_event=events)
    background(restarted)
    await events.until("processed", 3)  # the third (again), fourth and fifth

    assert set(sink.stored.values()) == {1} and len(sink.stored) == 5
    assert sink.outcomes["duplicate"] == 1
    assert await uids(imap_client, "INBOX") == []
    assert len(await uids(imap_client, "Processed")) == 5


async def test_new_uidvalidity_restarts_from_uid_one_without_loss(
    dovecot: Dovecot, imap_client: aioimaplib.IMAP4, events: Events,
    background: Callable[[ImapPoller], asyncio.Event],
) -> None:
    assert (await imap_client.create('"Catchall"')).result == "OK"
    await append_all(imap_client, [message(n) for n in range(5)], mailbox="Catchall")
    sink, cursors = MemorySink(), MemoryCursors()
    poller = ImapPoller(settings_for(dovecot, mailbox="Catchall", poll_interval=0.2),
                        dovecot.password, sink, cursors, on_event=events, backoff_initial=0.1)
    background(poller)
    await events.until("processed", 5)
    ((key, (old_validity, last_uid)),) = cursors.cursors.items()
    assert last_uid == 5

    # The provider rebuilt the mailbox: new UIDVALIDITY, UIDs start again at 1 (below 5).
    restored_and_new = [message(4)] + [message(n) for n in range(100, 103)]
    await rebuild_mailbox(imap_client, "Catchall", restored_and_new)
    await events.until("processed", 9)

    new_validity, last_uid = cursors.cursors[key]
    assert new_validity != old_validity and last_uid == 4
    assert len(sink.stored) == 8 and set(sink.stored.values()) == {1}
    assert sink.outcomes["duplicate"] == 1  # message 4, restored, was not delivered again
    assert await uids(imap_client, "Catchall") == []


async def test_unroutable_mail_is_moved_to_the_unroutable_mailbox_not_deleted(
    dovecot: Dovecot, imap_client: aioimaplib.IMAP4,
) -> None:
    await append_all(imap_client, [
        message(1, to="someone@elsewhere.test"),
        message(2, sender="stranger@spam.test"),
        message(3),
    ])
    sink = MemorySink(strangers=("stranger@spam.test",))
    poller = ImapPoller(settings_for(dovecot), dovecot.password, sink, MemoryCursors())
    try:
        assert await poller.poll_once() == 3
    finally:
        await poller.close()

    assert sink.outcomes == Counter({"unroutable": 2, "stored": 1})
    assert len(await uids(imap_client, "Unroutable")) == 2
    assert len(await uids(imap_client, "Processed")) == 1
    assert await uids(imap_client, "INBOX") == []


async def test_message_appended_while_idling_is_handed_over_within_two_seconds(
    dovecot: Dovecot, imap_client: aioimaplib.IMAP4, events: Events,
    background: Callable[[ImapPoller], asyncio.Event],
) -> None:
    sink = MemorySink()
    # poll_interval 60 s: only IDLE can make this fast.
    poller = ImapPoller(settings_for(dovecot, idle=True), dovecot.password, sink,
                        MemoryCursors(), on_event=events)
    background(poller)
    await events.until("idle")

    started = time.monotonic()
    await append_all(imap_client, [message(1)])
    await events.until("processed", 1, timeout=2.0)
    latency = time.monotonic() - started

    assert latency < 2.0
    assert list(sink.stored) == ["<msg-1@school.test>"]


async def test_without_idle_the_poller_polls_every_interval(
    events: Events, background: Callable[[ImapPoller], asyncio.Event],
) -> None:
    require_dovecot()
    server = Dovecot(capabilities="IMAP4rev1 LITERAL+ ID ENABLE MOVE UIDPLUS")
    try:
        server.start()
        sink = MemorySink()
        poller = ImapPoller(settings_for(server, poll_interval=0.2), server.password, sink,
                            MemoryCursors(), on_event=events)
        background(poller)
        await events.until("connected")
        client = await server.client()
        await append_all(client, [message(1), message(2)])
        await events.until("processed", 2, timeout=5.0)
        assert "idle" not in events.seen
        assert len(sink.stored) == 2
    finally:
        await asyncio.to_thread(server.cleanup)


async def test_flag_mode_leaves_mail_in_place_flagged_and_never_hands_it_again(
    dovecot: Dovecot, imap_client: aioimaplib.IMAP4,
) -> None:
    await append_all(imap_client, [message(1), message(2)])
    sink = MemorySink()
    settings = settings_for(dovecot, processed_mailbox="")
    poller = ImapPoller(settings, dovecot.password, sink, MemoryCursors())
    forgetful = ImapPoller(settings, dovecot.password, sink, MemoryCursors())  # lost its cursor
    try:
        assert await poller.poll_once() == 2
        assert await poller.poll_once() == 0
        assert await forgetful.poll_once() == 0
    finally:
        await poller.close()
        await forgetful.close()

    assert len(sink.handed) == 2
    assert len(await uids(imap_client, "INBOX", "SEEN", "KEYWORD", "$GatewayProcessed")) == 2
    assert (await imap_client.select('"Processed"')).result == "NO"  # never created


async def test_tempfail_leaves_the_message_for_the_next_pass(
    dovecot: Dovecot, imap_client: aioimaplib.IMAP4,
) -> None:
    await append_all(imap_client, [message(1), message(2), message(3)])
    sink, cursors = MemorySink(), MemoryCursors()
    sink.tempfail_once.add("<msg-2@school.test>")
    poller = ImapPoller(settings_for(dovecot), dovecot.password, sink, cursors)
    try:
        assert await poller.poll_once() == 3
        assert await uids(imap_client, "INBOX") == [2]
        assert next(iter(cursors.cursors.values()))[1] == 1  # not past the message to retry
        assert await poller.poll_once() == 1
    finally:
        await poller.close()

    assert len(sink.stored) == 3
    assert await uids(imap_client, "INBOX") == []


@pytest.mark.parametrize("security", ["tls", "starttls"])
async def test_encrypted_connections(
    dovecot: Dovecot, imap_client: aioimaplib.IMAP4, security: str,
) -> None:
    await append_all(imap_client, [message(1)])
    trust = ssl.create_default_context(cafile=str(dovecot.cert_path))
    port = dovecot.imaps_port if security == "tls" else dovecot.imap_port
    sink = MemorySink()
    poller = ImapPoller(settings_for(dovecot, security=security, port=port), dovecot.password,
                        sink, MemoryCursors(), ssl_context=trust)
    try:
        assert await poller.poll_once() == 1
    finally:
        await poller.close()
    assert "secured" in dovecot.log and list(sink.stored) == ["<msg-1@school.test>"]


async def test_untrusted_certificate_is_refused_and_retried_without_raising(
    dovecot: Dovecot, events: Events, background: Callable[[ImapPoller], asyncio.Event],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="gateway.imap")
    poller = ImapPoller(settings_for(dovecot, security="tls", port=dovecot.imaps_port),
                        dovecot.password, MemorySink(), MemoryCursors(), on_event=events,
                        backoff_initial=0.05)
    background(poller)
    await events.until("disconnected", 2)
    assert "connected" not in events.seen
    assert any("CERTIFICATE_VERIFY_FAILED" in r.getMessage() for r in caplog.records)


async def test_wrong_password_is_logged_without_the_password(
    dovecot: Dovecot, events: Events, background: Callable[[ImapPoller], asyncio.Event],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    poller = ImapPoller(settings_for(dovecot), "wrong-Pa55word", MemorySink(), MemoryCursors(),
                        on_event=events, backoff_initial=0.05)
    background(poller)
    await events.until("disconnected")
    assert any("LOGIN" in r.getMessage() for r in caplog.records if r.name == "gateway.imap")
    assert "wrong-Pa55word" not in caplog.text
