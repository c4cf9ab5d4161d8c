"""Moderation by e-mail end to end: a moderator answers a notice from an ordinary mail client.

The notice at the recording smarthost carries signed, single-use, expiring reply addresses; the
moderator's reply (smtplib, to the real listener) approves or rejects; strangers, reused, expired
and forged tokens change nothing. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import re
import smtplib
from collections.abc import AsyncIterator
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from pathlib import Path
from typing import Any

import pytest

from gateway.clock import MovableClock
from gateway.program.service import add_organization
from gateway.program.staff import add_staff
from gateway.review.held import get_message
from tests.conftest import make_settings
from tests.e2e.harness import PHONE_RULE, Harness, PairInfo, simple_message, write_rules
from tests.e2e.moderation_helpers import render_threads
from tests.e2e.test_web_http import HOLD_ALL_RULE

pytestmark = pytest.mark.e2e
MODERATOR = "mod@program.example.org"
OTHER_MODERATOR = "mod2@program.example.org"
COORDINATOR = "coord@program.example.org"
REPLY_ADDRESS = re.compile(r"moderate\+[0-9a-z-]+@mentor\.test", re.IGNORECASE)
REFUSED_SUBJECT = "Votre réponse n’a rien changé"


@pytest.fixture
async def harness(db_url: str, tmp_path: Path, clock: MovableClock,
                  smarthost: Any) -> AsyncIterator[Harness]:
    rules = write_rules(tmp_path / "rules", {"hold_all.toml": HOLD_ALL_RULE,
                                             "contact_details.toml": PHONE_RULE})
    running = Harness(make_settings(db_url, tmp_path, rules_dir=rules), clock, smarthost.port)
    await running.start()
    now = clock.now()

    def staff(session: Any) -> None:
        add_organization(session, "École A", now=now)
        add_staff(session, email=MODERATOR, name="Modératrice", role="moderator", now=now)
        add_staff(session, email=OTHER_MODERATOR, name="Autre", role="moderator", now=now,
                  org="École A", lang="en")
        add_staff(session, email=COORDINATOR, name="Coord", role="coordinator", now=now,
                  org="École A")

    await running.db.write(staff)
    try:
        yield running
    finally:
        await running.stop()


def body_of(data: bytes) -> str:
    msg = message_from_bytes(data, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    part = msg.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def subject_of(data: bytes) -> str:
    return str(message_from_bytes(data, policy=policy.default)["Subject"])


def to(smarthost: Any, address: str) -> list[Any]:
    return [m for m in smarthost.messages if [r.lower() for r in m.rcpt_tos] == [address.lower()]]


async def hold_one(harness: Harness, smarthost: Any, pair: PairInfo,
                   subject: str = "Mon stage") -> tuple[int, dict[str, str]]:
    """The mentee writes; the message is held; the (approve, reject) addresses of MODERATOR's notice."""
    data = simple_message(pair.mentee_email, pair.mentor_alias, subject,
                          "Bonjour, voici des nouvelles de mon stage.\n")
    assert (await harness.send(pair.mentee_email, [pair.mentor_alias], data)).code == 250
    await harness.pump()
    notices = [m for m in to(smarthost, MODERATOR) if subject in body_of(m.data)]
    assert len(notices) == 1
    text = body_of(notices[0].data)
    message_id = int(re.search(r"message #(\d+)", text, re.IGNORECASE).group(1))  # type: ignore[union-attr]
    approve = re.search(r"approuver : répondez à (\S+)", text)
    reject = re.search(r"refuser : répondez à (\S+)", text)
    assert approve and reject, text
    addresses = {"approve": approve.group(1), "reject": reject.group(1)}
    assert all(REPLY_ADDRESS.fullmatch(a) for a in addresses.values()), addresses
    return message_id, addresses


def reply(sender: str, rcpt: str, body: str = "OK\n", *, from_header: str | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = from_header or f"Modératrice <{sender}>"
    msg["To"] = rcpt
    msg["Subject"] = "Re: [Modération] Message à vérifier"
    msg.set_content(body + "\nLe dim. 29 nov. 2026 à 12:00, Academos Test a écrit :\n"
                    "> Le message attend une décision.\n")
    return msg.as_bytes(policy=SMTP_POLICY)


def _send_reply(port: int, sender: str, rcpt: str, data: bytes) -> tuple[int, str]:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo()
        client.mail(sender)
        code, text = client.rcpt(rcpt)
        if code != 250:
            return code, text.decode()
        code, text = client.data(data)
        return code, text.decode()


async def answer(harness: Harness, sender: str, rcpt: str, body: str = "OK\n", *,
                 from_header: str | None = None) -> tuple[int, str]:
    """A mail client sends the reply (envelope sender = `sender`); the gateway's final answer."""
    data = reply(sender, rcpt, body, from_header=from_header)
    outcome = await asyncio.to_thread(_send_reply, harness.port, sender, rcpt, data)
    await harness.pump()
    return outcome


async def state_of(harness: Harness, message_id: int) -> str:
    return (await harness.db.read(lambda s: get_message(s, message_id))).state


async def test_approve_by_reply_delivers_once_anonymized(harness: Harness, smarthost: Any) -> None:
    pair = await harness.make_pair(org="École A")
    await harness.pump()
    smarthost.clear()
    message_id, addresses = await hold_one(harness, smarthost, pair)
    assert addresses["approve"] != addresses["reject"]
    assert to(smarthost, pair.mentor_email) == []

    code, text = await answer(harness, MODERATOR, addresses["approve"])
    assert (code, text) == (250, "2.0.0 Decision recorded")
    delivered = to(smarthost, pair.mentor_email)
    assert len(delivered) == 1
    data = delivered[0].data.decode(errors="replace").lower()
    assert "eleves.example.net" not in data and MODERATOR not in data
    assert pair.mentee_alias.lower() in data  # the mentor answers through the alias
    assert "nouvelles de mon stage" in body_of(delivered[0].data)
    await harness.pump()
    assert len(to(smarthost, pair.mentor_email)) == 1
    assert await state_of(harness, message_id) == "delivered"


async def test_reject_by_reply_tells_the_sender_in_their_language(harness: Harness,
                                                                  smarthost: Any) -> None:
    pair = await harness.make_pair(org="École A", mentee_lang="en")
    await harness.pump()
    smarthost.clear()
    message_id, addresses = await hold_one(harness, smarthost, pair)
    before = len(to(smarthost, pair.mentee_email))  # the "your message is held" notice

    empty = await answer(harness, MODERATOR, addresses["reject"], body="")
    assert empty[0] == 250 and "nothing was changed" in empty[1]
    assert await state_of(harness, message_id) == "held"  # a rejection needs a reason
    explained = [m for m in to(smarthost, MODERATOR) if REFUSED_SUBJECT in subject_of(m.data)]
    assert len(explained) == 1 and "écrivez le motif" in body_of(explained[0].data)

    reason = "Please do not share your personal phone number."
    code, text = await answer(harness, MODERATOR, addresses["reject"], body=reason + "\n")
    assert (code, text) == (250, "2.0.0 Decision recorded")
    assert await state_of(harness, message_id) == "rejected"
    notices = to(smarthost, pair.mentee_email)[before:]
    assert len(notices) == 1
    told = body_of(notices[0].data)
    assert "was not delivered" in told and reason in told
    assert "a écrit" not in told and ">" not in told  # the quoted notice is not the reason
    assert to(smarthost, pair.mentor_email) == []


async def test_strangers_are_refused_and_change_nothing(harness: Harness, smarthost: Any) -> None:
    pair = await harness.make_pair(org="École A")
    await harness.pump()
    smarthost.clear()
    message_id, addresses = await hold_one(harness, smarthost, pair)
    smarthost.clear()
    attempts = [
        ("intrus@example.com", None),  # anybody
        ("intrus@example.com", f"Modératrice <{MODERATOR}>"),  # a forged From header
        (MODERATOR, "Intrus <intrus@example.com>"),  # a forged envelope
        (COORDINATOR, None),  # staff, but coordinators do not decide
        (pair.mentee_email, None),  # the sender approving their own message
    ]
    for sender, from_header in attempts:
        code, text = await answer(harness, sender, addresses["approve"],
                                  from_header=from_header or sender)
        assert (code, text[:5]) == (550, "5.7.1"), (sender, from_header)
    assert await state_of(harness, message_id) == "held"
    assert smarthost.messages == []  # nothing delivered, nobody answered

    # The token itself was not spent: the moderator can still use it.
    assert (await answer(harness, MODERATOR, addresses["approve"]))[0] == 250
    assert len(to(smarthost, pair.mentor_email)) == 1


async def test_a_token_works_once(harness: Harness, smarthost: Any) -> None:
    pair = await harness.make_pair(org="École A")
    await harness.pump()
    smarthost.clear()
    message_id, addresses = await hold_one(harness, smarthost, pair)
    assert (await answer(harness, MODERATOR, addresses["approve"]))[1] == "2.0.0 Decision recorded"
    assert len(to(smarthost, pair.mentor_email)) == 1
    smarthost.clear()

    code, text = await answer(harness, MODERATOR, addresses["approve"])
    assert code == 250 and "nothing was changed" in text
    explained = to(smarthost, MODERATOR)
    assert len(explained) == 1 and REFUSED_SUBJECT in subject_of(explained[0].data)
    assert "déjà servi" in body_of(explained[0].data)
    # The other address of the same notice cannot undo the decision either.
    code, text = await answer(harness, MODERATOR, addresses["reject"], body="Finalement non.\n")
    assert code == 250 and "nothing was changed" in text
    assert "déjà été traité" in body_of(to(smarthost, MODERATOR)[-1].data)
    assert to(smarthost, pair.mentor_email) == [] and to(smarthost, pair.mentee_email) == []
    assert await state_of(harness, message_id) == "delivered"


async def test_an_expired_token_changes_nothing(harness: Harness, smarthost: Any) -> None:
    pair = await harness.make_pair(org="École A")
    await harness.pump()
    smarthost.clear()
    message_id, addresses = await hold_one(harness, smarthost, pair)
    smarthost.clear()
    harness.clock.advance(timedelta(days=7, minutes=2))  # token_valid_for = 7d

    code, text = await answer(harness, MODERATOR, addresses["approve"])
    assert code == 250 and "nothing was changed" in text
    explained = to(smarthost, MODERATOR)
    assert len(explained) == 1 and "a expiré" in body_of(explained[0].data)
    assert to(smarthost, pair.mentor_email) == []
    assert await state_of(harness, message_id) == "held"


def tampered(address: str, index: int, value: str) -> str:
    local, _, domain = address.partition("@")
    prefix, _, token = local.partition("+")
    parts = token.split("-")
    parts[index] = value
    return f"{prefix}+{'-'.join(parts)}@{domain}"


async def test_forged_tokens_change_nothing(harness: Harness, smarthost: Any) -> None:
    pair = await harness.make_pair(org="École A")
    await harness.pump()
    smarthost.clear()
    first_id, first = await hold_one(harness, smarthost, pair, subject="Premier")
    second_id, _second = await hold_one(harness, smarthost, pair, subject="Second")
    smarthost.clear()
    sig = first["approve"].partition("@")[0].split("-")[-1]
    forged = [
        tampered(first["approve"], 0, str(second_id)),  # another message, same signature
        tampered(first["reject"], 1, "a"),  # a rejection turned into an approval
        tampered(first["approve"], 3, "99999999"),  # a later expiry
        tampered(first["approve"], -1, ("0" if sig[0] != "0" else "1") + sig[1:]),
        "moderate+1-a-1-99999999-000000000000000000000000@mentor.test",
    ]
    for address in forged:
        code, text = await answer(harness, MODERATOR, address)
        assert code == 250 and "nothing was changed" in text, address
    explained = to(smarthost, MODERATOR)
    assert len(explained) == len(forged)
    assert all("pas valide pour vous" in body_of(m.data) for m in explained)

    # A genuine token is personal: another moderator cannot use the first one's.
    code, text = await answer(harness, OTHER_MODERATOR, first["approve"],
                              from_header=OTHER_MODERATOR)
    assert code == 250 and "nothing was changed" in text
    assert "not valid for you" in body_of(to(smarthost, OTHER_MODERATOR)[-1].data)
    assert to(smarthost, pair.mentor_email) == [] and to(smarthost, pair.mentee_email) == []
    assert (await state_of(harness, first_id), await state_of(harness, second_id)) == ("held", "held")


def parsed(data: bytes) -> EmailMessage:
    msg = message_from_bytes(data, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def pressed_reply(notice: EmailMessage, sender: str, typed: str, style: str) -> EmailMessage:
    """What Gmail or Outlook sends when the moderator presses Reply and types `typed`."""
    quoted_text = body_of(notice.as_bytes())
    reply_msg = EmailMessage()
    reply_msg["From"] = sender
    reply_msg["To"] = str(notice["Reply-To"])
    reply_msg["Subject"] = "Re: " + str(notice["Subject"])
    reply_msg["In-Reply-To"] = str(notice["Message-ID"])
    if style == "gmail":
        body = (typed + "\n\nLe lun. 30 nov. 2026 à 12:00, Academos Test <program@mentor.test> a "
                "écrit :\n" + "".join(f"> {line}\n" for line in quoted_text.splitlines()))
    else:
        body = (typed + "\n\nAlex Martin\nCoordinator, École A\n514-555-9999\n\n"
                "-----Original Message-----\nFrom: Academos Test <program@mentor.test>\n"
                "Sent: Monday, November 30, 2026 12:00 PM\nTo: Alex Martin\n"
                f"Subject: {notice['Subject']}\n\n" + quoted_text)
    reply_msg.set_content(body)
    return reply_msg


async def press_reply(harness: Harness, sender: str, reply_msg: EmailMessage) -> tuple[int, str]:
    data = reply_msg.as_bytes(policy=SMTP_POLICY)
    outcome = await asyncio.to_thread(_send_reply, harness.port, sender, str(reply_msg["To"]), data)
    await harness.pump()
    return outcome


async def test_pressing_reply_decides_gmail_and_outlook_quotes_ignored(
        harness: Harness, smarthost: Any) -> None:
    pair = await harness.make_pair(org="École A")
    await harness.pump()
    smarthost.clear()
    phone_text = "Salut ! Mon numéro : 514-555-1234, appelle-moi ce soir.\n"
    data = simple_message(pair.mentee_email, pair.mentor_alias, "Mon numéro", phone_text)
    assert (await harness.send(pair.mentee_email, [pair.mentor_alias], data)).code == 250
    await harness.pump()
    [fr_notice] = [parsed(m.data) for m in to(smarthost, MODERATOR)]
    [en_notice] = [parsed(m.data) for m in to(smarthost, OTHER_MODERATOR)]
    message_id = int(re.search(r"#(\d+)", str(fr_notice["Subject"])).group(1))  # type: ignore[union-attr]
    # The notice: subject, excerpt with the evidence marked (text and HTML), labels in the
    # moderator's language, a link to the item, and Reply-To = the signed decision address.
    text, html = body_of(fr_notice.as_bytes()), fr_notice.get_body(("html",))
    assert html is not None
    assert "Objet : Mon numéro" in text and ">>>514-555-1234<<<" in text
    assert "Coordonnées personnelles" in text and "contact_details" not in text
    assert f"/messages/{message_id}" in text
    assert ">514-555-1234</mark>" in str(html.get_content())
    assert "Contact details" in body_of(en_notice.as_bytes())
    reply_to = str(fr_notice["Reply-To"])
    assert REPLY_ADDRESS.fullmatch(reply_to) and reply_to != str(en_notice["Reply-To"])
    assert pair.mentee_email not in fr_notice.as_string()

    # Gmail, in French: "oui" above the quoted notice (which itself says "non : raison").
    gmail = pressed_reply(fr_notice, f"Modératrice <{MODERATOR}>", "oui", "gmail")
    assert "non : raison" in gmail.get_content()
    assert await press_reply(harness, MODERATOR, gmail) == (250, "2.0.0 Decision recorded")
    assert await state_of(harness, message_id) == "delivered"
    assert len(to(smarthost, pair.mentor_email)) == 1
    again = await press_reply(harness, MODERATOR, gmail)  # single use
    assert again[0] == 250 and "nothing was changed" in again[1]

    # Outlook, in English, on a second message: a reason, a signature, the original below.
    data = simple_message(pair.mentee_email, pair.mentor_alias, "Rendez-vous", phone_text)
    assert (await harness.send(pair.mentee_email, [pair.mentor_alias], data)).code == 250
    await harness.pump()
    notice = [parsed(m.data) for m in to(smarthost, OTHER_MODERATOR)][-1]
    second = int(re.search(r"#(\d+)", str(notice["Subject"])).group(1))  # type: ignore[union-attr]
    before = len(to(smarthost, pair.mentee_email))
    unclear = pressed_reply(notice, OTHER_MODERATOR, "Let me check with the school first.", "outlook")
    assert (await press_reply(harness, OTHER_MODERATOR, unclear))[0] == 250
    assert await state_of(harness, second) == "held"  # nothing decided, the address still works
    reason = "Please keep phone numbers out of the conversation."
    outlook = pressed_reply(notice, OTHER_MODERATOR, f"Reject: {reason}", "outlook")
    assert await press_reply(harness, OTHER_MODERATOR, outlook) == (250, "2.0.0 Decision recorded")
    assert await state_of(harness, second) == "rejected"
    [told] = to(smarthost, pair.mentee_email)[before:]
    told_text = body_of(told.data)
    assert reason in told_text
    assert "Alex Martin" not in told_text and "514-555-9999" not in told_text  # no signature
    # Someone else replying with the moderator's notice is still refused.
    stranger = pressed_reply(notice, "intrus@example.com", "approve", "gmail")
    assert (await press_reply(harness, "intrus@example.com", stranger))[0] == 550


@pytest.mark.parametrize("how", ["approve", "decide"])
async def test_an_approval_by_reply_renders_the_forward_outside_the_writer(
        harness: Harness, smarthost: Any, monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    """Rendering a large message takes seconds; on SQLite the single writer would hold every
    incoming message meanwhile. The forward is rendered in a read transaction ("db-r"
    threads), the write only stores it."""
    pair = await harness.make_pair(org="École A")
    await harness.pump()
    smarthost.clear()
    message_id, addresses = await hold_one(harness, smarthost, pair)
    rcpt = addresses["approve"]
    if how == "decide":  # the notice's Reply-To: the moderator's first word decides
        [notice] = [parsed(m.data) for m in to(smarthost, MODERATOR)]
        rcpt = str(notice["Reply-To"])
    threads = render_threads(monkeypatch)
    code, _text = await answer(harness, MODERATOR, rcpt, "Oui, c'est correct.\n")
    assert code == 250
    assert threads and all(name.startswith("db-r") for name in threads), threads
    assert len(to(smarthost, pair.mentor_email)) == 1
    assert await state_of(harness, message_id) == "delivered"
