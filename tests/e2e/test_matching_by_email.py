"""Choosing a mentor by email, end to end over real SMTP: ask, get three profiles, reply 1/2/3.

The mentee writes to choisir@ from an ordinary client; the offer reaches the recording smarthost
in their language with first names, fields and short bios (no address); the reply to its signed
address creates the pair (or waits for the coordinator). Unclear, reused, forged and strangers'
replies change nothing. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from gateway.clock import MovableClock
from gateway.matching import service as matching
from gateway.program import service as program
from gateway.store.models import MatchSuggestion, Pair
from tests.conftest import make_settings, skip_or_fail
from tests.e2e.harness import Harness, simple_message

pytestmark = pytest.mark.e2e
MENTEE = "lea.gagnon@eleves.example.net"
REPLY = re.compile(r"choisir\+[0-9a-z-]+@mentor\.test", re.IGNORECASE)
MENTORS = (  # email, name, language, interests, bio
    ("julie@example.com", "Julie Tremblay", "fr", ["Soins infirmiers"], "Infirmière à l'urgence."),
    ("marc@example.com", "Marc Roy", "fr", ["infirmier", "urgence"], "Infirmier auxiliaire."),
    ("ana@example.com", "Ana Silva", "fr", ["médecine", "soins infirmiers"], "Pédiatre."),
    ("bob@example.com", "Bob Smith", "en", ["nursing"], "ER nurse."),
    ("zoe@example.com", "Zoé Côté", "fr", ["plomberie"], "Plombière."),
)


def enrol(harness: Harness) -> Any:
    set_interests = getattr(program, "set_interests", None)
    now = harness.clock.now()

    def work(s: Any) -> None:
        for email, name, lang, interests, bio in MENTORS:
            person = program.add_participant(s, email=email, name=name, role="mentor",
                                             lang=lang, now=now)
            if set_interests is not None:
                person.bio = bio
                set_interests(s, person, interests)
        program.add_participant(s, email=MENTEE, name="Léa Gagnon", role="mentee", lang="fr",
                                now=now)

    return harness.db.write(work)


@pytest.fixture
async def choosing(db_url: str, tmp_path: Path, clock: MovableClock, smarthost: Any,
                   empty_rules: Path, request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    approval = getattr(request, "param", False)
    settings = make_settings(db_url, tmp_path, rules_dir=empty_rules,
                             matching={"require_approval": approval})
    harness = Harness(settings, clock, smarthost.port)
    await harness.start()
    try:
        await enrol(harness)
        yield harness
    finally:
        await harness.stop()


def needs_interests() -> None:
    if getattr(program, "set_interests", None) is None:
        skip_or_fail("participant interests (the enrolment profile, issue 13) are not in yet")


def to(smarthost: Any, address: str) -> list[EmailMessage]:
    out = []
    for m in smarthost.messages:
        if [r.lower() for r in m.rcpt_tos] == [address.lower()]:
            msg = message_from_bytes(m.data, policy=policy.default)
            assert isinstance(msg, EmailMessage)
            out.append(msg)
    return out


def text(msg: EmailMessage) -> str:
    part = msg.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


async def ask(harness: Harness, smarthost: Any, body: str,
              sender: str = MENTEE) -> EmailMessage:
    before = len(to(smarthost, sender))
    sent = await harness.send(sender, ["choisir@mentor.test"],
                              simple_message(sender, "choisir@mentor.test", "Mentor", body))
    assert sent.code == 250
    await harness.pump()
    received = to(smarthost, sender)
    assert len(received) == before + 1
    return received[-1]


async def reply(harness: Harness, address: str, body: str, sender: str = MENTEE) -> int:
    sent = await harness.send(sender, [address], simple_message(sender, address, "Re: Mentor", body))
    await harness.pump()
    return sent.code


async def test_a_mentee_chooses_a_mentor_by_email_and_the_pair_is_made(
        choosing: Harness, smarthost: Any) -> None:
    needs_interests()
    offer = await ask(choosing, smarthost, "Bonjour, j'aimerais devenir infirmière!")
    body = text(offer)
    # Three French-speaking mentors in nursing; not Bob (English), not Zoé (plumbing).
    assert "1. Julie — Soins infirmiers" in body and "Marc" in body and "Ana" in body
    assert "Bob" not in body and "Zoé" not in body
    assert "Infirmière à l'urgence." in body
    for secret in ("Tremblay", "@example.com", "Roy", "Silva"):  # no surname, no address
        assert secret not in str(offer)
    address = REPLY.search(str(offer["Reply-To"])).group(0)  # type: ignore[union-attr]
    vacation = simple_message(MENTEE, address, "Absence du bureau", "Je suis absente, 2 semaines.")
    vacation = vacation.replace(b"Subject:", b"Auto-Submitted: auto-replied\r\nSubject:", 1)
    count = len(to(smarthost, MENTEE))
    assert (await choosing.send(MENTEE, [address], vacation)).code == 250
    await choosing.pump()
    assert len(to(smarthost, MENTEE)) == count  # no answer to an automatic reply, no loop
    assert await reply(choosing, address, "euh je sais pas") == 250
    unclear = to(smarthost, MENTEE)[-1]
    assert "pas compris" in text(unclear)
    assert await reply(choosing, address, "2\n\nLe lun. 30 nov., Programme a écrit :\n> 1. Julie") == 250
    pairs = await choosing.db.read(lambda s: s.exec(select(Pair)).all())
    assert len(pairs) == 1 and pairs[0].state == "active"
    intro = to(smarthost, "marc@example.com")
    assert intro and "Léa" in text(intro[-1])  # the chosen mentor (number 2) is introduced
    # The reply address is single use: a second answer changes nothing.
    count = len(to(smarthost, MENTEE))
    assert await reply(choosing, address, "3") == 250
    assert "une fois" in text(to(smarthost, MENTEE)[count])
    assert len(await choosing.db.read(lambda s: s.exec(select(Pair)).all())) == 1


async def test_strangers_forged_and_expired_replies_change_nothing(
        choosing: Harness, smarthost: Any, clock: MovableClock) -> None:
    stranger = "someone@elsewhere.example"
    sent = await choosing.send(stranger, ["choisir@mentor.test"],
                               simple_message(stranger, "choisir@mentor.test", "x", "infirmière"))
    assert sent.code == 550 and not to(smarthost, stranger)
    needs_interests()
    offer = await ask(choosing, smarthost, "soins infirmiers")
    address = REPLY.search(str(offer["Reply-To"])).group(0)  # type: ignore[union-attr]
    # A mentor (a participant, not the offer's mentee) tries the mentee's reply address.
    assert await reply(choosing, address, "1", sender="julie@example.com") == 550
    local, domain = address.split("@")
    forged = f"{local[:-3]}{'000' if not local.endswith('000') else '111'}@{domain}"
    assert await reply(choosing, forged, "1") == 250
    assert "pas valide" in text(to(smarthost, MENTEE)[-1])
    clock.advance(timedelta(days=8))
    assert await reply(choosing, address, "1") == 250
    assert "expiré" in text(to(smarthost, MENTEE)[-1])
    assert await choosing.db.read(lambda s: s.exec(select(Pair)).all()) == []


async def test_nothing_understood_or_nobody_free_is_explained(choosing: Harness,
                                                               smarthost: Any) -> None:
    answer = await ask(choosing, smarthost, "xylophone quantique")
    assert "xylophone quantique" in text(answer) and "choisir@mentor.test" in text(answer)
    # Léa wants plumbing but the only plumber is taken; "astrologie" is reported as not understood.
    now = choosing.clock.now()
    await choosing.db.write(lambda s: (
        program.add_participant(s, email="other@eleves.example.net", name="Other", role="mentee",
                                lang="fr", now=now),
        program.create_pair(s, choosing.settings, mentor="zoe@example.com",
                            mentee="other@eleves.example.net", now=now)))
    answer = await ask(choosing, smarthost, "plomberie, astrologie")
    assert "Aucun mentor" in text(answer) and "astrologie" in text(answer)
    assert "Zoé" not in text(answer)


@pytest.mark.parametrize("choosing", [True], indirect=True)
async def test_with_require_approval_the_choice_waits_for_the_coordinator(
        choosing: Harness, smarthost: Any) -> None:
    needs_interests()
    offer = await ask(choosing, smarthost, "infirmière")
    address = REPLY.search(str(offer["Reply-To"])).group(0)  # type: ignore[union-attr]
    assert await reply(choosing, address, "1") == 250
    assert "Julie" in text(to(smarthost, MENTEE)[-1])  # "you chose Julie; it will be confirmed"
    rows = await choosing.db.read(lambda s: s.exec(select(MatchSuggestion)).all())
    assert [(r.source, r.state) for r in rows] == [("email", "proposed")]
    assert await choosing.db.read(lambda s: s.exec(select(Pair)).all()) == []
    # The waiting choice holds Julie's only place, and Léa is not suggested anyone else.
    now, settings = choosing.clock.now(), choosing.settings
    again = await choosing.db.write(lambda s: matching.suggest(s, settings, now=now))
    assert again == []
    [(_id, view, error)] = await choosing.db.write(
        lambda s: matching.accept(s, settings, [rows[0].id], now=now, actor="coord"))
    assert error is None and view is not None and view.mentor == "julie@example.com"
