"""Forgetting a participant through the real gateway: afterwards their address and name are nowhere
in the database, their pairs are closed, and the mentor's other pair goes on. SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select as sa_select
from sqlmodel import SQLModel, col, select

from gateway.program import service
from gateway.program.staff import add_staff
from gateway.store.models import Message, Outbox, Pair
from tests.e2e.harness import Harness, PairInfo
from tests.e2e.moderation_helpers import (
    PHONE,
    MakeGateway,
    mail,
    make_gateway_fixture,  # noqa: F401  (fixture make_gateway)
    received_by,
    send,
)
from tests.e2e.test_cli_moderation import run_cli, write_config

pytestmark = pytest.mark.e2e
MENTOR = "mentor.forget@example.com"
LEAVING, STAYING = "lea.tremblay@eleves.example.net", "noah.roy@eleves.example.net"
LEAVING_NAME = "Léa Tremblay-Forgetme"


async def two_pairs_of_one_mentor(h: Harness) -> tuple[PairInfo, PairInfo]:
    now, settings = h.clock.now(), h.settings

    def create(s: Any) -> tuple[service.PairView, service.PairView]:
        service.add_participant(s, email=MENTOR, name="Marie-Ève Gagnon", role="mentor", now=now)
        service.add_participant(s, email=LEAVING, name=LEAVING_NAME, role="mentee", minor=True,
                                now=now)
        service.add_participant(s, email=STAYING, name="Noah Roy", role="mentee", minor=True, now=now)
        add_staff(s, email="mod@program.example.org", name="Mod", role="moderator", now=now)
        return (service.create_pair(s, settings, mentor=MENTOR, mentee=LEAVING, now=now),
                service.create_pair(s, settings, mentor=MENTOR, mentee=STAYING, now=now))

    views = await h.db.write(create)
    await h.pump()
    return tuple(PairInfo(v.id, v.mentor_email, v.mentee_email, v.mentor_alias, v.mentee_alias)
                 for v in views)  # type: ignore[return-value]


async def a_conversation(h: Harness, smarthost: Any, pair: PairInfo) -> None:
    """Both ways (the mentee's provider refusing one with her address in its answer), a client
    Message-ID that embeds the address, and a held message with its notices."""
    await send(h, pair, f"Bonjour, c'est {LEAVING_NAME}, j'ai une question.\n")
    smarthost.script(f"550 5.1.1 <{LEAVING}>: mailbox temporarily disabled", stage="rcpt")
    await send(h, pair, "Bonjour Léa ! Bien sûr.\n", from_mentee=False)
    raw = mail(pair.mentee_email, pair.mentor_alias, f"Mon numéro : {PHONE}\n").replace(
        b"@client.example.com>", f".{LEAVING}>".encode(), 1)
    assert (await h.send(pair.mentee_email, [pair.mentor_alias], raw)).code == 250
    await h.pump()


async def traces_of(h: Harness, *needles: str) -> list[str]:
    """Every table, every row, every text or bytes column: where does any needle still appear?"""
    wanted = [n.lower() for n in needles]

    def scan(s: Any) -> list[str]:
        found = []
        for table in SQLModel.metadata.sorted_tables:
            for row in s.execute(sa_select(table)).mappings():
                for column, value in row.items():
                    if isinstance(value, bytes | memoryview):
                        value = bytes(value).decode("utf-8", errors="replace")
                    if isinstance(value, str) and any(n in value.lower() for n in wanted):
                        found.append(f"{table.name}.{column}")
        return sorted(set(found))

    return await h.db.read(scan)


async def test_a_forgotten_mentee_leaves_no_trace_and_the_mentor_goes_on(
        make_gateway: MakeGateway, smarthost: Any, tmp_path: Path) -> None:
    h = await make_gateway(first_message=False)
    leaving, staying = await two_pairs_of_one_mentor(h)
    await a_conversation(h, smarthost, leaving)
    await send(h, staying, "Bonjour Marie-Ève, c'est Noah.\n")
    note = await h.send(LEAVING, ["program@mentor.test"],
                        mail(LEAVING, "program@mentor.test", "Je suis Léa, je quitte le programme.\n"))
    assert note.code == 250  # mail to the team: a contact item that quotes her
    await h.pump()  # staff alerted, acknowledgement sent
    before = await traces_of(h, LEAVING, LEAVING_NAME)  # the history is really there
    assert {"auditevent.detail", "message.raw", "outbox.data", "participant.email",
            "report.from_address", "report.raw"} <= set(before)
    config = write_config(tmp_path / "config.toml", db_url=h.settings.database.url,
                          rules_dir=Path(h.settings.gateway.rules_dir))

    unconfirmed = await asyncio.to_thread(run_cli, config, "participant", "forget", LEAVING)
    assert unconfirmed.returncode == 2 and "--yes" in unconfirmed.stderr
    done = await asyncio.to_thread(run_cli, config, "participant", "forget", LEAVING, "--yes")
    assert done.returncode == 0, done.stderr
    assert "1 pair(s) closed, 3 message(s) erased" in done.stdout

    assert await traces_of(h, LEAVING, LEAVING_NAME) == []
    states = await h.db.read(lambda s: {p.id: p.state for p in s.exec(select(Pair)).all()})
    assert states == {leaving.id: "closed", staying.id: "active"}
    held = await h.db.read(lambda s: s.exec(select(Message.state).where(
        Message.pair_id == leaving.id).order_by(col(Message.id))).all())
    assert held == ["delivered", "failed", "rejected"]  # nothing waits for a moderator
    unsent = await h.db.read(lambda s: s.exec(select(Outbox.id).where(
        col(Outbox.state).in_(("queued", "deferred")))).all())
    assert unsent == []

    smarthost.clear()
    again = await h.send(LEAVING, [leaving.mentor_alias],
                         mail(LEAVING, leaving.mentor_alias, "Encore moi !\n"))
    assert again.code == 550  # no longer a participant: a stranger
    closed = await h.send(MENTOR, [leaving.mentee_alias],
                          mail(MENTOR, leaving.mentee_alias, "Léa ?\n"))
    assert closed.code == 550
    await send(h, staying, "Merci pour ta question, Noah.\n", from_mentee=False)
    await h.pump()
    assert [m["Subject"] for m in received_by(smarthost, STAYING)] == ["Bonjour"]
    assert smarthost.messages and all(LEAVING not in r for m in smarthost.messages for r in m.rcpt_tos)
