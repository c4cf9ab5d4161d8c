"""Quiet pairs get nudged: reminders through the real gateway, the outbox and the smarthost, on a moved clock."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from gateway.cli import main as cli_main
from gateway.clock import MovableClock
from gateway.program.service import add_organization, change_pair_state
from gateway.program.staff import add_staff
from gateway.scheduler import reminder_check
from gateway.store.models import AuditEvent, Outbox
from gateway.web.server import start_web
from tests.conftest import make_settings
from tests.e2e.harness import PHONE_RULE, Harness, PairInfo, simple_message, write_rules

DAY = timedelta(days=1)
PROGRAM = "program@mentor.test"


def parse(data: bytes) -> EmailMessage:
    return message_from_bytes(data, policy=policy.default)  # type: ignore[return-value]


async def check(gateway: Harness) -> None:
    """What the scheduler runs every check_every, then deliver everything that is due."""
    await reminder_check(gateway.app)
    await gateway.pump()


async def converse(gateway: Harness, pair: PairInfo, smarthost: Any, *, from_mentor: bool = True,
                   body: str = "Bonjour, as-tu trouvé ton stage ?\n") -> None:
    sender, alias = (pair.mentor_email, pair.mentee_alias) if from_mentor else (pair.mentee_email, pair.mentor_alias)
    before = len(smarthost.messages)
    outcome = await gateway.send(sender, [alias], simple_message(sender, alias, body=body))
    assert outcome.code == 250, outcome
    await gateway.pump()
    await smarthost.wait_for_async(before + 1, timeout=5)


async def first_reminder(gateway: Harness, pair: PairInfo, smarthost: Any) -> EmailMessage:
    """Introductions out, the mentor writes, three quiet days pass: the mentee's first reminder."""
    await gateway.pump()
    await converse(gateway, pair, smarthost)
    smarthost.clear()
    gateway.clock.advance(3 * DAY)
    await check(gateway)
    await smarthost.wait_for_async(1, timeout=5)
    return parse(smarthost.messages[0].data)


def to(smarthost: Any, address: str) -> list[EmailMessage]:
    return [parse(m.data) for m in smarthost.messages if address in m.rcpt_tos]


async def reminder_rows(gateway: Harness) -> list[Outbox]:
    return await gateway.db.read(lambda s: list(s.exec(select(Outbox).where(Outbox.kind == "reminder"))))


async def add_people(gateway: Harness, *, coordinator: bool) -> None:
    now = gateway.clock.now()

    def people(s: Any) -> None:
        add_organization(s, "École A", now=now)
        add_staff(s, email="mod@program.example.org", name="Modératrice", role="moderator", now=now)
        if coordinator:
            add_staff(s, email="coord-a@program.example.org", name="Coord A", role="coordinator",
                      org="École A", now=now, lang="en")

    await gateway.db.write(people)


@pytest.mark.parametrize("lang", ["fr", "en"])
async def test_silent_conversation_nudges_the_awaited_person_in_their_language(
        gateway: Harness, smarthost: Any, lang: str) -> None:
    pair = await gateway.make_pair(mentor_lang="fr", mentee_lang=lang)
    await gateway.pump()  # introductions
    await converse(gateway, pair, smarthost)
    smarthost.clear()

    gateway.clock.advance(3 * DAY - timedelta(minutes=1))
    await check(gateway)
    assert smarthost.messages == [], "nothing before three full days"
    gateway.clock.advance(timedelta(minutes=1))
    await check(gateway)
    await smarthost.wait_for_async(1, timeout=5)
    [recorded] = smarthost.messages
    assert recorded.rcpt_tos == (pair.mentee_email,)
    mail = parse(recorded.data)
    assert PROGRAM in mail["From"]
    assert mail["Reply-To"] == pair.mentor_alias
    assert mail["Auto-Submitted"] == "auto-generated"
    unsubscribe = str(mail["List-Unsubscribe"])
    assert re.search(r"<mailto:unsubscribe\+[^>@]+@mentor\.test>", unsubscribe)
    assert re.search(r"<https?://[^>]+/unsubscribe/[^>]+>", unsubscribe)
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    expected = "t'a écrit il y a 3 jours" if lang == "fr" else "wrote to you 3 days ago"
    # The partner is named by first name only ([privacy] name_shown = "first"): no surname.
    assert expected in text and "Marie-Ève" in text and "Tremblay" not in text
    assert "Marie-Ève" in str(mail["Subject"]) and "Tremblay" not in str(mail["Subject"])
    assert ("attend ta réponse" if lang == "fr" else "is waiting for your answer") in str(mail["Subject"])
    assert "<" in html and "Marie-" in html
    assert "mentor.1@example.com" not in recorded.data.decode(errors="replace").lower()

    await check(gateway)  # the next check, same step: exactly once
    assert len(smarthost.messages) == 1


async def test_replying_to_the_reminder_reaches_the_partner_and_stops_the_step(
        gateway: Harness, smarthost: Any) -> None:
    pair = await gateway.make_pair()
    reminder = await first_reminder(gateway, pair, smarthost)
    smarthost.clear()

    quoted = "".join(f"> {line}\n" for line in
                     reminder.get_body(("plain",)).get_content().splitlines())  # type: ignore[union-attr]
    assert "/unsubscribe/" in quoted  # the mentee's own link, as their client quotes it
    answer = simple_message(pair.mentee_email, str(reminder["Reply-To"]), subject=f"Re: {reminder['Subject']}",
                            body=f"Désolée du retard, oui j'ai trouvé !\n\n{quoted}")
    assert (await gateway.send(pair.mentee_email, [str(reminder["Reply-To"])], answer)).code == 250
    await gateway.pump()
    await smarthost.wait_for_async(1, timeout=5)
    [forwarded] = smarthost.messages
    assert forwarded.rcpt_tos == (pair.mentor_email,)
    forwarded_text = parse(forwarded.data).get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "oui j'ai trouvé" in forwarded_text
    # The mentor must not get a link that stops the mentee's reminders.
    assert "/unsubscribe/" not in forwarded_text and "[…]" in forwarded_text
    assert b"/unsubscribe/" not in forwarded.data
    smarthost.clear()

    # Day 7 after the mentor's message was the mentee's second reminder; the mentee answered, so the
    # clock restarted from the answer and now the mentor is the one who owes a reply.
    gateway.clock.advance(4 * DAY)
    await check(gateway)
    await smarthost.wait_for_async(1, timeout=5)
    assert to(smarthost, pair.mentee_email) == []
    [nudge] = to(smarthost, pair.mentor_email)
    assert nudge["Reply-To"] == pair.mentee_alias


@pytest.mark.parametrize("coordinator", [True, False], ids=["coordinator", "moderators"])
async def test_escalation_at_ten_days_tells_the_coordinator_or_the_moderators(
        gateway: Harness, smarthost: Any, coordinator: bool) -> None:
    await add_people(gateway, coordinator=coordinator)
    pair = await gateway.make_pair(org="École A")
    await gateway.pump()
    await converse(gateway, pair, smarthost)
    smarthost.clear()
    for days in (3, 4, 3):  # day 3 and day 7: the mentee; day 10: the coordinator
        gateway.clock.advance(days * DAY)
        await check(gateway)
    await smarthost.wait_for_async(3, timeout=5)
    assert [m.rcpt_tos for m in smarthost.messages[:2]] == [(pair.mentee_email,)] * 2
    staff = "coord-a@program.example.org" if coordinator else "mod@program.example.org"
    [escalation] = [m for m in smarthost.messages if m.rcpt_tos == (staff,)]
    mail = parse(escalation.data)
    subject = str(mail["Subject"])
    assert f"pair #{pair.id} has gone quiet" in subject if coordinator else f"n° {pair.id}" in subject
    assert len(smarthost.messages) == 3, "the escalation goes to the coordinator only, once"
    await check(gateway)
    assert len(smarthost.messages) == 3


async def test_an_escalation_with_nobody_to_tell_is_recorded_once_and_not_retried(
        gateway: Harness, smarthost: Any) -> None:
    pair = await gateway.make_pair()  # no organization, no staff at all
    await gateway.pump()
    await converse(gateway, pair, smarthost)
    smarthost.clear()
    for step in (3 * DAY, 4 * DAY, 3 * DAY, timedelta(minutes=15), DAY):
        gateway.clock.advance(step)
        await check(gateway)
    assert [m.rcpt_tos for m in smarthost.messages] == [(pair.mentee_email,)] * 2
    events = await gateway.db.read(lambda s: list(s.exec(
        select(AuditEvent).where(AuditEvent.action == "reminder_escalation_unsent"))))
    assert [(e.subject_type, e.subject_id) for e in events] == [("pair", pair.id)]
    rows = await reminder_rows(gateway)
    assert sorted(r.state for r in rows) == ["failed", "sent", "sent"]


async def test_nothing_goes_out_at_night_until_the_send_window_opens(gateway: Harness, smarthost: Any) -> None:
    gateway.clock.set(datetime(2026, 1, 5, 6, 0, tzinfo=UTC))  # Monday 01:00 in Toronto
    pair = await gateway.make_pair()
    await gateway.pump()
    await converse(gateway, pair, smarthost)
    smarthost.clear()
    gateway.clock.advance(3 * DAY)  # Thursday 01:00 in Toronto: due, but at night
    await check(gateway)
    gateway.clock.set(datetime(2026, 1, 8, 12, 59, tzinfo=UTC))  # 07:59 in Toronto
    await check(gateway)
    assert smarthost.messages == [] and await reminder_rows(gateway) == []
    gateway.clock.set(datetime(2026, 1, 8, 13, 0, tzinfo=UTC))  # 08:00 in Toronto
    await check(gateway)
    await smarthost.wait_for_async(1, timeout=5)
    assert [m.rcpt_tos for m in smarthost.messages] == [(pair.mentee_email,)]


async def test_a_paused_pair_gets_no_reminder(gateway: Harness, smarthost: Any) -> None:
    paused, active = await gateway.make_pair(), await gateway.make_pair()
    await gateway.pump()
    await converse(gateway, paused, smarthost)
    await converse(gateway, active, smarthost)
    now = gateway.clock.now()
    await gateway.db.write(lambda s: change_pair_state(s, paused.id, "pause", now=now))
    smarthost.clear()
    gateway.clock.advance(3 * DAY)
    await check(gateway)
    await smarthost.wait_for_async(1, timeout=5)
    assert [m.rcpt_tos for m in smarthost.messages] == [(active.mentee_email,)]


async def test_unsubscribing_by_mail_stops_reminders_but_not_the_conversation(
        gateway: Harness, smarthost: Any) -> None:
    await add_people(gateway, coordinator=True)
    pair = await gateway.make_pair(org="École A")
    header = str((await first_reminder(gateway, pair, smarthost))["List-Unsubscribe"])
    found = re.search(r"<mailto:([^>]+)>", header)
    assert found
    address = found.group(1)
    stop = simple_message(pair.mentee_email, address, subject="unsubscribe", body="\n")
    outcome = await gateway.send(pair.mentee_email, [address], stop)
    assert outcome.code == 250, outcome
    smarthost.clear()

    gateway.clock.advance(4 * DAY)  # day 7: the second reminder would be due
    await check(gateway)
    assert to(smarthost, pair.mentee_email) == []
    gateway.clock.advance(3 * DAY)  # day 10: the coordinator is still told
    await check(gateway)
    await smarthost.wait_for_async(1, timeout=5)
    assert [m.rcpt_tos for m in smarthost.messages] == [("coord-a@program.example.org",)]
    smarthost.clear()
    await converse(gateway, pair, smarthost, body="Tu es toujours là ?\n")  # mail still flows
    assert [m.rcpt_tos for m in smarthost.messages] == [(pair.mentee_email,)]
    events = await gateway.db.read(lambda s: list(s.exec(
        select(AuditEvent).where(AuditEvent.action == "unsubscribe_reminders"))))
    assert len(events) == 1


async def test_a_forged_unsubscribe_address_is_refused(gateway: Harness) -> None:
    outcome = await gateway.send("x@example.net", ["unsubscribe+forged.token@mentor.test"],
                                 simple_message("x@example.net", "unsubscribe+forged.token@mentor.test"))
    assert outcome.code == 550


@pytest.fixture
async def holding_gateway(db_url: str, tmp_path: Path, clock: MovableClock,
                          smarthost: Any) -> AsyncIterator[Harness]:
    """A gateway that holds messages with a phone number for a moderator."""
    rules = write_rules(tmp_path / "rules", {"phone.toml": PHONE_RULE})
    harness = Harness(make_settings(db_url, tmp_path, rules_dir=rules), clock, smarthost.port)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


async def test_held_messages_and_out_of_office_replies_do_not_reset_the_timer(
        holding_gateway: Harness, smarthost: Any) -> None:
    gateway = holding_gateway
    pair = await gateway.make_pair()
    await gateway.pump()
    await converse(gateway, pair, smarthost)
    smarthost.clear()

    gateway.clock.advance(DAY)
    held = simple_message(pair.mentee_email, pair.mentor_alias, body="Appelle-moi au 514-555-1234\n")
    assert (await gateway.send(pair.mentee_email, [pair.mentor_alias], held)).code == 250
    await gateway.pump()
    assert to(smarthost, pair.mentor_email) == [], "the message waits for a moderator"
    smarthost.clear()  # the mentee was told it is held

    gateway.clock.advance(DAY)
    away = simple_message(pair.mentee_email, pair.mentor_alias, subject="Réponse automatique : absente du bureau",
                          body="Je suis absente jusqu'au 15 janvier.\n")
    assert (await gateway.send(pair.mentee_email, [pair.mentor_alias], away)).code == 250
    await gateway.pump()
    await smarthost.wait_for_async(1, timeout=5)  # relayed to the mentor, but not counted
    smarthost.clear()

    gateway.clock.advance(DAY)  # three days after the mentor's (delivered) message
    await check(gateway)
    await smarthost.wait_for_async(1, timeout=5)
    [reminder] = smarthost.messages
    assert reminder.rcpt_tos == (pair.mentee_email,)
    assert "il y a 3 jours" in parse(reminder.data).get_body(("plain",)).get_content()  # type: ignore[union-attr]


def write_config(gateway: Harness, tmp_path: Path) -> Path:
    settings = gateway.settings
    path = tmp_path / "config.toml"
    path.write_text(
        f'[gateway]\ndomain = "mentor.test"\ntemplates_dir = "{settings.gateway.templates_dir}"\n'
        f'rules_dir = "{settings.gateway.rules_dir}"\n'
        f'[database]\nurl = "{settings.database.url}"\n', encoding="utf-8")
    return path


async def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = await asyncio.to_thread(cli_main, list(argv))
    return code, capsys.readouterr().out


async def test_cli_preview_and_run_at_a_given_time(gateway: Harness, smarthost: Any, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    pair = await gateway.make_pair()
    await gateway.pump()
    await converse(gateway, pair, smarthost)
    smarthost.clear()
    config = str(write_config(gateway, tmp_path))
    at = (gateway.clock.now() + 3 * DAY).isoformat()

    code, out = await cli(capsys, "-c", config, "reminders", "preview", "--at", at, "--json")
    assert code == 0
    items = json.loads(out)
    assert [(i["pair_id"], i["rule"], i["to_role"]) for i in items] == [(pair.id, "awaiting_reply", "mentee")]
    assert "mentee has not answered the mentor for 3 days" in items[0]["reason"]
    code, out = await cli(capsys, "-c", config, "reminders", "preview", "--at",
                          (gateway.clock.now() + DAY).isoformat(), "--json")
    assert json.loads(out) == []
    assert await reminder_rows(gateway) == [], "preview sends nothing"

    code, out = await cli(capsys, "-c", config, "reminders", "run", "--at", at)
    assert code == 0 and "1 reminder(s) queued" in out
    code, out = await cli(capsys, "-c", config, "reminders", "run", "--at", at)
    assert "0 reminder(s) queued" in out
    gateway.clock.advance(3 * DAY)
    await gateway.pump()
    await smarthost.wait_for_async(1, timeout=5)
    assert [m.rcpt_tos for m in smarthost.messages] == [(pair.mentee_email,)]
    rows = await reminder_rows(gateway)
    assert [r.state for r in rows] == ["sent"]
    assert await gateway.db.read(lambda s: len(list(s.exec(select(Outbox).where(
        col(Outbox.dedup_key).like("reminder:%")))))) == 1


@pytest.fixture
async def public_gateway(db_url: str, tmp_path: Path, clock: MovableClock, smarthost: Any,
                         empty_rules: Path) -> AsyncIterator[tuple[Harness, int]]:
    """A gateway whose web page is published at https://mentorat.example.org, serving on a local port."""
    settings = make_settings(db_url, tmp_path, rules_dir=empty_rules,
                             web={"public_url": "https://mentorat.example.org/"})
    harness = Harness(settings, clock, smarthost.port)
    await harness.start()
    web = await start_web(harness.app, host="127.0.0.1", port=0)
    try:
        yield harness, web.port
    finally:
        await web.stop()
        await harness.stop()


async def unsubscribe_events(gateway: Harness) -> int:
    return len(await gateway.db.read(lambda s: list(s.exec(
        select(AuditEvent).where(AuditEvent.action == "unsubscribe_reminders")))))


async def test_one_click_unsubscribe_link_stops_reminders(public_gateway: tuple[Harness, int],
                                                          smarthost: Any) -> None:
    gateway, web_port = public_gateway
    pair = await gateway.make_pair(mentee_lang="en")
    header = str((await first_reminder(gateway, pair, smarthost))["List-Unsubscribe"])
    found = re.search(r"<https://mentorat\.example\.org(/unsubscribe/[^>]+)>", header)
    assert found, header
    path = found.group(1)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{web_port}") as client:
        page = await client.get(path)  # a link scanner or a preview: nothing changes
        assert page.status_code == 200 and 'method="post"' in page.text
        assert await unsubscribe_events(gateway) == 0
        forged = await client.post(path[:-1] + ("0" if path[-1] != "0" else "1"), content=b"List-Unsubscribe=One-Click",
                                   headers={"content-type": "application/x-www-form-urlencoded"})
        assert forged.status_code == 404
        done = await client.post(path, content=b"List-Unsubscribe=One-Click",
                                 headers={"content-type": "application/x-www-form-urlencoded"})
        assert done.status_code == 200 and "Done" in done.text
    assert await unsubscribe_events(gateway) == 1
    smarthost.clear()
    gateway.clock.advance(4 * DAY)  # day 7: the second reminder would be due
    await check(gateway)
    assert to(smarthost, pair.mentee_email) == []
