"""What the SMTP listener refuses (open relay, unknown or closed alias, strangers, spoofed From,
oversize), with which code, and that nothing refused is stored or reaches the smarthost."""

from __future__ import annotations

import asyncio
import smtplib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import select

from gateway.clock import MovableClock
from gateway.program import service
from gateway.store.models import Message
from tests.conftest import make_settings
from tests.e2e.harness import Harness, PairInfo, SendOutcome, simple_message
from tests.e2e.smarthost import Smarthost

MAX_BYTES = 4096


async def stored_messages(harness: Harness) -> int:
    return int(await harness.db.read(lambda s: s.exec(select(func.count()).select_from(Message)).one()))


async def ready_pair(harness: Harness, smarthost: Smarthost) -> PairInfo:
    """A pair whose introductions are already out, so the smarthost starts empty."""
    pair = await harness.make_pair()
    await harness.pump()
    smarthost.clear()
    return pair


async def assert_refused_and_nothing_delivered(harness: Harness, smarthost: Smarthost,
                                               outcome: SendOutcome, code: int,
                                               enhanced: str) -> None:
    assert outcome.code == code, outcome
    assert outcome.text.startswith(enhanced), outcome
    await harness.pump()
    assert smarthost.messages == []
    assert await stored_messages(harness) == 0


def assert_human_sentence(text: str) -> None:
    """A reply a person can read: words, no exception names or tracebacks."""
    words = text.split()
    assert len(words) >= 8, text
    assert "Error" not in text and "Exception" not in text and "Traceback" not in text, text


async def test_rcpt_at_another_domain_is_refused_as_relaying(
        gateway: Harness, smarthost: Smarthost) -> None:
    pair = await ready_pair(gateway, smarthost)
    # Even a registered participant may not use the gateway to reach the outside world.
    message = simple_message(pair.mentor_email, "someone@elsewhere.example")
    outcome = await gateway.send(pair.mentor_email, ["someone@elsewhere.example"], message)
    await assert_refused_and_nothing_delivered(gateway, smarthost, outcome, 550, "5.7.1")
    # The alias's local part at a foreign domain is a foreign address too.
    local = pair.mentee_alias.split("@")[0]
    outcome = await gateway.send(pair.mentor_email, [f"{local}@elsewhere.example"],
                                 simple_message(pair.mentor_email, f"{local}@elsewhere.example"))
    await assert_refused_and_nothing_delivered(gateway, smarthost, outcome, 550, "5.7.1")


def send_to_several(port: int, mail_from: str, rcpts: list[str], data: bytes) -> dict[str, int]:
    """RCPT replies per recipient, then DATA for those accepted (what a mail client does)."""
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo()
        client.mail(mail_from)
        replies = {rcpt: client.rcpt(rcpt)[0] for rcpt in rcpts}
        replies["DATA"] = client.data(data)[0]
        return replies


async def test_an_outside_recipient_next_to_the_alias_gets_nothing(gateway: Harness,
                                                                   smarthost: Smarthost) -> None:
    pair = await ready_pair(gateway, smarthost)
    outsider = "copie@elsewhere.example"
    data = simple_message(pair.mentor_email, f"{pair.mentee_alias}, {outsider}")
    replies = await asyncio.to_thread(send_to_several, gateway.port, pair.mentor_email,
                                      [outsider, pair.mentee_alias], data)
    assert replies == {outsider: 550, pair.mentee_alias: 250, "DATA": 250}
    await gateway.pump()
    arrived = await smarthost.wait_for_async(1, timeout=5)
    assert [m.rcpt_tos for m in arrived] == [(pair.mentee_email,)]
    assert b"elsewhere.example" not in arrived[0].data


async def test_unknown_alias_is_refused_as_no_such_user(
        gateway: Harness, smarthost: Smarthost) -> None:
    pair = await ready_pair(gateway, smarthost)
    unknown = "q4z8t2w6yhbc3n5d@mentor.test"
    outcome = await gateway.send(pair.mentor_email, [unknown], simple_message(pair.mentor_email, unknown))
    await assert_refused_and_nothing_delivered(gateway, smarthost, outcome, 550, "5.1.1")


async def test_closed_pairs_aliases_are_refused_as_no_such_user(gateway: Harness, smarthost: Smarthost,
                                                                clock: MovableClock) -> None:
    pair = await ready_pair(gateway, smarthost)
    await gateway.db.write(lambda s: service.change_pair_state(s, pair.id, "close", now=clock.now()))
    outcome = await gateway.send(pair.mentor_email, [pair.mentee_alias],
                                 simple_message(pair.mentor_email, pair.mentee_alias))
    await assert_refused_and_nothing_delivered(gateway, smarthost, outcome, 550, "5.1.1")
    outcome = await gateway.send(pair.mentee_email, [pair.mentor_alias],
                                 simple_message(pair.mentee_email, pair.mentor_alias))
    await assert_refused_and_nothing_delivered(gateway, smarthost, outcome, 550, "5.1.1")


@pytest.mark.parametrize("who", ["stranger", "other_pairs_mentor", "alias_owner"])
async def test_only_the_partner_may_write_to_an_alias(
        gateway: Harness, smarthost: Smarthost, who: str) -> None:
    pair = await ready_pair(gateway, smarthost)
    other = await ready_pair(gateway, smarthost)
    sender = {"stranger": "inconnu@random.example",
              "other_pairs_mentor": other.mentor_email,
              "alias_owner": pair.mentee_email}[who]  # the mentee writing to her own alias
    outcome = await gateway.send(sender, [pair.mentee_alias], simple_message(sender, pair.mentee_alias))
    await assert_refused_and_nothing_delivered(gateway, smarthost, outcome, 550, "5.7.1")
    assert_human_sentence(outcome.text)


SPOOFED_FROM = {
    "other_address": "Marie-Ève Tremblay <marie.eve@autre.example>",
    "address_as_display_name": '"{mentor}" <marie.eve@autre.example>',
    "encoded_display_name": "=?utf-8?q?{encoded}?= <marie.eve@autre.example>",
    "second_mailbox": "{mentor}, marie.eve@autre.example",
    "group": "Nous: {mentor}, marie.eve@autre.example;",
}


@pytest.mark.parametrize("spoof", sorted(SPOOFED_FROM))
async def test_right_envelope_sender_with_a_spoofed_from_header_is_refused(
        gateway: Harness, smarthost: Smarthost, spoof: str) -> None:
    pair = await ready_pair(gateway, smarthost)
    encoded = pair.mentor_email.replace(".", "=2E").replace("@", "=40")
    from_header = SPOOFED_FROM[spoof].format(mentor=pair.mentor_email, encoded=encoded)
    message = simple_message(pair.mentor_email, pair.mentee_alias).replace(
        f"From: {pair.mentor_email}".encode(), f"From: {from_header}".encode())
    assert from_header.encode() in message
    outcome = await gateway.send(pair.mentor_email, [pair.mentee_alias], message)
    await assert_refused_and_nothing_delivered(gateway, smarthost, outcome, 550, "5.7.1")
    assert_human_sentence(outcome.text)


async def test_right_from_header_with_a_foreign_envelope_sender_is_refused(gateway: Harness,
                                                                          smarthost: Smarthost) -> None:
    pair = await ready_pair(gateway, smarthost)
    message = simple_message(pair.mentor_email, pair.mentee_alias)
    outcome = await gateway.send("bounces@autre.example", [pair.mentee_alias], message)
    await assert_refused_and_nothing_delivered(gateway, smarthost, outcome, 550, "5.7.1")
    assert_human_sentence(outcome.text)


async def test_a_second_from_header_is_refused(gateway: Harness, smarthost: Smarthost) -> None:
    pair = await ready_pair(gateway, smarthost)
    message = b"From: marie.eve@autre.example\r\n" + simple_message(pair.mentor_email, pair.mentee_alias)
    outcome = await gateway.send(pair.mentor_email, [pair.mentee_alias], message)
    await assert_refused_and_nothing_delivered(gateway, smarthost, outcome, 550, "5.7.1")


async def test_a_quoted_or_encoded_display_name_of_the_right_address_passes(
        gateway: Harness, smarthost: Smarthost) -> None:
    """Clients without a configured name write the address as the name: that is no spoof."""
    pair = await ready_pair(gateway, smarthost)
    encoded = pair.mentor_email.replace(".", "=2E").replace("@", "=40")
    for n, name in enumerate((f'"{pair.mentor_email}"', f"=?utf-8?q?{encoded}?=", '"Tremblay, Marie"')):
        message = simple_message(pair.mentor_email, pair.mentee_alias,
                                 message_id=f"<named.{n}@client.example.com>").replace(
            f"From: {pair.mentor_email}".encode(), f"From: {name} <{pair.mentor_email}>".encode())
        outcome = await gateway.send(pair.mentor_email, [pair.mentee_alias], message)
        assert outcome.code == 250, (name, outcome)
    await gateway.pump()
    await smarthost.wait_for_async(3, timeout=5)


@pytest.fixture
async def small_gateway(db_url: str, tmp_path: Path, clock: MovableClock, smarthost: Smarthost,
                        empty_rules: Path) -> AsyncIterator[Harness]:
    settings = make_settings(db_url, tmp_path, rules_dir=empty_rules,
                             smtp={"max_message_bytes": MAX_BYTES})
    harness = Harness(settings, clock, smarthost.port)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


def big_message(pair: PairInfo) -> bytes:
    body = "Un très long message.\n" * (MAX_BYTES // 20)
    return simple_message(pair.mentor_email, pair.mentee_alias, body=body)


async def test_oversize_message_declared_with_size_is_refused(
        small_gateway: Harness, smarthost: Smarthost) -> None:
    pair = await ready_pair(small_gateway, smarthost)
    message = big_message(pair)
    assert len(message) > MAX_BYTES
    # smtplib declares SIZE= on MAIL FROM, so the refusal comes before the body is sent.
    outcome = await small_gateway.send(pair.mentor_email, [pair.mentee_alias], message)
    await assert_refused_and_nothing_delivered(small_gateway, smarthost, outcome, 552, "5.3.4")


def send_without_size(port: int, mail_from: str, rcpt: str, data: bytes) -> tuple[int, bytes]:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo()
        assert client.mail(mail_from)[0] == 250
        assert client.rcpt(rcpt)[0] == 250
        return client.data(data)


async def test_oversize_message_without_size_is_refused_after_data(small_gateway: Harness,
                                                                   smarthost: Smarthost) -> None:
    pair = await ready_pair(small_gateway, smarthost)
    code, text = await asyncio.to_thread(send_without_size, small_gateway.port, pair.mentor_email,
                                         pair.mentee_alias, big_message(pair))
    outcome = SendOutcome(code, text.decode())
    await assert_refused_and_nothing_delivered(small_gateway, smarthost, outcome, 552, "5.3.4")


async def test_a_message_under_the_limit_still_passes(
        small_gateway: Harness, smarthost: Smarthost) -> None:
    pair = await ready_pair(small_gateway, smarthost)
    message = simple_message(pair.mentor_email, pair.mentee_alias, body="Court.\n")
    assert (await small_gateway.send(pair.mentor_email, [pair.mentee_alias], message)).code == 250
    await small_gateway.pump()
    await smarthost.wait_for_async(1, timeout=5)


async def test_aliases_and_registered_addresses_are_case_insensitive(
        gateway: Harness, smarthost: Smarthost) -> None:
    pair = await ready_pair(gateway, smarthost)
    upper_alias = pair.mentee_alias.upper()
    sender = pair.mentor_email.upper()
    message = simple_message(sender, upper_alias, from_header=f"Marie <{sender}>")
    outcome = await gateway.send(sender, [upper_alias], message)
    assert outcome.code == 250, outcome
    await gateway.pump()
    arrived = await smarthost.wait_for_async(1, timeout=5)
    assert list(arrived[0].rcpt_tos) == [pair.mentee_email]
