"""The report channel end to end over real SMTP: SIGNALER/REPORT, forwarding to the report address,
mail to the program address, staff alerts, and decisions from the page, by e-mail and the CLI.

Runs on SQLite and PostgreSQL. Every check reads what the recording smarthost received, i.e. what
the participants' and staff's mail clients would show.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import select

from gateway.cli import main as cli_main
from gateway.clock import MovableClock
from gateway.program.service import ProgramError, add_organization, add_participant, create_pair
from gateway.program.staff import add_staff
from gateway.review.held import QueueError, approve
from gateway.review.reports import decide, list_reports
from gateway.store.models import AuditEvent, Message, Pair, Participant, Report
from gateway.web.server import start_web
from tests.conftest import make_settings
from tests.e2e.harness import Harness, PairInfo, simple_message, write_rules
from tests.e2e.test_cli_moderation import write_config
from tests.e2e.test_web_http import PASSWORD, csrf_of, login

pytestmark = pytest.mark.e2e
MOD = "mod@program.example.org"
COORD = "coord-a@program.example.org"
COORD_B = "coord-b@program.example.org"
DECIDE = re.compile(r"decide\+[0-9a-z-]+@mentor\.test", re.IGNORECASE)


@pytest.fixture
async def harness(db_url: str, tmp_path: Path, clock: MovableClock,
                  smarthost: Any) -> AsyncIterator[Harness]:
    rules = write_rules(tmp_path / "rules", {})
    running = Harness(make_settings(db_url, tmp_path, rules_dir=rules,
                                    safety={"report_footer": True}), clock, smarthost.port)
    await running.start()
    now = clock.now()

    def staff(session: Any) -> None:
        add_organization(session, "École A", now=now)
        add_organization(session, "École B", now=now)
        add_staff(session, email=MOD, name="Modératrice", role="moderator", now=now,
                  password=PASSWORD)
        add_staff(session, email=COORD, name="Coord A", role="coordinator", org="École A",
                  now=now, lang="en", password=PASSWORD)
        add_staff(session, email=COORD_B, name="Coord B", role="coordinator", org="École B",
                  now=now)

    await running.db.write(staff)
    try:
        yield running
    finally:
        await running.stop()


def parsed(data: bytes) -> EmailMessage:
    msg = message_from_bytes(data, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def plain(data: bytes) -> str:
    part = parsed(data).get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def to(smarthost: Any, address: str) -> list[Any]:
    return [m for m in smarthost.messages if [r.lower() for r in m.rcpt_tos] == [address.lower()]]


def subjects(smarthost: Any, address: str) -> list[str]:
    return [str(parsed(m.data)["Subject"]) for m in to(smarthost, address)]


async def pair_state(harness: Harness, pair_id: int) -> str:
    return str(await harness.db.read(lambda s: s.get(Pair, pair_id).state))


async def converse(harness: Harness, smarthost: Any, pair: PairInfo, body: str) -> bytes:
    """The mentor writes to the mentee; returns the copy the mentee received."""
    outcome = await harness.send(pair.mentor_email, [pair.mentee_alias],
                                 simple_message(pair.mentor_email, pair.mentee_alias, "Ton stage", body))
    assert outcome.code == 250
    await harness.pump()
    return to(smarthost, pair.mentee_email)[-1].data


async def test_keyword_report_pauses_the_pair_and_never_reaches_the_partner(
        harness: Harness, smarthost: Any) -> None:
    pair = await harness.make_pair(org="École A")
    received = await converse(harness, smarthost, pair, "Tu es seule chez toi ce soir ?\n")
    before = len(to(smarthost, pair.mentor_email))
    reply = ("  « Signaler » je suis mal à l'aise avec ce message\n\n"
             "Le lun. 30 nov. 2026, Marie-Ève a écrit :\n> Tu es seule chez toi ce soir ?\n")
    sent = simple_message(pair.mentee_email, pair.mentor_alias, "Re: Ton stage", reply,
                          in_reply_to=str(parsed(received)["Message-ID"]))
    assert (await harness.send(pair.mentee_email, [pair.mentor_alias], sent)).code == 250
    await harness.pump()  # one processing cycle

    assert await pair_state(harness, pair.id) == "paused"
    to_mentor = to(smarthost, pair.mentor_email)[before:]
    assert [str(parsed(m.data)["Subject"]) for m in to_mentor] == ["Ton jumelage est en pause"]
    assert b"mal \xc3\xa0 l'aise" not in to_mentor[0].data and "signal" not in plain(to_mentor[0].data).lower()
    ack = plain(to(smarthost, pair.mentee_email)[-1].data)
    assert "1-800-668-6868" in ack and "en pause" in ack
    assert subjects(smarthost, MOD)[-1].startswith("[SIGNALEMENT] Jumelage")
    assert subjects(smarthost, COORD)[-1].startswith("[REPORT] Pair")  # English-speaking coordinator
    assert subjects(smarthost, COORD_B) == []  # another school's coordinator hears nothing
    assert not DECIDE.search(plain(to(smarthost, COORD)[-1].data))  # coordinators read, moderators decide

    # Nothing flows either way while paused: the mentor's next message waits, undelivered.
    count = len(to(smarthost, pair.mentee_email))
    later = simple_message(pair.mentor_email, pair.mentee_alias, "Allo?", "Tu es là ?\n")
    assert (await harness.send(pair.mentor_email, [pair.mentee_alias], later)).code == 250
    await harness.pump()
    assert len(to(smarthost, pair.mentee_email)) == count
    held_id = await harness.db.read(lambda s: s.exec(select(Message.id).where(
        Message.pair_id == pair.id, Message.state == "held")).one())
    with pytest.raises(QueueError, match="open report"):  # approving cannot go around the pause
        await harness.db.write(lambda s: approve(s, harness.settings, held_id, actor=MOD,
                                                 now=harness.clock.now()))

    reports = await harness.db.read(lambda s: list_reports(s))
    assert [(r.kind, r.source, r.pair_id) for r in reports] == [("report", "keyword", pair.id)]
    reported_id = await harness.db.read(lambda s: s.get(Report, reports[0].id).message_id)
    reported = await harness.db.read(lambda s: s.get(Message, reported_id))
    assert b"seule chez toi" in reported.raw  # the message the report answered
    states = await harness.db.read(lambda s: [m.state for m in s.exec(select(Message))])
    assert "reported" in states


async def test_english_keyword_any_case_and_what_is_not_a_report(harness: Harness, smarthost: Any) -> None:
    first, second, plain_pair = [await harness.make_pair(mentee_lang="en") for _ in range(3)]
    for pair, body in ((first, "REPORT: he asked for my photo\n"), (second, "report\nplease help\n"),
                       (plain_pair, "I wanted to report that I'll be late.\n\n> REPORT\n")):
        sent = simple_message(pair.mentee_email, pair.mentor_alias, "hi", body)
        assert (await harness.send(pair.mentee_email, [pair.mentor_alias], sent)).code == 250
    await harness.pump()
    for pair in (first, second):
        assert await pair_state(harness, pair.id) == "paused"
        assert subjects(smarthost, pair.mentee_email)[-1] == "We received your report"
        assert not any("photo" in plain(m.data) or "help" in plain(m.data)
                       for m in to(smarthost, pair.mentor_email))
    # A keyword later in the sentence or only in the quoted text is an ordinary message.
    assert await pair_state(harness, plain_pair.id) == "active"
    assert "be late" in plain(to(smarthost, plain_pair.mentor_email)[-1].data)
    blocked = await harness.db.read(lambda s: [p.blocked_at for p in s.exec(select(Participant)).all()])
    assert set(blocked) == {None}  # a report never blocks anyone by itself


def forward_as_attachment(sender: str, to_address: str, received: bytes, note: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to_address, "Fwd: Ton stage"
    msg["Message-ID"] = make_msgid(domain="client.example.com")
    msg.set_content(note)
    msg.add_attachment(parsed(received), filename="message.eml")
    return msg.as_bytes(policy=SMTP_POLICY)


async def test_forward_to_the_report_address_reports_that_message(harness: Harness, smarthost: Any) -> None:
    pair = await harness.make_pair(org="École A")
    other = await harness.make_pair(org="École A")  # the same mentor's name, another pair
    received = await converse(harness, smarthost, pair, "Ne dis rien à tes parents.\n")
    # A second message the provider defers: it waits in the outbox when the report comes in.
    smarthost.script("451 4.3.0 try later")
    deferred = simple_message(pair.mentor_email, pair.mentee_alias, "Et aussi", "Efface mes messages.\n")
    assert (await harness.send(pair.mentor_email, [pair.mentee_alias], deferred)).code == 250
    await harness.pump()
    forward = forward_as_attachment(pair.mentee_email, "signaler@mentor.test", received,
                                    "Ce message me fait peur.")
    assert (await harness.send(pair.mentee_email, ["signaler@mentor.test"], forward)).code == 250
    # Paused at once, before any processing: the report address answers after storing it.
    assert await pair_state(harness, pair.id) == "paused"
    assert await pair_state(harness, other.id) == "active"
    harness.clock.advance(timedelta(hours=2))  # well past the deferred forward's retry time
    await harness.pump()
    assert not any(b"Efface mes" in m.data for m in to(smarthost, pair.mentee_email))
    report = (await harness.db.read(lambda s: list_reports(s)))[0]
    detail_message = await harness.db.read(lambda s: s.get(Report, report.id).message_id)
    reported = await harness.db.read(lambda s: s.get(Message, detail_message))
    assert reported.pair_id == pair.id and b"Ne dis rien" in reported.raw
    assert subjects(smarthost, pair.mentee_email)[-1] == "Nous avons bien reçu ton signalement"
    assert subjects(smarthost, pair.mentor_email)[-1] == "Ton jumelage est en pause"
    assert not any(b"me fait peur" in m.data for m in to(smarthost, pair.mentor_email))
    assert subjects(smarthost, MOD)[-1].startswith("[SIGNALEMENT]")
    # Resumed: the held-back forward leaves now.
    await harness.db.write(lambda s: decide(s, harness.settings, report.id, "resume", actor=MOD,
                                            now=harness.clock.now()))
    await harness.pump()
    assert any(b"Efface mes" in m.data for m in to(smarthost, pair.mentee_email))

    # An inline forward without our ids: the alias named in the text finds the reporter's pair.
    inline = (f"---------- Forwarded message ---------\nFrom: Marie-Ève <{other.mentor_alias}>\n"
              "Subject: Ton stage\n\nviens me voir seule\n")
    sent = simple_message(other.mentee_email, "report@mentor.test", "Fwd: Ton stage", inline)
    assert (await harness.send(other.mentee_email, ["report@mentor.test"], sent)).code == 250
    assert await pair_state(harness, other.id) == "paused"


async def test_staff_decide_by_email_cli_and_page(harness: Harness, smarthost: Any, tmp_path: Path,
                                                 db_url: str) -> None:
    pairs = [await harness.make_pair(org="École A") for _ in range(3)]
    for pair in pairs:
        sent = simple_message(pair.mentee_email, pair.mentor_alias, "SIGNALER", "aide-moi\n")
        assert (await harness.send(pair.mentee_email, [pair.mentor_alias], sent)).code == 250
    await harness.pump()
    by_pair = {r.pair_id: r.id for r in await harness.db.read(lambda s: list_reports(s))}

    # 1. By e-mail: the moderator writes to the "block" address of the first pair's alert.
    alert = next(m for m in to(smarthost, MOD) if f"Jumelage {pairs[0].id} " in str(parsed(m.data)["Subject"]))
    resume, close, block = DECIDE.findall(plain(alert.data))
    reply = simple_message(MOD, block, "Re: signalement", "Mentor retiré du programme.\n")
    assert (await harness.send(COORD, [block], simple_message(COORD, block))).code == 550  # not a moderator
    assert (await harness.send(MOD, [block], reply)).code == 250
    assert (await harness.send(MOD, [resume], simple_message(MOD, resume))).code == 550  # decided already
    await harness.pump()
    assert await pair_state(harness, pairs[0].id) == "closed"
    assert subjects(smarthost, pairs[0].mentor_email)[-1] == "Ton jumelage a pris fin"
    now = harness.clock.now()

    def pair_again(session: Any) -> None:
        add_participant(session, email="autre.jeune@eleves.example.net", name="Autre", role="mentee",
                        now=now)
        create_pair(session, harness.settings, mentor=pairs[0].mentor_email,
                    mentee="autre.jeune@eleves.example.net", now=now)

    with pytest.raises(ProgramError, match="blocked"):
        await harness.db.write(pair_again)

    # 2. From the CLI: resume the second pair.
    config = write_config(tmp_path / "config.toml", db_url=db_url, rules_dir=tmp_path / "rules")
    code = await asyncio.to_thread(cli_main, ["-c", str(config), "reports", "resume",
                                              str(by_pair[pairs[1].id]), "--as", MOD])
    assert code == 0 and await pair_state(harness, pairs[1].id) == "active"
    assert await asyncio.to_thread(cli_main, ["-c", str(config), "reports", "resume",
                                              str(by_pair[pairs[1].id])]) == 2  # not open any more

    # 3. From the page: the report sits atop the queue; close the third pair.
    web = await start_web(harness.app, host="127.0.0.1", port=0)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{web.port}") as client:
            await login(client, COORD)
            queue = await client.get("/queue")
            assert f'href="/reports/{by_pair[pairs[2].id]}"' in queue.text
            refused = await client.post(f"/reports/{by_pair[pairs[2].id]}/close",
                                        data={"csrf": csrf_of(queue.text)})
            assert refused.status_code == 403 and await pair_state(harness, pairs[2].id) == "paused"
            await client.post("/logout", data={"csrf": csrf_of(queue.text)})
            await login(client, MOD)
            page = await client.get(f"/reports/{by_pair[pairs[2].id]}")
            assert "aide-moi" in page.text
            done = await client.post(f"/reports/{by_pair[pairs[2].id]}/close",
                                     data={"csrf": csrf_of(page.text), "note": "vu avec l'école"})
            assert done.status_code == 303
    finally:
        await web.stop()
    assert await pair_state(harness, pairs[2].id) == "closed"
    actions = await harness.db.read(lambda s: [e.action for e in s.exec(select(AuditEvent)).all()])
    assert {"report", "report_block", "report_resume", "report_close", "block"} <= set(actions)


async def test_program_address_mail_is_a_contact_item_with_one_acknowledgement(
        harness: Harness, smarthost: Any) -> None:
    pair = await harness.make_pair(org="École A")
    note = simple_message(pair.mentee_email, "program@mentor.test", "Question", "Je change d'école.\n")
    assert (await harness.send(pair.mentee_email, ["program@mentor.test"], note)).code == 250
    robot = simple_message("robot@example.net", "program@mentor.test", "Réponse automatique : absent",
                           "Je suis absent.\n")
    assert (await harness.send("robot@example.net", ["program@mentor.test"], robot)).code == 250
    assert (await harness.send("", ["program@mentor.test"],
                               simple_message("mailer-daemon@example.net", "program@mentor.test",
                                              "Undelivered", "failed\n"))).code == 250
    await harness.pump()
    items = await harness.db.read(lambda s: list_reports(s))
    assert [i.kind for i in items] == ["contact"] * 3
    assert await harness.db.read(lambda s: s.get(Report, items[0].id).raw) == note  # what staff read
    assert subjects(smarthost, pair.mentee_email)[-1] == "Nous avons bien reçu ton message"
    again = simple_message(pair.mentee_email, "program@mentor.test", "Re: Question", "Et aussi…\n")
    assert (await harness.send(pair.mentee_email, ["program@mentor.test"], again)).code == 250
    await harness.pump()
    assert subjects(smarthost, pair.mentee_email).count("Nous avons bien reçu ton message") == 1
    assert to(smarthost, "robot@example.net") == []  # never answer a robot: no mail loop
    assert subjects(smarthost, MOD)[-1].startswith("[Contact]")
    assert await pair_state(harness, pair.id) == "active"


async def test_footer_only_to_minors_and_only_when_configured(
        harness: Harness, smarthost: Any, db_url: str, tmp_path: Path, clock: MovableClock) -> None:
    pair = await harness.make_pair()
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = pair.mentor_email, pair.mentee_alias, "Bonjour"
    msg["Message-ID"] = make_msgid(domain="client.example.com")
    msg.set_content("Salut !\n")
    msg.add_alternative("<html><body><p>Salut !</p></body></html>", subtype="html")
    assert (await harness.send(pair.mentor_email, [pair.mentee_alias], msg.as_bytes(policy=SMTP_POLICY))).code == 250
    await harness.pump()
    got = parsed(to(smarthost, pair.mentee_email)[-1].data)
    text = str(got.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    html = str(got.get_body(("html",)).get_content())  # type: ignore[union-attr]
    assert "écris SIGNALER" in text and "write REPORT" in text and "signaler@mentor.test" in text
    assert "écris SIGNALER" in html and html.index("SIGNALER") < html.index("</body>")
    addresses = set(re.findall(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", text.split("-- \n")[-1]))
    assert addresses == {"signaler@mentor.test"}
    # The adult mentor's copy carries no footer.
    back = simple_message(pair.mentee_email, pair.mentor_alias, "Re: Bonjour", "Merci !\n")
    assert (await harness.send(pair.mentee_email, [pair.mentor_alias], back)).code == 250
    await harness.pump()
    assert "SIGNALER" not in plain(to(smarthost, pair.mentor_email)[-1].data)


async def test_no_footer_unless_configured(gateway: Harness, smarthost: Any) -> None:
    pair = await gateway.make_pair()
    sent = simple_message(pair.mentor_email, pair.mentee_alias, "Bonjour", "Salut !\n")
    assert (await gateway.send(pair.mentor_email, [pair.mentee_alias], sent)).code == 250
    await gateway.pump()
    assert "SIGNALER" not in plain(to(smarthost, pair.mentee_email)[-1].data)
