"""A mentor and a mentee write to each other through their aliases and keep one thread."""

from __future__ import annotations

from email import message_from_bytes, policy

from tests.e2e.harness import Harness, simple_message


def parse(data: bytes):  # type: ignore[no-untyped-def]
    return message_from_bytes(data, policy=policy.default)


async def test_mentor_and_mentee_write_back_and_forth_in_one_thread(gateway: Harness, smarthost) -> None:
    pair = await gateway.make_pair()
    await gateway.pump()  # introductions
    smarthost.clear()

    first = simple_message(pair.mentor_email, pair.mentee_alias, subject="Ton stage",
                           body="Bonjour Léa, as-tu trouvé ton stage ?\n",
                           message_id="<first.1@mail.example.com>")
    assert (await gateway.send(pair.mentor_email, [pair.mentee_alias], first)).code == 250
    await gateway.pump()
    await smarthost.wait_for_async(1, timeout=5)
    arrived = smarthost.messages[0]
    assert list(arrived.rcpt_tos) == [pair.mentee_email]
    got = parse(arrived.data)
    assert got["Reply-To"] == pair.mentor_alias
    assert pair.mentor_alias in got["From"] and "Marie-Ève via" in str(got["From"])
    assert "Tremblay" not in str(got["From"])  # first name only by default
    assert "example.com" not in arrived.data.decode(errors="replace").lower().replace(
        "eleves.example.net", "")
    assert "as-tu trouvé ton stage" in got.get_body(("plain",)).get_content()
    forwarded_id = got["Message-ID"]
    assert forwarded_id.endswith("@mentor.test>")

    smarthost.clear()
    reply = simple_message(pair.mentee_email, pair.mentor_alias, subject="Re: Ton stage",
                           body="Oui, merci !\n", in_reply_to=forwarded_id)
    assert (await gateway.send(pair.mentee_email, [pair.mentor_alias], reply)).code == 250
    await gateway.pump()
    await smarthost.wait_for_async(1, timeout=5)
    back = parse(smarthost.messages[0].data)
    assert list(smarthost.messages[0].rcpt_tos) == [pair.mentor_email]
    # The mentor's client threads the reply under the mentor's own original message.
    assert back["In-Reply-To"] == "<first.1@mail.example.com>"
    assert "<first.1@mail.example.com>" in back["References"]
    assert "eleves.example.net" not in smarthost.messages[0].data.decode(errors="replace").lower()


async def test_a_message_without_date_gets_the_time_we_received_it(gateway: Harness, smarthost) -> None:
    pair = await gateway.make_pair()
    await gateway.pump()
    smarthost.clear()
    raw = simple_message(pair.mentee_email, pair.mentor_alias)
    assert b"\nDate:" not in raw
    assert (await gateway.send(pair.mentee_email, [pair.mentor_alias], raw)).code == 250
    await gateway.pump()
    await smarthost.wait_for_async(1, timeout=5)
    got = parse(smarthost.messages[0].data)
    assert got["Date"].datetime is not None
    assert abs((got["Date"].datetime - gateway.clock.now()).total_seconds()) < 5
