"""Moderation through the real gateway: holds, notices, first message, attachments, flags, escalation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gateway.clock import MovableClock
from gateway.scheduler import moderation_chores
from tests.e2e.harness import Harness
from tests.e2e.moderation_helpers import (
    MOD_EN,
    MOD_FR,
    OBFUSCATED_PHONE,
    PHONE,
    MakeGateway,
    add_moderator,
    add_org,
    approve,
    assert_participant_notice,
    mail,
    make_gateway_fixture,  # noqa: F401  (fixture make_gateway)
    messages,
    ready_pair,
    received_by,
    send,
    text_body,
)


@pytest.mark.parametrize("body", [f"Salut ! Mon numéro est {PHONE}, écris-moi.\n",
                                  f"Salut ! Mon numéro est {OBFUSCATED_PHONE}.\n"],
                         ids=["plain", "obfuscated"])
async def test_phone_number_is_held_and_nothing_reaches_the_partner(
        make_gateway: MakeGateway, smarthost: Any, body: str) -> None:
    h = await make_gateway(first_message=False)
    await add_moderator(h, MOD_FR, "Modératrice", lang="fr")
    pair = await ready_pair(h, smarthost, mentee_lang="fr")

    await send(h, pair, body)

    [stored] = await messages(h)
    assert stored.state == "held" and "contact_details" in stored.rules
    assert received_by(smarthost, pair.mentor_email) == []
    [notice] = received_by(smarthost, pair.mentee_email)
    assert "en cours de vérification" in str(notice["Subject"])
    assert_participant_notice(notice, forbidden=(PHONE, "cinq un quatre"))
    [alert] = received_by(smarthost, MOD_FR)
    assert f"#{stored.id}" in text_body(alert.as_bytes())
    assert len(smarthost.messages) == 2


@pytest.mark.parametrize(("body", "rules"), [
    ("écris-moi à lea point perso arobase gmail point com", ["contact_details"]),
    ("my snapchat is lea_2009", ["contact_details", "safety_contact"]),
    ("J'habite au 1234 rue Sherbrooke Est, app. 5", ["contact_details", "safety_contact"]),
    ("Ne le dis pas à tes parents, d'accord ?", ["safety_secrecy"]),
    ("You could come over to my place on Saturday", ["safety_meeting"]),
    ("C'est de la merde, ce cours.", ["profanity"]),
], ids=["email-obfuscated", "handle", "street", "secret-fr", "meet-en", "profanity-fr"])
async def test_each_shipped_hold_rule_holds_through_the_gateway(make_gateway: MakeGateway,
                                                                smarthost: Any, body: str,
                                                                rules: list[str]) -> None:
    h = await make_gateway(first_message=False)
    pair = await ready_pair(h, smarthost)
    await send(h, pair, body + "\n")
    [stored] = await messages(h)
    assert (stored.state, sorted(stored.rules)) == ("held", rules)
    assert received_by(smarthost, pair.mentor_email) == []


async def test_a_social_link_in_an_html_href_is_held(make_gateway: MakeGateway, smarthost: Any) -> None:
    h = await make_gateway(first_message=False)
    pair = await ready_pair(h, smarthost)
    html = '<p>Regarde <a href="https://www.instagram.com/lea.2009/">mon profil</a></p>'
    data = mail(pair.mentee_email, pair.mentor_alias, "Regarde mon profil\n", html=html)
    assert (await h.send(pair.mentee_email, [pair.mentor_alias], data)).code == 250
    await h.pump()
    [stored] = await messages(h)
    assert (stored.state, stored.rules) == ("held", ["social_links"])
    assert received_by(smarthost, pair.mentor_email) == []


async def test_with_notices_off_a_hold_sends_nothing_at_all(make_gateway: MakeGateway,
                                                            smarthost: Any) -> None:
    h = await make_gateway(first_message=False, moderation={"notify_sender_on_hold": False,
                                                             "moderator_notices": "none"})
    await add_moderator(h, MOD_FR, "Modératrice")
    pair = await ready_pair(h, smarthost)
    await send(h, pair, f"Appelle-moi au {PHONE}\n")
    assert [m.state for m in await messages(h)] == ["held"]
    assert smarthost.messages == []


async def test_sender_gets_one_review_notice_a_day_in_their_language(
        make_gateway: MakeGateway, smarthost: Any, clock: MovableClock) -> None:
    h = await make_gateway(first_message=False)
    pair = await ready_pair(h, smarthost, mentee_lang="en")

    await send(h, pair, f"Call me at {PHONE}\n")
    clock.advance(timedelta(hours=2))
    await send(h, pair, "Or text me: five one four five five five one two three four\n")
    notices = received_by(smarthost, pair.mentee_email)
    assert [str(n["Subject"]) for n in notices] == [
        "Your message to Marie-Ève is being reviewed"]
    assert_participant_notice(notices[0], forbidden=(PHONE,))

    clock.advance(timedelta(days=1))
    await send(h, pair, f"Still waiting, {PHONE}\n")
    assert len(received_by(smarthost, pair.mentee_email)) == 2
    assert [m.state for m in await messages(h)] == ["held", "held", "held"]


async def test_the_notice_day_is_the_senders_day_not_utcs(
        make_gateway: MakeGateway, smarthost: Any, clock: MovableClock) -> None:
    """In Montréal, 18:30 and 19:30 are the same evening, although UTC's date changes between."""
    h = await make_gateway(first_message=False)
    pair = await ready_pair(h, smarthost, mentee_lang="en")
    clock.set(datetime(2026, 1, 5, 23, 30, tzinfo=UTC))  # 18:30 in Montréal (the default zone)
    await send(h, pair, f"Call me at {PHONE}\n")
    clock.advance(timedelta(hours=1))  # 00:30 UTC on the 6th, 19:30 on the 5th in Montréal
    await send(h, pair, f"Please call me: {PHONE}\n")
    assert len(received_by(smarthost, pair.mentee_email)) == 1

    clock.set(datetime(2026, 1, 6, 14, 0, tzinfo=UTC))  # 09:00 the next morning in Montréal
    await send(h, pair, f"Good morning, {PHONE}\n")
    assert len(received_by(smarthost, pair.mentee_email)) == 2


async def test_every_moderator_gets_a_notice_for_each_hold(make_gateway: MakeGateway,
                                                           smarthost: Any) -> None:
    h = await make_gateway(first_message=False)
    await add_moderator(h, MOD_FR, "Modératrice", lang="fr")
    await add_moderator(h, MOD_EN, "Moderator", lang="en")
    pair = await ready_pair(h, smarthost)
    await send(h, pair, f"Mon numéro : {PHONE}\n")
    await send(h, pair, f"Je répète : {PHONE}\n")
    ids = [m.id for m in await messages(h)]
    fr, en = received_by(smarthost, MOD_FR), received_by(smarthost, MOD_EN)
    assert [str(a["Subject"]).split(" (")[0] for a in fr] == [f"[Modération] Message #{i} à vérifier"
                                                            for i in ids]
    assert [str(a["Subject"]).split(" (")[0] for a in en] == [f"[Moderation] Message #{i} to review"
                                                            for i in ids]
    assert PHONE in text_body(en[0].as_bytes())  # moderators do see the evidence


async def test_a_phone_number_only_in_the_html_copy_is_held(make_gateway: MakeGateway,
                                                            smarthost: Any) -> None:
    """The recipient's client shows the HTML: a harmless text part must not smuggle it through."""
    h = await make_gateway(first_message=False)
    pair = await ready_pair(h, smarthost)
    html = f"<p>Bonjour ! Appelle-moi au <b>{PHONE}</b> ou écris à lea.perso@gmail.com</p>"
    data = mail(pair.mentee_email, pair.mentor_alias, "Bonjour !\n", html=html)
    assert (await h.send(pair.mentee_email, [pair.mentor_alias], data)).code == 250
    await h.pump()
    [stored] = await messages(h)
    assert stored.state == "held"
    assert {PHONE, "lea.perso@gmail.com"} <= set(stored.evidence)
    assert received_by(smarthost, pair.mentor_email) == []


async def test_first_message_is_held_then_clean_mail_flows_straight_through(
        moderated_gateway: Harness, smarthost: Any) -> None:
    h = moderated_gateway
    pair = await ready_pair(h, smarthost)
    await send(h, pair, "Bonjour Marie-Ève, merci d'être ma mentore !\n")
    [first] = await messages(h)
    assert first.state == "held" and first.rules == ["first_message"]
    assert received_by(smarthost, pair.mentor_email) == []

    await approve(h, first.id)
    await h.pump()
    assert len(received_by(smarthost, pair.mentor_email)) == 1
    smarthost.clear()

    await send(h, pair, "Bonjour Léa, avec plaisir ! On commence lundi ?\n", from_mentee=False)
    assert [m.state for m in await messages(h)] == ["delivered", "delivered"]
    [delivered] = received_by(smarthost, pair.mentee_email)
    assert "On commence lundi" in text_body(delivered.as_bytes())
    assert len(smarthost.messages) == 1  # no notice for a message nobody had to review


async def test_clean_first_message_flows_straight_through_with_the_switch_off(
        make_gateway: MakeGateway, smarthost: Any) -> None:
    h = await make_gateway(first_message=False)
    pair = await ready_pair(h, smarthost)
    await send(h, pair, "Bonjour, as-tu trouvé ton stage pour 2024-2025 ? Rendez-vous le 12/03 à 14 h 30.\n",
               from_mentee=False)
    [stored] = await messages(h)
    assert (stored.state, stored.verdict) == ("delivered", "pass")
    [delivered] = received_by(smarthost, pair.mentee_email)
    assert "as-tu trouvé ton stage" in text_body(delivered.as_bytes())
    assert len(smarthost.messages) == 1


@pytest.mark.parametrize(("lang", "reason_words"), [("fr", "Les programmes et les scripts"),
                                                    ("en", "Programs and scripts")])
async def test_executable_attachment_is_rejected_with_the_reason_in_the_sender_language(
        moderated_gateway: Harness, smarthost: Any, lang: str, reason_words: str) -> None:
    h = moderated_gateway
    pair = await ready_pair(h, smarthost, mentee_lang=lang)
    await send(h, pair, "Regarde ce jeu !\n",
               attachment=("jeu.exe", "application/octet-stream", b"MZ\x90\x00" + b"\x00" * 200))
    [stored] = await messages(h)
    assert stored.state == "rejected" and "executables" in stored.rules
    assert received_by(smarthost, pair.mentor_email) == []
    [notice] = received_by(smarthost, pair.mentee_email)
    body = assert_participant_notice(notice, forbidden=("jeu.exe",))
    assert reason_words in body
    # The first-message hold is not a reason the sender needs to read about.
    assert "premier message" not in body.lower() and "first message" not in body.lower()


FLAG_RULE = """description = "Talk of part-time jobs (sampled by moderators)"
action = "flag"
reason_fr = "Emploi"
reason_en = "Job"

[match]
kind = "words"
words = ["petit boulot", "part-time job"]
"""


async def test_flag_rule_delivers_and_records_the_hit(make_gateway: MakeGateway, smarthost: Any) -> None:
    h = await make_gateway(first_message=False, extra={"jobs.toml": FLAG_RULE})
    await add_moderator(h, MOD_FR, "Modératrice")
    pair = await ready_pair(h, smarthost)
    await send(h, pair, "J'ai trouvé un PETIT BOULOT au dépanneur !\n")
    [stored] = await messages(h)
    assert (stored.state, stored.verdict, stored.rules) == ("delivered", "flag", ["jobs"])
    assert stored.evidence == ["PETIT BOULOT"]
    [delivered] = received_by(smarthost, pair.mentor_email)
    assert "PETIT BOULOT au dépanneur" in text_body(delivered.as_bytes())
    assert len(smarthost.messages) == 1  # no hold notice, no moderator alert


async def test_overdue_hold_is_escalated_to_all_moderators_once(
        make_gateway: MakeGateway, smarthost: Any, clock: MovableClock) -> None:
    h = await make_gateway(first_message=False, moderation={"review_within": "24h"})
    await add_org(h, "Org A")
    await add_org(h, "Org B")
    await add_moderator(h, MOD_FR, "Modératrice A", org="Org A")
    await add_moderator(h, MOD_EN, "Moderator B", lang="en", org="Org B")
    pair = await ready_pair(h, smarthost, org="Org A")
    await send(h, pair, f"Mon numéro : {PHONE}\n")
    await send(h, pair, "Salut, tu as eu mon message ?\n")  # clean: delivered, never escalated
    [stored, _] = await messages(h)
    assert received_by(smarthost, MOD_EN) == []  # Org B's moderator is not told of Org A's holds
    smarthost.clear()

    clock.advance(timedelta(hours=23, minutes=59))
    await moderation_chores(h.app)
    await h.pump()
    assert smarthost.messages == []

    clock.advance(timedelta(minutes=2))
    await moderation_chores(h.app)
    await h.pump()
    escalated = {a: received_by(smarthost, a) for a in (MOD_FR, MOD_EN)}
    assert {a: len(v) for a, v in escalated.items()} == {MOD_FR: 1, MOD_EN: 1}
    assert f"#{stored.id}" in str(escalated[MOD_EN][0]["Subject"])

    clock.advance(timedelta(hours=6))
    await moderation_chores(h.app)
    await h.pump()
    assert len(smarthost.messages) == 2


async def test_digest_mode_sends_one_summary_per_period_instead_of_a_notice_per_hold(
        make_gateway: MakeGateway, smarthost: Any, clock: MovableClock) -> None:
    h = await make_gateway(first_message=False, moderation={"moderator_notices": "digest",
                                                             "digest_every": "1h"})
    await add_moderator(h, MOD_EN, "Moderator", lang="en")
    pair = await ready_pair(h, smarthost)
    await send(h, pair, f"Mon numéro : {PHONE}\n")
    await send(h, pair, f"Encore : {PHONE}\n")
    assert received_by(smarthost, MOD_EN) == []  # no notice per hold

    await moderation_chores(h.app)
    await h.pump()
    clock.advance(timedelta(minutes=10))
    await moderation_chores(h.app)  # same period: rate-limited
    await h.pump()
    [digest] = received_by(smarthost, MOD_EN)
    assert str(digest["Subject"]) == "[Moderation] 2 message(s) waiting"

    clock.advance(timedelta(hours=1))
    await moderation_chores(h.app)
    await h.pump()
    assert len(received_by(smarthost, MOD_EN)) == 2  # still waiting: the next period's summary


async def test_a_burst_of_holds_stops_at_the_hourly_limit_and_the_rest_come_as_a_digest(
        make_gateway: MakeGateway, smarthost: Any, clock: MovableClock) -> None:
    h = await make_gateway(first_message=False, moderation={"max_notices_per_hour": 2})
    await add_moderator(h, MOD_EN, "Moderator", lang="en")
    pair = await ready_pair(h, smarthost)
    for n in range(5):
        await send(h, pair, f"Numéro {n} : {PHONE}\n")
    assert len(received_by(smarthost, MOD_EN)) == 2  # then the limit holds back the other three

    await moderation_chores(h.app)
    await h.pump()
    notices = received_by(smarthost, MOD_EN)
    assert len(notices) == 3
    assert str(notices[-1]["Subject"]) == "[Moderation] 5 message(s) waiting"
    await moderation_chores(h.app)  # one digest per period, however often the chore runs
    await h.pump()
    assert len(received_by(smarthost, MOD_EN)) == 3

    clock.advance(timedelta(hours=1, minutes=1))  # the hour's count has fallen again
    await send(h, pair, f"Plus tard : {PHONE}\n")
    assert len(received_by(smarthost, MOD_EN)) == 4
    assert "[Moderation] 6" not in str(received_by(smarthost, MOD_EN)[-1]["Subject"])


async def test_an_ordinary_reply_quoting_the_thread_flows_straight_through(
        moderated_gateway: Harness, smarthost: Any) -> None:
    """False-positive guard with the shipped rules: aliases, dates, times, prices in a real reply."""
    h = moderated_gateway
    pair = await ready_pair(h, smarthost)
    await send(h, pair, "Bonjour Léa, on se parle de ton stage ?\n", from_mentee=False)
    [first] = await messages(h)
    await approve(h, first.id)
    await h.pump()
    [forwarded] = received_by(smarthost, pair.mentee_email)
    smarthost.clear()

    quoted = "\n".join("> " + line for line in text_body(forwarded.as_bytes()).splitlines())
    body = (f"Oui ! Mon stage est du 2025-01-12 au 2025-03-20, de 8 h 30 à 16 h, payé 15,75 $/h "
            f"(année 2024-2025, local H2X 1Y4, version 3.11.7).\n\n"
            f"Le lun. 5 janv. 2026 à 15:00, {forwarded['From']} a écrit :\n{quoted}\n")
    await send(h, pair, body, subject=f"Re: {forwarded['Subject']}")
    assert [m.state for m in await messages(h)] == ["delivered", "delivered"]
    [reply] = received_by(smarthost, pair.mentor_email)
    assert "payé 15,75 $/h" in text_body(reply.as_bytes())


async def test_an_attachment_over_10_mb_is_refused_with_a_friendly_reason(
        moderated_gateway: Harness, smarthost: Any) -> None:
    h = moderated_gateway
    pair = await ready_pair(h, smarthost, mentee_lang="en")
    video = bytes(range(256)) * (10 * 1024 * 1024 // 256 + 2048)  # 10.5 MB, under the SMTP limit
    await send(h, pair, "My science fair video!\n", attachment=("expo.mp4", "video/mp4", video))
    [stored] = await messages(h)
    assert stored.state == "rejected" and "large_attachment" in stored.rules
    assert received_by(smarthost, pair.mentor_email) == []
    [notice] = received_by(smarthost, pair.mentee_email)
    body = assert_participant_notice(notice, forbidden=("expo.mp4", "10485760"))
    assert "larger than 10 MB" in body


async def test_held_messages_carry_their_severity_and_list_most_severe_first(
        make_gateway: MakeGateway, smarthost: Any) -> None:
    from gateway.review.held import list_held

    h = await make_gateway(first_message=False)
    pair = await ready_pair(h, smarthost)
    for body in ("C'est de la merde, ce cours.\n",             # profanity: low
                 "Ne le dis pas à tes parents, d'accord ?\n",  # secrecy: high
                 "Mon snap c'est lea_2009\n"):                 # contact: medium
        await send(h, pair, body)
    oldest_first = await h.db.read(lambda s: list_held(s))
    assert [i.severity for i in oldest_first] == ["low", "high", "medium"]
    by_severity = await h.db.read(lambda s: list_held(s, by_severity=True))
    assert [i.severity for i in by_severity] == ["high", "medium", "low"]
    assert [i.reasons for i in by_severity][0] == ["safety_secrecy"]
    assert by_severity[0].to_json()["severity"] == "high"
    assert {h["severity"] for h in by_severity[0].hits} == {"high"}

