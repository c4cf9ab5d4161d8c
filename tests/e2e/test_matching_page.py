"""The coordinators' suggestions page over HTTP: their organization only, CSRF, accept and skip."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import select

from gateway.clock import MovableClock
from gateway.matching import service
from gateway.program.service import add_participant
from gateway.store.models import MatchSuggestion, Pair
from tests.e2e.test_web_http import Site, csrf_of, login, running_site

pytestmark = pytest.mark.e2e


@pytest.fixture
async def site(db_url: str, tmp_path: Path, clock: MovableClock,
               smarthost: Any) -> AsyncIterator[Site]:
    async with running_site(db_url, tmp_path, clock, smarthost.port, {}) as running:
        now = clock.now()
        settings = running.harness.settings

        def enrol(s: Any) -> None:
            for n in (1, 2):
                add_participant(s, email=f"mentor{n}@example.net", name=f"Mentor {n}",
                                role="mentor", now=now)
            add_participant(s, email="lea@example.net", name="Léa A", role="mentee",
                            org="École A", now=now)
            add_participant(s, email="sam@example.net", name="Sam B", role="mentee",
                            org="École B", now=now)
            service.suggest(s, settings, now=now)

        await running.harness.db.write(enrol)
        yield running


async def test_a_coordinator_sees_and_accepts_only_their_schools_suggestions(site: Site) -> None:
    rows = await site.harness.db.read(lambda s: s.exec(select(MatchSuggestion)).all())
    mine = next(r for r in rows if r.mentee_id == 3)  # Léa, École A
    theirs = next(r for r in rows if r.mentee_id == 4)  # Sam, École B
    async with httpx.AsyncClient(base_url=site.base) as client:
        assert (await client.get("/suggestions")).status_code == 303  # login first
        await login(client, "coord-a@program.example.org")
        page = await client.get("/suggestions")
        assert page.status_code == 200
        assert "lea@example.net" in page.text and "sam@example.net" not in page.text
        assert "même langue seulement" in page.text  # no shared field: said so, in French
        token = csrf_of(page.text)
        # Another school's suggestion, or a missing CSRF token: refused, nothing changes.
        other = await client.post(f"/suggestions/{theirs.id}/accept", data={"csrf": token})
        assert other.status_code == 404
        forged = await client.post(f"/suggestions/{mine.id}/accept", data={"csrf": "x"})
        assert forged.status_code == 403
        assert await site.harness.db.read(lambda s: s.exec(select(Pair)).all()) == []
        done = await client.post(f"/suggestions/{mine.id}/accept", data={"csrf": token},
                                 follow_redirects=True)
        assert "jumelage" in done.text and "lea@example.net" not in done.text
    pairs = await site.harness.db.read(lambda s: s.exec(select(Pair)).all())
    assert [(p.mentee_id, p.state) for p in pairs] == [(3, "active")]


async def test_skip_and_english(site: Site) -> None:
    rows = await site.harness.db.read(lambda s: s.exec(select(MatchSuggestion)).all())
    async with httpx.AsyncClient(base_url=site.base) as client:
        await login(client, "mod@program.example.org")  # a program-wide moderator sees both
        page = await client.get("/suggestions")
        assert "lea@example.net" in page.text and "sam@example.net" in page.text
        await client.post("/lang", data={"csrf": csrf_of(page.text), "lang": "en",
                                         "next": "/suggestions"})
        page = await client.get("/suggestions")
        assert "Suggested pairs" in page.text and "same language only" in page.text
        done = await client.post(f"/suggestions/{rows[0].id}/skip",
                                 data={"csrf": csrf_of(page.text)}, follow_redirects=True)
        assert "will not be suggested" in done.text
    states = await site.harness.db.read(
        lambda s: {r.id: r.state for r in s.exec(select(MatchSuggestion)).all()})
    assert states[rows[0].id] == "skipped"
