"""Loops and floods over SMTP against the real gateway: rate limits counted in the database (held as
`flood`, one notice each), auto-replies that keep their markers and go through once a day,
max_recipients, and de-duplication on Message-ID *and* content. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import smtplib
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from gateway.clock import MovableClock
from gateway.program.staff import add_staff
from gateway.store.models import Message
from tests.conftest import make_settings
from tests.e2e.harness import PHONE_RULE, Harness, PairInfo, simple_message, write_rules
from tests.e2e.moderation_helpers import received_by
from tests.e2e.smarthost import Smarthost

pytestmark = pytest.mark.e2e
MODERATOR = "mod@program.example.org"


@pytest.fixture
async def limited(db_url: str, tmp_path: Path, clock: MovableClock,
                  smarthost: Smarthost) -> AsyncIterator[tuple[Harness, PairInfo]]:
    rules = write_rules(tmp_path / "rules", {"phone.toml": PHONE_RULE})
    settings = make_settings(db_url, tmp_path, rules_dir=rules,
                             limits={"per_participant_hour": 3, "per_pair_day": 5},
                             smtp={"host": "127.0.0.1", "port": 0, "max_recipients": 2})
    harness = Harness(settings, clock, smarthost.port)
    await harness.start()
    now = clock.now()
    await harness.db.write(lambda s: add_staff(s, email=MODERATOR, name="Mod", role="moderator",
                                               now=now, lang="en"))
    pair = await harness.make_pair()
    await harness.db.write(lambda s: _established(s, pair.id))
    await harness.pump()
    smarthost.clear()
    try:
        yield harness, pair
    finally:
        await harness.stop()


def _established(session: object, pair_id: int) -> None:
    from gateway.store.models import Pair

    pair = session.get(Pair, pair_id)  # type: ignore[attr-defined]
    pair.forwarded_count = 1  # past the first-message hold of the shipped rules
    session.add(pair)  # type: ignore[attr-defined]


async def states(harness: Harness) -> list[str]:
    rows = await harness.db.read(lambda s: s.exec(select(Message).order_by(Message.id)).all())
    return [m.state for m in rows]


async def test_past_the_limits_mail_is_held_as_flood_with_one_notice_each(
        limited: tuple[Harness, PairInfo], smarthost: Smarthost, clock: MovableClock) -> None:
    h, pair = limited
    for n in range(6):
        outcome = await h.send(pair.mentor_email, [pair.mentee_alias],
                               simple_message(pair.mentor_email, pair.mentee_alias, f"Message {n}"))
        assert outcome.code == 250, outcome  # nothing is refused, nothing lost
    await h.pump()
    assert len(received_by(smarthost, pair.mentee_email)) == 3
    assert await states(h) == ["delivered"] * 3 + ["held"] * 3
    held = await h.db.read(lambda s: s.exec(select(Message).where(Message.state == "held")).all())
    assert all('"flood"' in (m.hits_json or "") for m in held)
    [notice] = received_by(smarthost, pair.mentor_email)  # one, not three
    assert "vérification" in str(notice["Subject"])
    assert len(received_by(smarthost, MODERATOR)) == 1

    # An hour later the participant may write again; the pair's day limit (5) still counts.
    clock.advance(timedelta(hours=1, minutes=1))
    smarthost.clear()
    for who, alias in ((pair.mentee_email, pair.mentor_alias),) * 2:
        assert (await h.send(who, [alias], simple_message(who, alias, "Réponse"))).code == 250
    await h.pump()
    assert (await states(h))[6:] == ["held", "held"]  # 6 + 2 messages in the pair's day
    assert received_by(smarthost, pair.mentor_email) == []


def rcpt_codes(port: int, mail_from: str, rcpts: list[str]) -> list[int]:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo()
        client.mail(mail_from)
        return [client.rcpt(rcpt)[0] for rcpt in rcpts]


async def test_max_recipients_is_enforced(limited: tuple[Harness, PairInfo]) -> None:
    h, pair = limited
    codes = await asyncio.to_thread(rcpt_codes, h.port, pair.mentor_email,
                                    [pair.mentee_alias] * 2 + ["x@mentor.test"] * 3)
    assert codes == [250, 250, 452, 452, 452]


def auto_reply(sender: str, to: str, subject: str) -> bytes:
    data = simple_message(sender, to, subject, "Je suis absente jusqu'au 5 janvier.\n")
    return b"Auto-Submitted: auto-replied\r\nX-Autoreply: yes\r\n" + data


async def test_auto_replies_keep_their_markers_pass_once_a_day_and_get_no_notice(
        limited: tuple[Harness, PairInfo], smarthost: Smarthost, clock: MovableClock) -> None:
    h, pair = limited
    for n in range(2):
        outcome = await h.send(pair.mentor_email, [pair.mentee_alias],
                               auto_reply(pair.mentor_email, pair.mentee_alias, f"Absente {n}"))
        assert outcome.code == 250
    # An auto-reply that a rule holds: the responder is not answered with a notice.
    held = await h.send(pair.mentor_email, [pair.mentee_alias],
                        auto_reply(pair.mentor_email, pair.mentee_alias, "Urgence 514-555-1234"))
    assert held.code == 250
    await h.pump()
    [forwarded] = received_by(smarthost, pair.mentee_email)
    assert str(forwarded["Subject"]) == "Absente 0"
    assert forwarded["Auto-Submitted"] == "auto-replied" and forwarded["Precedence"] == "bulk"
    assert received_by(smarthost, pair.mentor_email) == []  # no notice to a responder
    assert await states(h) == ["delivered", "rejected", "held"]

    clock.advance(timedelta(hours=25))  # a new day: one more "I'm away" may go through
    outcome = await h.send(pair.mentor_email, [pair.mentee_alias],
                           auto_reply(pair.mentor_email, pair.mentee_alias, "Absente 2"))
    assert outcome.code == 250
    await h.pump()
    assert len(received_by(smarthost, pair.mentee_email)) == 2


async def test_same_message_id_with_other_content_is_a_new_message(
        limited: tuple[Harness, PairInfo], smarthost: Smarthost) -> None:
    h, pair = limited
    first = simple_message(pair.mentor_email, pair.mentee_alias, "Premier", message_id="<same@x>")
    second = simple_message(pair.mentor_email, pair.mentee_alias, "Second", message_id="<same@x>")
    for data in (first, second, first):  # the third is the first sent again: a duplicate
        assert (await h.send(pair.mentor_email, [pair.mentee_alias], data)).code == 250
    await h.pump()
    subjects = sorted(str(m["Subject"]) for m in received_by(smarthost, pair.mentee_email))
    assert subjects == ["Premier", "Second"]
