"""Delivery as the participants notice it: once and only once, retries on the schedule, failure
notices in the sender's language, paused pairs held, closed pairs refused."""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta

import pytest
from sqlmodel import select

from gateway.clock import MovableClock
from gateway.program import service
from gateway.review import held
from gateway.store.models import Message, Outbox
from tests.e2e.harness import Harness, PairInfo, simple_message
from tests.e2e.smarthost import Recorded, Smarthost, Stage

# tests/conftest.py leaves [outbound] at its defaults: 1m, 5m, 15m, 1h, 4h, then every 4h, for 5 days.
SCHEDULE = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1),
            timedelta(hours=4))
EVERY = timedelta(hours=4)
GIVE_UP = timedelta(days=5)
FAILED_PHRASE = {"en": "We could not deliver your message to", "fr": "Nous n'avons pas réussi à livrer"}


async def ready_pair(gateway: Harness, smarthost: Smarthost, mentor_lang: str = "fr") -> PairInfo:
    pair = await gateway.make_pair(mentor_lang=mentor_lang)
    await gateway.pump()  # introductions
    smarthost.clear()
    return pair


def to(smarthost: Smarthost, address: str) -> list[Recorded]:
    return [m for m in smarthost.messages if address in m.rcpt_tos]


async def forward_rows(gateway: Harness) -> list[Outbox]:
    query = select(Outbox).where(Outbox.kind == "forward")
    return await gateway.db.read(lambda s: list(s.exec(query).all()))


async def messages(gateway: Harness) -> list[Message]:
    return await gateway.db.read(lambda s: list(s.exec(select(Message)).all()))


async def send_first(
        gateway: Harness, pair: PairInfo, message_id: str = "<stage.1@client.example.com>") -> None:
    data = simple_message(pair.mentor_email, pair.mentee_alias, subject="Ton stage",
                          message_id=message_id)
    outcome = await gateway.send(pair.mentor_email, [pair.mentee_alias], data)
    assert outcome.code == 250, outcome


async def test_the_same_message_sent_twice_is_delivered_once(
        gateway: Harness, smarthost: Smarthost) -> None:
    pair = await ready_pair(gateway, smarthost)
    base = smarthost.data_commands
    await send_first(gateway, pair)
    await send_first(gateway, pair)  # the client lost our 250 and sends again
    await gateway.pump()
    await smarthost.wait_for_async(1, timeout=5)
    await send_first(gateway, pair)  # and once more, after delivery, an hour later
    gateway.clock.advance(timedelta(hours=1))
    await gateway.pump()
    assert len(to(smarthost, pair.mentee_email)) == 1
    assert smarthost.data_commands == base + 1
    assert len(await messages(gateway)) == 1
    # A different message with its own Message-ID is of course delivered too.
    await send_first(gateway, pair, message_id="<stage.2@client.example.com>")
    await gateway.pump()
    await smarthost.wait_for_async(2, timeout=5)


async def test_temporary_failures_are_retried_on_schedule_and_delivered_once(
        gateway: Harness, smarthost: Smarthost, clock: MovableClock) -> None:
    pair = await ready_pair(gateway, smarthost)
    base = smarthost.data_commands
    smarthost.script("451 4.3.0 try later", "451 4.3.0 try later", "250")
    await send_first(gateway, pair)
    await gateway.pump()
    assert smarthost.data_commands - base == 1
    clock.advance(SCHEDULE[0] - timedelta(seconds=1))
    await gateway.pump()
    assert smarthost.data_commands - base == 1  # not due yet
    clock.advance(timedelta(seconds=1))
    await gateway.pump()
    assert smarthost.data_commands - base == 2
    clock.advance(SCHEDULE[1])
    await gateway.pump()
    await smarthost.wait_for_async(1, timeout=5)
    clock.advance(timedelta(days=1))
    await gateway.pump()
    assert smarthost.data_commands - base == 3
    assert len(to(smarthost, pair.mentee_email)) == 1
    [row] = await forward_rows(gateway)
    assert (row.state, row.attempts) == ("sent", 3)
    assert [m.state for m in await messages(gateway)] == ["delivered"]


@pytest.mark.parametrize(("trouble", "times"), [("disconnect", 2), ("hang", 1)])
async def test_a_dropped_or_silent_smarthost_is_retried_and_delivers_once(
        gateway: Harness, smarthost: Smarthost, clock: MovableClock, trouble: str, times: int) -> None:
    pair = await ready_pair(gateway, smarthost)
    # A dropped reused connection is retried at once on a fresh one (transports.py), so it takes
    # two drops to defer; "hang" waits for the transport's 3 s timeout (tests/e2e/harness.py).
    smarthost.script(*[trouble] * times)
    await send_first(gateway, pair)
    await gateway.pump()
    [row] = await forward_rows(gateway)
    assert (row.state, row.attempts) == ("deferred", 1)
    clock.advance(SCHEDULE[0])
    await gateway.pump()
    await smarthost.wait_for_async(1, timeout=5)
    clock.advance(timedelta(days=1))
    await gateway.pump()
    assert len(to(smarthost, pair.mentee_email)) == 1


def assert_failure_notice(smarthost: Smarthost, pair: PairInfo, lang: str) -> None:
    [notice] = to(smarthost, pair.mentor_email)
    text = notice.data.decode("latin-1").lower()
    body = email.message_from_bytes(notice.data, policy=email.policy.default).get_body(("plain",))
    assert body is not None
    assert FAILED_PHRASE[lang] in body.get_content()  # type: ignore[attr-defined]
    assert pair.mentee_email not in text and "eleves.example.net" not in text
    assert not to(smarthost, pair.mentee_email)


@pytest.mark.parametrize(("lang", "stage"), [("fr", "data"), ("en", "rcpt")])
async def test_a_permanent_refusal_fails_the_message_and_tells_the_sender(
        gateway: Harness, smarthost: Smarthost, lang: str, stage: Stage) -> None:
    pair = await ready_pair(gateway, smarthost, mentor_lang=lang)
    # Smarthosts like to quote the refused address back: it must not reach the sender.
    smarthost.script(f"550 5.1.1 <{pair.mentee_email}>: Recipient address rejected", stage=stage)
    await send_first(gateway, pair)
    await gateway.pump()
    await smarthost.wait_for_async(1, timeout=5)
    [row] = await forward_rows(gateway)
    assert (row.state, row.attempts) == ("failed", 1)
    assert [m.state for m in await messages(gateway)] == ["failed"]
    assert_failure_notice(smarthost, pair, lang)


async def test_a_smarthost_down_for_the_whole_retry_window_fails_and_tells_the_sender(
        gateway: Harness, smarthost: Smarthost, clock: MovableClock) -> None:
    pair = await ready_pair(gateway, smarthost, mentor_lang="en")
    smarthost.down()
    await send_first(gateway, pair)
    await gateway.pump()
    waited, attempts = timedelta(0), 1
    while (await forward_rows(gateway))[0].state != "failed":
        step = SCHEDULE[attempts - 1] if attempts <= len(SCHEDULE) else EVERY
        clock.advance(step)
        waited += step
        await gateway.pump()
        attempts += 1
        assert waited <= GIVE_UP + EVERY, "still retrying long after give_up_after"
    assert waited > GIVE_UP - EVERY  # it kept trying for the whole window
    [row] = await forward_rows(gateway)
    assert row.attempts == attempts
    assert [m.state for m in await messages(gateway)] == ["failed"]
    smarthost.up()
    clock.advance(SCHEDULE[0])  # the notice itself met the dead smarthost once
    await gateway.pump()
    await smarthost.wait_for_async(1, timeout=5)
    assert_failure_notice(smarthost, pair, "en")


async def test_a_paused_pairs_mail_is_held_until_a_moderator_approves_it(
        gateway: Harness, smarthost: Smarthost, clock: MovableClock) -> None:
    pair = await ready_pair(gateway, smarthost)
    await gateway.db.write(lambda s: service.change_pair_state(s, pair.id, "pause", now=clock.now()))
    await send_first(gateway, pair)
    await gateway.pump()
    [message] = await messages(gateway)
    assert message.state == "held" and "pair_paused" in (message.hits_json or "")
    assert not to(smarthost, pair.mentee_email)
    # Resuming the pair does not release what was held: a moderator decides (moderation/held.py).
    await gateway.db.write(lambda s: service.change_pair_state(s, pair.id, "resume", now=clock.now()))
    clock.advance(timedelta(hours=1))
    await gateway.pump()
    assert not to(smarthost, pair.mentee_email)
    await gateway.db.write(lambda s: held.approve(s, gateway.settings, message.id or 0,
                                                  actor="moderator@mentor.test", now=clock.now()))
    await gateway.pump()
    await smarthost.wait_for_async(1, timeout=5)
    clock.advance(timedelta(days=1))
    await gateway.pump()
    [delivered] = to(smarthost, pair.mentee_email)
    assert b"Ton stage" in delivered.data
    assert [m.state for m in await messages(gateway)] == ["delivered"]


async def test_a_closed_pair_refuses_mail_both_ways(gateway: Harness, smarthost: Smarthost,
                                                    clock: MovableClock) -> None:
    pair = await ready_pair(gateway, smarthost)
    await gateway.db.write(lambda s: service.change_pair_state(s, pair.id, "pause", now=clock.now()))
    await gateway.db.write(lambda s: service.change_pair_state(s, pair.id, "close", now=clock.now()))
    for sender, alias in ((pair.mentor_email, pair.mentee_alias), (pair.mentee_email, pair.mentor_alias)):
        outcome = await gateway.send(sender, [alias], simple_message(sender, alias))
        assert outcome.code == 550 and outcome.text.startswith("5.1.1"), outcome
    await gateway.pump()
    assert smarthost.messages == []
    assert await messages(gateway) == []


@pytest.mark.parametrize("oddity", ["nul_in_subject", "nul_in_message_id", "message_id_over_998"])
async def test_headers_a_database_cannot_hold_do_not_block_the_message(
        gateway: Harness, smarthost: Smarthost, oddity: str) -> None:
    """PostgreSQL refuses NUL in text and over-long values: the client must not get 451 forever."""
    pair = await ready_pair(gateway, smarthost)
    data = simple_message(pair.mentor_email, pair.mentee_alias, subject="Bonjour",
                          message_id="<odd.1@client.example.com>")
    data = {"nul_in_subject": data.replace(b"Subject: Bonjour", b"Subject: Bon\x00jour"),
            "nul_in_message_id": data.replace(b"<odd.1@", b"<odd\x001@"),
            "message_id_over_998": data.replace(b"<odd.1@", b"<" + b"o" * 1200 + b"@")}[oddity]
    for _ in range(2):  # and the client's resend is still recognized
        outcome = await gateway.send(pair.mentor_email, [pair.mentee_alias], data)
        assert outcome.code == 250, outcome
    await gateway.pump()
    await smarthost.wait_for_async(1, timeout=5)
    assert len(to(smarthost, pair.mentee_email)) == 1
    assert b"\x00" not in to(smarthost, pair.mentee_email)[0].data
