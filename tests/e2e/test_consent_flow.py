"""A minor's guardian consents by reply or by link over the real gateway; withdrawal pauses the pair.

Real SMTP both ways (the gateway's listener, the recording smarthost), the real web page over
HTTP; the clock is moved for the reminders.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.clock import MovableClock
from gateway.program import consent
from gateway.program.service import add_participant, create_pair
from gateway.store.models import Pair
from tests.e2e.harness import simple_message
from tests.e2e.test_web_http import HOLD_ALL_RULE, Site, running_site

pytestmark = pytest.mark.e2e
GUARDIAN = "parent.roy@famille.example.net"
MENTEE = "noah@eleves.example.net"
MENTOR = "marie@example.com"


@pytest.fixture
async def site(db_url: str, tmp_path: Path, clock: MovableClock, smarthost: Any) -> AsyncIterator[Site]:
    async with running_site(db_url, tmp_path, clock, smarthost.port, {"hold_all.toml": HOLD_ALL_RULE}) as s:
        yield s


def parsed(raw: bytes) -> EmailMessage:
    return message_from_bytes(raw, policy=policy.default)  # type: ignore[return-value]


def text_of(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return body.get_content()  # type: ignore[no-any-return]


async def enrol_and_pair(site: Site) -> int:
    h = site.harness
    now = h.clock.now()

    def enrol(s: Any) -> int:
        add_participant(s, email=MENTOR, name="Marie-Ève Tremblay", first_name="Marie-Ève",
                        last_name="Tremblay", role="mentor", org="École A", now=now, settings=h.settings,
                        bio="Ingénieure en structures, j'adore les ponts.", interests=["Génie civil"],
                        birth_year=1984)
        add_participant(s, email=MENTEE, name="Noah Roy", first_name="Noah", last_name="Roy",
                        role="mentee", org="École A", birth_date=date(2015, 9, 2), now=now,
                        school_level="6e année", interests=["Informatique; Santé"],
                        guardian_email=GUARDIAN, settings=h.settings)
        return create_pair(s, h.settings, mentor=MENTOR, mentee=MENTEE, now=now).id

    return await h.db.write(enrol)


async def pair_state(site: Site, pair_id: int) -> str:
    pair = await site.harness.db.read(lambda s: s.get(Pair, pair_id))
    return pair.state  # type: ignore[no-any-return]


async def the_consent_mail(site: Site, smarthost: Any) -> EmailMessage:
    await site.harness.pump()
    recorded = await smarthost.wait_for_async(1)
    assert len(recorded) == 1 and recorded[0].rcpt_tos == (GUARDIAN,), "no introduction before consent"
    smarthost.clear()
    return parsed(recorded[0].data)


async def test_consent_by_reply_activates_the_pair_and_withdrawal_pauses_it(site: Site, smarthost: Any) -> None:
    pair_id = await enrol_and_pair(site)
    assert await pair_state(site, pair_id) == "awaiting_consent"
    mail = await the_consent_mail(site, smarthost)
    body = text_of(mail)
    assert "Noah" in body and "Roy" not in body and "Loi 25" in body and "Law 25" in body
    reply_to = str(mail["Reply-To"])
    assert reply_to.startswith("consent+") and reply_to.endswith("@mentor.test")

    # Someone else cannot answer for the guardian, and a forged address is refused.
    h = site.harness
    intruder = await h.send(MENTEE, [reply_to], simple_message(MENTEE, reply_to, "Re", "OUI\n"))
    assert intruder.code == 550
    forged = "consent+1-99999999-0123456789abcdef01234567@mentor.test"
    assert (await h.send(GUARDIAN, [forged], simple_message(GUARDIAN, forged, "Re", "OUI\n"))).code == 550
    vague = await h.send(GUARDIAN, [reply_to], simple_message(GUARDIAN, reply_to, "Re", "Bonjour, c'est quoi ?\n"))
    assert vague.code == 250 and await pair_state(site, pair_id) == "awaiting_consent"

    answer = simple_message(GUARDIAN, reply_to, "Re: consentement",
                            "Oui\n\nLe lun. 5 janv. 2026, Academos Test a écrit :\n> Bonjour\n")
    assert (await h.send(GUARDIAN, [reply_to], answer)).code == 250
    assert await pair_state(site, pair_id) == "active"
    await h.pump()
    intros = {r.rcpt_tos[0]: text_of(parsed(r.data)) for r in await smarthost.wait_for_async(2)}
    to_mentee, to_mentor = intros[MENTEE], intros[MENTOR]
    assert "Marie-Ève" in to_mentee and "genie civil" in to_mentee and "les ponts" in to_mentee
    assert "6e année" in to_mentor and "informatique, sante" in to_mentor and "Noah" in to_mentor
    for text, surname in ((to_mentee, "Tremblay"), (to_mentor, "Roy")):
        assert surname not in text and "2015" not in text and "@example.com" not in text
        assert "@eleves.example.net" not in text and "École A" not in text
    assert "première question" in to_mentee

    def audit(s: Any) -> list[tuple[str, str, str | None]]:
        from sqlmodel import select

        from gateway.store.models import AuditEvent
        return [(e.action, e.actor, e.detail) for e in s.exec(select(AuditEvent).where(
            AuditEvent.action.in_(("consent_given", "consent_withdrawn")))).all()]  # type: ignore[attr-defined]

    assert await h.db.read(audit) == [("consent_given", GUARDIAN, f"guardian {GUARDIAN} by reply")]

    # The withdrawal link from the e-mail pauses the pair at once.
    withdraw_path = re.search(r"/consent/withdraw/[0-9a-f-]+", text_of(mail))
    assert withdraw_path
    async with httpx.AsyncClient(base_url=site.base) as client:
        asked = await client.get(withdraw_path.group(0))
        assert asked.status_code == 200 and await pair_state(site, pair_id) == "active"
        done = await client.post(withdraw_path.group(0))
        assert done.status_code == 200 and "retiré" in done.text
    assert await pair_state(site, pair_id) == "paused"
    assert [a for a, _, _ in await h.db.read(audit)] == ["consent_given", "consent_withdrawn"]


async def test_consent_by_link_is_single_use_and_reminders_reach_the_coordinator(
        site: Site, smarthost: Any) -> None:
    h = site.harness
    pair_id = await enrol_and_pair(site)
    mail = await the_consent_mail(site, smarthost)
    link = re.search(r"/consent/[0-9]+-[0-9]+-[0-9a-f]+", text_of(mail))
    assert link

    # Nobody answers: reminders after 3 and 7 days, then the school's coordinator hears of it.
    seen: list[tuple[str, ...]] = []
    start = h.clock.now()
    for days in (1, 3, 7, 10, 12):
        h.clock.advance(start + timedelta(days=days) - h.clock.now())
        await h.db.write(lambda s: consent.send_reminders(s, h.settings, h.clock.now()))
        await h.pump()
        seen.append(tuple(r.rcpt_tos[0] for r in smarthost.messages))
        smarthost.clear()
    assert seen == [(), (GUARDIAN,), (GUARDIAN,), ("coord-a@program.example.org",), ()]

    async with httpx.AsyncClient(base_url=site.base) as client:
        page = await client.get(link.group(0))
        assert page.status_code == 200 and "Noah" in page.text and "Roy" not in page.text
        assert await pair_state(site, pair_id) == "awaiting_consent"  # a GET changes nothing
        given = await client.post(link.group(0))
        assert given.status_code == 200 and "Merci" in given.text
        assert await pair_state(site, pair_id) == "active"
        again = await client.post(link.group(0))
        assert again.status_code == 410 and "déjà" in again.text
        forged = await client.post(link.group(0)[:-3] + "000")
        assert forged.status_code == 404
