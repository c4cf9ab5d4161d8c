"""Missions and badges end to end with a moved clock: the mission reaches both people through the
outbox with the partner's alias to answer, their replies go through the aliases, the pair earns
badges once, and the mentee is congratulated in their language."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest

from gateway.clock import MovableClock
from gateway.missions.catalog import MissionError, parse_mission
from gateway.missions.service import award_badges, badges_by_organization, send_due_missions
from gateway.program.service import add_organization
from tests.e2e.harness import Harness, PairInfo, simple_message

pytestmark = pytest.mark.e2e


def mails_since(smarthost: Any, before: int) -> list[Any]:
    return [message_from_bytes(m.data, policy=policy.default) for m in smarthost.messages[before:]]


async def write(gateway: Harness, sender: str, alias: str, body: str) -> None:
    outcome = await gateway.send(sender, [alias], simple_message(sender, alias, body=body))
    assert outcome.code == 250
    await gateway.pump()


async def chores(gateway: Harness) -> tuple[int, int]:
    now = gateway.clock.now()
    sent = await gateway.db.write(lambda s: send_due_missions(s, gateway.settings, now))
    awarded = await gateway.db.write(lambda s: award_badges(s, gateway.settings, now))
    await gateway.pump()
    return sent, awarded


async def test_mission_badges_and_congratulations(gateway: Harness, clock: MovableClock,
                                                  smarthost: Any) -> None:
    await gateway.db.write(lambda s: add_organization(s, "École A", now=clock.now()))
    pair: PairInfo = await gateway.make_pair(org="École A", mentee_lang="en")
    await gateway.pump()  # introductions
    clock.advance(timedelta(days=6))
    assert await chores(gateway) == (0, 0), "not before its day"

    clock.advance(timedelta(days=1, hours=1))
    before = len(smarthost.messages)
    assert await chores(gateway) == (1, 0)
    assert await chores(gateway) == (0, 0), "once"
    mails = {m["To"].addresses[0].addr_spec: m for m in mails_since(smarthost, before)}
    to_mentee, to_mentor = mails[pair.mentee_email], mails[pair.mentor_email]
    assert to_mentee["Subject"] == "Your mission: A typical day"
    assert "Ask your mentor what a typical day looks like" in to_mentee.get_body(("plain",)).get_content()
    assert to_mentee["Reply-To"].addresses[0].addr_spec == pair.mentor_alias
    assert to_mentor["Subject"] == "La mission de ton ou ta jeune : Une journée type"
    assert to_mentor["Reply-To"].addresses[0].addr_spec == pair.mentee_alias
    for mail in (to_mentee, to_mentor):
        raw = mail.as_string()
        other = pair.mentor_email if mail is to_mentee else pair.mentee_email
        assert other.lower() not in raw.lower(), "the partner's real address never appears"

    # Both answer through the aliases within the mission's window.
    clock.advance(timedelta(days=1))
    await write(gateway, pair.mentee_email, pair.mentor_alias, "Hi! What does a typical day look like?\n")
    clock.advance(timedelta(hours=5))
    await write(gateway, pair.mentor_email, pair.mentee_alias, "Je commence à 8 h...\n")
    before = len(smarthost.messages)
    assert (await chores(gateway))[1] == 2  # first exchange, mission completed
    assert (await chores(gateway))[1] == 0, "a badge is earned once"
    congratulations = [m for m in mails_since(smarthost, before)
                       if m["To"].addresses[0].addr_spec == pair.mentee_email]
    assert sorted(m["Subject"] for m in congratulations) == [
        "Well done! First exchange with Marie-Ève Tremblay 1",
        "Well done! Mission accomplished with Marie-Ève Tremblay 1"]

    # Four more turns over a month: five answers in all, and a month of conversation.
    for day in range(4):
        clock.advance(timedelta(days=8))
        sender, alias = ((pair.mentee_email, pair.mentor_alias) if day % 2 == 0
                         else (pair.mentor_email, pair.mentee_alias))
        await write(gateway, sender, alias, f"Message {day}\n")
        await chores(gateway)
    earned = await gateway.db.read(lambda s: badges_by_organization(s, None))
    assert {(org, name) for org, name, _ in earned} == {
        ("École A", "first_exchange"), ("École A", "mission_completed"),
        ("École A", "five_exchanges"), ("École A", "month_of_conversation")}


def test_a_broken_mission_file_names_the_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    with pytest.raises(MissionError, match=r"bad.toml: 'window': "):
        parse_mission(path, 'name = "x"\nsend_after = "7d"\nwindow = "soon"\n')
    with pytest.raises(MissionError, match=r"bad.toml: 'en.prompt' must be a non-empty string"):
        parse_mission(path, 'name = "x"\nsend_after = "7d"\nwindow = "7d"\n'
                            '[fr]\ntitle = "t"\nprompt = "p"\n[en]\ntitle = "t"\n')
