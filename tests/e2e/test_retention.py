"""Retention through the real gateway: a year after a message is settled, what was written is gone.

The facts stay (who wrote to whom, when, what happened); held mail, recent mail and mail still on
its way keep their content. SQLite and PostgreSQL; the hourly job `serve` runs, the command, and
the review page's view of an erased message.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from gateway.clock import MovableClock
from gateway.program.staff import add_staff
from gateway.scheduler import retention_chores
from gateway.store.models import AuditEvent, Message, Outbox
from gateway.store.retention import erase_batch
from gateway.web.server import start_web
from tests.e2e.harness import Harness
from tests.e2e.moderation_helpers import (
    PHONE,
    MakeGateway,
    approve,
    make_gateway_fixture,  # noqa: F401  (fixture make_gateway)
    ready_pair,
    reject,
    send,
)
from tests.e2e.test_cli_moderation import run_cli, write_config
from tests.e2e.test_web_http import login

pytestmark = pytest.mark.e2e
A_YEAR_AND_A_DAY = timedelta(days=366)
MODERATOR = "mod@program.example.org"
PASSWORD = "correct horse battery"


async def rows(h: Harness) -> dict[int, tuple[Message, list[bytes]]]:
    """Each stored message with the bytes of its outgoing copies."""
    def read(s: Any) -> dict[int, tuple[Message, list[bytes]]]:
        found = {}
        for message in s.exec(select(Message).order_by(col(Message.id))).all():
            copies = s.exec(select(Outbox.data).where(Outbox.message_id == message.id)).all()
            found[message.id] = (message, [bytes(c) for c in copies])
        return found

    return await h.db.read(read)


async def erasures(h: Harness) -> list[str | None]:
    return await h.db.read(lambda s: [e.detail for e in s.exec(
        select(AuditEvent).where(AuditEvent.subject_type == "retention")).all()])


async def a_years_history(h: Harness, smarthost: Any) -> dict[str, int]:
    """A delivered message, a held one, a rejected one; a year later, a fresh delivered one."""
    pair = await ready_pair(h, smarthost)
    await send(h, pair, "Bonjour Marie-Ève, merci pour vos conseils sur le métier d'infirmière.\n",
               subject="Merci pour la visite")
    await send(h, pair, f"Appelle-moi au {PHONE}\n", subject="Mon numéro")
    await send(h, pair, f"Mon cell : {PHONE}\n", subject="Encore mon numéro")
    ids = sorted(await rows(h))
    await reject(h, ids[2], "Pas de numéro de téléphone, s'il te plaît.")
    h.clock.advance(A_YEAR_AND_A_DAY)
    await send(h, pair, "Je reviens vers vous un an plus tard !\n", subject="Des nouvelles")
    return {"old_delivered": ids[0], "held": ids[1], "rejected": ids[2],
            "recent": max(await rows(h))}


async def test_a_year_later_bodies_are_erased_and_the_facts_stay(
        make_gateway: MakeGateway, smarthost: Any) -> None:
    h = await make_gateway(first_message=False)
    ids = await a_years_history(h, smarthost)
    before = await rows(h)
    assert before[ids["old_delivered"]][0].state == "delivered"
    assert before[ids["rejected"]][0].state == "rejected"

    await retention_chores(h.app)

    after = await rows(h)
    old, old_copies = after[ids["old_delivered"]]
    assert (old.raw, old.subject, old.state) == (b"", None, "delivered")
    assert old.erased_at is not None and old.pair_id == before[ids["old_delivered"]][0].pair_id
    assert old_copies and all(copy == b"" for copy in old_copies)  # the forward is gone too
    rejected = after[ids["rejected"]][0]
    assert rejected.raw == b"" and PHONE not in (rejected.hits_json or "")
    assert "contact_details" in (rejected.hits_json or "")  # what kind of thing it was stays
    held = after[ids["held"]][0]
    assert held.state == "held" and PHONE.encode() in held.raw and held.erased_at is None
    recent, recent_copies = after[ids["recent"]]
    assert b"un an plus tard" in recent.raw and recent.erased_at is None
    assert recent_copies and all(b"un an plus tard" in copy for copy in recent_copies)
    [detail] = await erasures(h)
    assert detail is not None and detail.startswith("2 message(s)")

    await retention_chores(h.app)  # nothing more to erase: no second audit event
    assert len(await erasures(h)) == 1


async def test_the_review_page_says_the_content_was_erased(
        make_gateway: MakeGateway, smarthost: Any, clock: MovableClock) -> None:
    h = await make_gateway(first_message=False)
    pair = await ready_pair(h, smarthost)
    await send(h, pair, f"Mon numéro : {PHONE}\n", subject="Mon numéro")
    [held_id] = list(await rows(h))
    await approve(h, held_id, actor=MODERATOR)
    await h.pump()
    now = clock.now()
    await h.db.write(lambda s: add_staff(s, email=MODERATOR, name="Mod", role="moderator",
                                         now=now, password=PASSWORD) and None)
    clock.advance(A_YEAR_AND_A_DAY)
    await retention_chores(h.app)

    web = await start_web(h.app, host="127.0.0.1", port=0)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{web.port}") as client:
            assert (await login(client, MODERATOR, PASSWORD)).status_code == 303
            page = await client.get(f"/messages/{held_id}")
    finally:
        await web.stop()
    assert page.status_code == 200
    assert 'id="erased"' in page.text and "effacé" in page.text
    assert PHONE not in page.text and "Mon numéro" not in page.text


async def test_the_command_erases_from_a_given_time(
        make_gateway: MakeGateway, smarthost: Any, tmp_path: Path) -> None:
    h = await make_gateway(first_message=False)
    pair = await ready_pair(h, smarthost)
    await send(h, pair, "Bonjour, une question sur les stages.\n")
    config = write_config(tmp_path / "config.toml", db_url=h.settings.database.url,
                          rules_dir=Path(h.settings.gateway.rules_dir))
    soon = (h.clock.now() + timedelta(days=30)).isoformat()
    later = (h.clock.now() + A_YEAR_AND_A_DAY).isoformat()

    kept = await asyncio.to_thread(run_cli, config, "retention", "run", "--at", soon)
    assert kept.returncode == 0, kept.stderr
    assert kept.stdout.startswith("erased 0 message(s)")
    dry = await asyncio.to_thread(run_cli, config, "retention", "run", "--at", later, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.startswith("dry run: would erase 1 message(s)") and "nothing was changed" in dry.stdout
    assert [m.raw != b"" for m, _ in (await rows(h)).values()] == [True]
    erased = await asyncio.to_thread(run_cli, config, "retention", "run", "--at", later)
    assert erased.returncode == 0, erased.stderr
    assert erased.stdout.startswith("erased 1 message(s)")
    [(message, _)] = (await rows(h)).values()
    assert message.raw == b""
    bad = await asyncio.to_thread(run_cli, config, "retention", "run", "--at", "next year")
    assert bad.returncode == 2 and "--at" in bad.stderr and "ISO time" in bad.stderr


async def test_a_long_backlog_is_erased_in_short_batches(
        make_gateway: MakeGateway, smarthost: Any) -> None:
    """The first run on years of mail: each batch is its own short transaction."""
    h = await make_gateway(first_message=False)
    pair = await ready_pair(h, smarthost)
    for n in range(3):
        await send(h, pair, f"Message {n}\n")
    h.clock.advance(A_YEAR_AND_A_DAY)
    now, keep = h.clock.now(), timedelta(days=365)

    first = await h.db.write(lambda s: erase_batch(s, now, keep, batch=2))
    assert (first.messages, first.outbox_copies) == (2, 2)
    assert [m.raw == b"" for m, _ in (await rows(h)).values()] == [True, True, False]
    await retention_chores(h.app)  # finishes the backlog, then says how much it erased
    assert all(m.raw == b"" for m, _ in (await rows(h)).values())
    [detail] = await erasures(h)
    assert detail is not None and detail.startswith("1 message(s)")
