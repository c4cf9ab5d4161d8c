"""IMAP mode end to end: a real Dovecot mailbox, the real gateway, its database and a recording smarthost."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import aioimaplib
import pytest
from sqlmodel import Session, col, func, select

from gateway.app import App
from gateway.clock import MovableClock
from gateway.components import default_components
from gateway.config import ConfigError, Settings
from gateway.delivery.transports import SmtpTransport
from gateway.ingress.imap_component import imap_component
from gateway.ingress.writer import Incoming
from gateway.program import service
from gateway.store.models import AuditEvent, ImapCursor, Message
from tests.conftest import make_settings
from tests.e2e import dovecot as dovecot_fixtures
from tests.e2e.dovecot import Dovecot, append_all, deliver_together, rebuild_mailbox, uids
from tests.e2e.harness import PairInfo
from tests.e2e.smarthost import Recorded
from tests.e2e.test_imap_poller import Events

dovecot = dovecot_fixtures.dovecot  # the fixture, visible to pytest here

pytestmark = pytest.mark.e2e
PASSWORD_ENV = "GATEWAY_TEST_IMAP_PASSWORD"
WAIT = 30.0
StartGateway = Callable[..., Awaitable[App]]


def imap_settings(db_url: str, tmp_path: Path, rules: Path, server: Dovecot, **imap: Any) -> Settings:
    values: dict[str, Any] = {
        "enabled": True, "host": "127.0.0.1", "port": server.imap_port, "security": "none",
        "username": server.user, "password_env": PASSWORD_ENV, "poll_interval": 60.0,
    }
    values.update(imap)
    return make_settings(db_url, tmp_path, rules_dir=rules, imap=values)


@pytest.fixture
def events() -> Events:
    return Events()


@pytest.fixture
async def start_gateway(
    dovecot: Dovecot, smarthost: Any, clock: MovableClock, monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[StartGateway]:
    """Start real gateways (workers in the background, IMAP component on); all stopped at the end."""
    monkeypatch.setenv(PASSWORD_ENV, dovecot.password)
    running: list[App] = []

    async def start(settings: Settings, on_event: Callable[[str], None]) -> App:
        component = imap_component(settings, on_event=on_event, backoff_initial=0.1, backoff_max=0.5)
        app = App(settings, clock=clock, components=[component], background=True,
                  transports=[SmtpTransport("127.0.0.1", smarthost.port, timeout=3.0)])
        await app.start()
        running.append(app)
        return app

    yield start
    for app in running:
        if not app.stopping.is_set():
            await app.stop()


async def make_pair(app: App, smarthost: Any) -> PairInfo:
    """A pair (its two introductions delivered and forgotten)."""
    now = app.clock.now()

    def create(s: Session) -> service.PairView:
        service.add_participant(s, email="mentor@example.com", name="Marie-Ève Tremblay",
                                role="mentor", lang="fr", now=now)
        service.add_participant(s, email="jeune@eleves.example.net", name="Léa Gagnon",
                                role="mentee", lang="fr", minor=True, now=now)
        return service.create_pair(s, app.settings, mentor="mentor@example.com",
                                   mentee="jeune@eleves.example.net", now=now)

    view = await app.db.write(create)
    app.wake_delivery()
    await smarthost.wait_for_async(2, timeout=WAIT)
    smarthost.clear()
    return PairInfo(view.id, view.mentor_email, view.mentee_email, view.mentor_alias,
                    view.mentee_alias)


def mail(pair: PairInfo, n: int, *, from_mentor: bool = True, sender: str | None = None,
         to: str | None = None, from_header: str | None = None) -> bytes:
    """A copy as the catch-all mailbox holds it: the delivering MTA added Return-Path and Delivered-To."""
    sender = sender or (pair.mentor_email if from_mentor else pair.mentee_email)
    alias = to or (pair.mentee_alias if from_mentor else pair.mentor_alias)
    return (
        f"Return-Path: <{sender}>\r\nDelivered-To: {alias}\r\nFrom: <{from_header or sender}>\r\n"
        f"To: {alias}\r\nSubject: imap {n}\r\nMessage-ID: <imap-{n}@client.example.com>\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\nBonjour, message {n}.\r\n"
    ).encode()


def subjects(recorded: list[Recorded]) -> Counter[str]:
    return Counter(str(message_from_bytes(r.data, policy=policy.default)["Subject"]) for r in recorded)


@dataclass(frozen=True)
class Relaying:
    app: App
    pair: PairInfo
    client: aioimaplib.IMAP4  # a second client, to fill and inspect the mailbox


@pytest.fixture
async def relaying(db_url: str, tmp_path: Path, empty_rules: Path, dovecot: Dovecot,
                   smarthost: Any, events: Events, start_gateway: StartGateway) -> Relaying:
    """A gateway reading INBOX with the default settings, one pair, and a client for the mailbox."""
    app = await start_gateway(imap_settings(db_url, tmp_path, empty_rules, dovecot), events)
    pair = await make_pair(app, smarthost)
    return Relaying(app, pair, await dovecot.client())


async def count_messages(app: App) -> int:
    return await app.db.read(lambda s: s.exec(select(func.count()).select_from(Message)).one())


async def test_fifty_messages_are_relayed_once_each_and_moved_to_processed(
    relaying: Relaying, smarthost: Any, events: Events,
) -> None:
    app, pair, client = relaying.app, relaying.pair, relaying.client
    await append_all(client, [mail(pair, n, from_mentor=n % 2 == 0) for n in range(50)])

    relayed = await smarthost.wait_for_async(50, timeout=WAIT)
    await events.until("processed", 50)
    await app.stop()

    assert subjects(smarthost.messages) == Counter({f"imap {n}": 1 for n in range(50)})
    to_mentee = [r for r in relayed if r.rcpt_tos == (pair.mentee_email,)]
    to_mentor = [r for r in relayed if r.rcpt_tos == (pair.mentor_email,)]
    assert len(to_mentee) == 25 and len(to_mentor) == 25
    assert not any(b"mentor@example.com" in r.data for r in to_mentee), "the sender leaked"
    assert await uids(client, "INBOX") == []
    assert len(await uids(client, "Processed")) == 50


async def test_dovecot_restarted_mid_run_loses_nothing_and_relays_nothing_twice(
    db_url: str, tmp_path: Path, empty_rules: Path, dovecot: Dovecot, smarthost: Any,
    events: Events, start_gateway: StartGateway, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="gateway.imap")

    def stop_server_after_tenth(event: str) -> None:
        events(event)
        if event == "processed 10":
            dovecot.stop()  # on the loop, on purpose: the poller cannot take one more step first

    app = await start_gateway(imap_settings(db_url, tmp_path, empty_rules, dovecot),
                              stop_server_after_tenth)
    pair = await make_pair(app, smarthost)
    client = await dovecot.client()
    await deliver_together(client, [mail(pair, n) for n in range(30)])
    await events.until("disconnected")
    assert events.count("processed") == 10  # twenty still waiting in the mailbox
    await asyncio.to_thread(dovecot.start)

    await smarthost.wait_for_async(30, timeout=WAIT)
    await events.until("processed", 30)
    assert await count_messages(app) == 30
    await app.stop()

    assert subjects(smarthost.messages) == Counter({f"imap {n}": 1 for n in range(30)})
    assert events.count("connected") >= 2
    log_lines = [r.getMessage() for r in caplog.records if r.name == "gateway.imap"]
    assert any("reconnecting in" in line for line in log_lines)
    assert any("reconnected" in line for line in log_lines)
    client = await dovecot.client()
    assert await uids(client, "INBOX") == []
    assert len(await uids(client, "Processed")) == 30


async def test_gateway_dying_between_storing_and_moving_delivers_once_after_restart(
    db_url: str, tmp_path: Path, empty_rules: Path, dovecot: Dovecot, smarthost: Any,
    start_gateway: StartGateway,
) -> None:
    settings = imap_settings(db_url, tmp_path, empty_rules, dovecot)
    first_events, died = Events(), asyncio.Event()
    first = await start_gateway(settings, first_events)
    pair = await make_pair(first, smarthost)
    store = first.writer.store

    async def store_then_die(item: Incoming) -> tuple[int, bool]:
        result = await store(item)  # committed
        if item.original_message_id == "<imap-2@client.example.com>" and not died.is_set():
            died.set()
            # The process dies here: the poller never gets to move the message.
            task = asyncio.current_task()
            assert task is not None
            task.cancel()
            await asyncio.sleep(0)
        return result

    first.writer.store = store_then_die  # type: ignore[method-assign]
    client = await dovecot.client()
    await append_all(client, [mail(pair, n) for n in range(5)])
    await asyncio.wait_for(died.wait(), WAIT)
    await first.stop()
    assert first_events.count("processed") == 2
    assert await uids(client, "INBOX") == [3, 4, 5]  # the third was stored, yet never moved

    second_events = Events()
    second = await start_gateway(settings, second_events)
    await second_events.until("processed", 3)
    await smarthost.wait_for_async(5, timeout=WAIT)
    assert await count_messages(second) == 5  # the third was recognized, not stored again
    await second.stop()

    assert subjects(smarthost.messages) == Counter({f"imap {n}": 1 for n in range(5)})
    assert await uids(client, "INBOX") == []
    assert len(await uids(client, "Processed")) == 5


async def test_new_uidvalidity_neither_loses_nor_repeats_a_message(
    db_url: str, tmp_path: Path, empty_rules: Path, dovecot: Dovecot, smarthost: Any,
    events: Events, start_gateway: StartGateway,
) -> None:
    client = await dovecot.client()
    assert (await client.create('"Catchall"')).result == "OK"
    settings = imap_settings(db_url, tmp_path, empty_rules, dovecot, mailbox="Catchall",
                             poll_interval=0.2)
    app = await start_gateway(settings, events)
    pair = await make_pair(app, smarthost)
    await append_all(client, [mail(pair, n) for n in range(5)], mailbox="Catchall")
    await smarthost.wait_for_async(5, timeout=WAIT)
    await events.until("processed", 5)
    await events.until("idle", events.count("idle") + 1)  # the pass ended: cursor saved
    old_validity, last_uid = await cursor(app)
    assert last_uid == 5

    # The provider rebuilt the mailbox: new UIDVALIDITY, UIDs from 1 again; message 4 came back.
    await rebuild_mailbox(client, "Catchall", [mail(pair, 4)] + [mail(pair, n) for n in range(100, 103)])
    await events.until("processed", 9)
    await events.until("idle", events.count("idle") + 1)
    await smarthost.wait_for_async(8, timeout=WAIT)
    new_validity, last_uid = await cursor(app)
    assert await count_messages(app) == 8
    await app.stop()

    assert new_validity != old_validity and last_uid == 4
    expected = [*range(5), *range(100, 103)]
    assert subjects(smarthost.messages) == Counter({f"imap {n}": 1 for n in expected})
    assert await uids(client, "Catchall") == []


async def cursor(app: App) -> tuple[int, int]:
    def read(s: Session) -> tuple[int, int]:
        row = s.exec(select(ImapCursor).where(col(ImapCursor.mailbox) == "Catchall")).one()
        return row.uidvalidity, row.last_uid

    return await app.db.read(read)


async def test_unroutable_and_spoofed_mail_goes_to_unroutable_and_the_audit_trail(
    relaying: Relaying, smarthost: Any, events: Events,
) -> None:
    app, pair, client = relaying.app, relaying.pair, relaying.client
    await append_all(client, [
        mail(pair, 1, to="someone@elsewhere.test"),  # no address at the gateway's domain
        mail(pair, 2, to="nobody-here@mentor.test"),  # no such alias
        mail(pair, 3, sender="stranger@spam.test"),  # not the alias's partner
        mail(pair, 4, from_header="principal@ecole.example"),  # the visible From is not the sender
        mail(pair, 5),
    ])

    await events.until("unroutable", 4)
    await events.until("processed", 1)
    await smarthost.wait_for_async(1, timeout=WAIT)
    audit = await app.db.read(lambda s: list(s.exec(
        select(AuditEvent).where(col(AuditEvent.subject_type) == "imap_message")).all()))
    assert await count_messages(app) == 1
    await app.stop()

    assert subjects(smarthost.messages) == Counter({"imap 5": 1})
    by_message = {next(n for n in range(1, 5) if f"<imap-{n}@" in (e.detail or "")): e for e in audit}
    assert sorted(by_message) == [1, 2, 3, 4] and len(audit) == 4
    assert [by_message[n].action for n in range(1, 5)] == ["unroutable"] * 3 + ["rejected"]
    assert "no recipient at @mentor.test" in (by_message[1].detail or "")
    assert "No such mentoring address" in (by_message[2].detail or "")
    assert "stranger@spam.test" in (by_message[3].detail or "")
    assert "From header" in (by_message[4].detail or "")
    assert len(await uids(client, "Unroutable")) == 4
    assert len(await uids(client, "Processed")) == 1
    assert await uids(client, "INBOX") == []


async def test_a_bounce_in_the_mailbox_goes_to_the_bounce_handler_not_unroutable(
    relaying: Relaying, smarthost: Any, events: Events,
) -> None:
    # In IMAP mode the catch-all also receives what is sent to the gateway's special addresses.
    app, pair, client = relaying.app, relaying.pair, relaying.client
    await append_all(client, [mail(pair, 1, sender="mailer-daemon@example.com",
                                   to="bounces@mentor.test")])
    await events.until("processed", 1)
    actions = await app.db.read(lambda s: list(s.exec(select(AuditEvent.action)).all()))
    await app.stop()

    assert "bounce_received" in actions and "unroutable" not in actions
    assert len(await uids(client, "Processed")) == 1
    assert smarthost.messages == []


async def test_new_mail_is_relayed_within_two_seconds_with_idle(
    relaying: Relaying, smarthost: Any, events: Events,
) -> None:
    # poll_interval 60 s: only IDLE (on by default) can make this fast.
    pair, client = relaying.pair, relaying.client
    await events.until("idle")

    started = time.monotonic()
    await append_all(client, [mail(pair, 1)])
    relayed = await smarthost.wait_for_async(1, timeout=2.0)
    latency = time.monotonic() - started

    assert latency < 2.0
    assert subjects(relayed) == Counter({"imap 1": 1})
    assert relayed[0].rcpt_tos == (pair.mentee_email,)


async def test_mail_arriving_while_a_message_is_being_stored_is_relayed_within_two_seconds(
    relaying: Relaying, smarthost: Any, events: Events,
) -> None:
    # Its EXISTS is announced during the pass, before IDLE starts: IDLE alone would miss it.
    app, pair, client = relaying.app, relaying.pair, relaying.client
    await events.until("idle")
    store, appended = app.writer.store, asyncio.Event()

    async def append_second_while_storing_first(item: Incoming) -> tuple[int, bool]:
        if not appended.is_set():
            await append_all(client, [mail(pair, 2)])
            appended.set()
        return await store(item)

    app.writer.store = append_second_while_storing_first  # type: ignore[method-assign]
    await append_all(client, [mail(pair, 1)])
    await asyncio.wait_for(appended.wait(), WAIT)
    started = time.monotonic()
    relayed = await smarthost.wait_for_async(2, timeout=2.0)

    assert time.monotonic() - started < 2.0
    assert subjects(relayed) == Counter({"imap 1": 1, "imap 2": 1})


def test_serve_runs_imap_only_when_enabled_and_needs_the_password(
    tmp_path: Path, empty_rules: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    disabled = make_settings(url, tmp_path, rules_dir=empty_rules, web={"enabled": False})
    enabled = disabled.replace(imap={"enabled": True, "password_env": PASSWORD_ENV})
    monkeypatch.setenv(PASSWORD_ENV, "secret")
    assert len(default_components(enabled)) == len(default_components(disabled)) + 1

    monkeypatch.delenv(PASSWORD_ENV)
    with pytest.raises(ConfigError, match=PASSWORD_ENV):
        default_components(enabled)
