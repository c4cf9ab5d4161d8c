"""The program dashboard over HTTP after real traffic: scopes, figures, plots without script, CSV.

Figure definitions are checked against independent SQL in tests/unit/insights; here the page must
show the figures of the right pairs (a coordinator's organization only) and export them.
"""

from __future__ import annotations

import base64
import csv
import io
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import select

from gateway.clock import MovableClock
from gateway.review.held import HeldFilter, list_held, reject
from gateway.store.models import Organization
from tests.e2e.harness import PHONE_RULE, PairInfo, simple_message
from tests.e2e.test_web_http import Site, login, running_site

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class Program:
    site: Site
    answered: PairInfo  # École A: mentee wrote, mentor answered 5 h later, then silence
    silent: PairInfo  # École A: never started
    other: PairInfo  # École B: one message from the mentor
    org_b: int


async def write(site: Site, sender: str, alias: str, body: str = "Bonjour !\n") -> None:
    outcome = await site.harness.send(sender, [alias], simple_message(sender, alias, body=body))
    assert outcome.code == 250, outcome
    await site.harness.pump()


async def program_traffic(site: Site, clock: MovableClock) -> Program:
    """Three pairs, real mail through SMTP with a moved clock, then 30 quiet days."""
    harness = site.harness
    # Every view computed afresh: these tests check figures right after each change.
    harness.app.settings = harness.app.settings.replace(insights={"cache_seconds": 0})
    answered = await harness.make_pair(org="École A")
    silent = await harness.make_pair(org="École A")
    other = await harness.make_pair(org="École B")
    await write(site, answered.mentee_email, answered.mentor_alias)
    clock.advance(timedelta(hours=5))
    await write(site, answered.mentor_email, answered.mentee_alias)
    clock.advance(timedelta(hours=1))
    await write(site, answered.mentee_email, answered.mentor_alias, "Mon numéro : 514-555-1234\n")
    await write(site, other.mentor_email, other.mentee_alias)
    clock.advance(timedelta(days=30))
    org_b = await harness.db.read(
        lambda s: s.exec(select(Organization.id).where(Organization.name == "École B")).one())
    return Program(site, answered, silent, other, org_b)


@pytest.fixture
async def program(db_url: str, tmp_path: Path, clock: MovableClock,
                  smarthost: Any) -> AsyncIterator[Program]:
    async with running_site(db_url, tmp_path, clock, smarthost.port,
                            {"phone.toml": PHONE_RULE}) as site:
        yield await program_traffic(site, clock)


def figure(html: str, name: str) -> str:
    found = re.search(rf'data-figure="{name}">([^<]*)<', html)
    assert found, name
    return found.group(1).strip()


async def test_coordinator_sees_their_organization_with_plots_and_csv(program: Program) -> None:
    async with httpx.AsyncClient(base_url=program.site.base) as client:
        await login(client, "coord-a@program.example.org")  # French, École A
        page = await client.get("/program")
        assert page.status_code == 200
        html = page.text
        assert figure(html, "active_pairs") == "2"
        assert figure(html, "never_started_pairs") == "1"
        assert figure(html, "quiet_pairs") == "1"
        assert figure(html, "messages_written") == "3"
        assert figure(html, "mentor_median") == "5,0 h"
        assert figure(html, "held_rate") == "33\u202f%"  # one of three held (the phone number)
        assert figure(html, "mentee_share").startswith("50\u202f%")  # the silent pair's did not
        assert f'href="/pairs?q={program.answered.id}"' in html
        assert f'href="/pairs?q={program.silent.id}"' in html
        assert f"/pairs?q={program.other.id}\"" not in html, "École B is not theirs"
        assert "École B" not in html
        charts = re.findall(r'<img class="chart" src="data:image/svg\+xml;base64,([^"]+)" alt="([^"]+)"', html)
        assert len(charts) == 2
        for data, alt in charts:
            svg = base64.b64decode(data).decode()
            assert svg.startswith("<svg") and "<script" not in svg.lower() and "http://" not in \
                svg.replace('xmlns="http://www.w3.org/2000/svg"', "").replace(
                    'xmlns:xlink="http://www.w3.org/1999/xlink"', "").split("-->")[-1]
            assert "tableau qui suit" in alt
        # The plots are images: the only script is the site's own keyboard helper, nothing inline.
        assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/keys.js" defer>']
        assert "script-src 'self'" in page.headers["content-security-policy"]

        export = await client.get("/program.csv?figure=quiet_pairs")
        assert export.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(export.text)))
        assert rows[0] == ["pair", "last_exchange"] and [r[0] for r in rows[1:]] == [str(program.answered.id)]
        summary = dict(csv.reader(io.StringIO((await client.get("/program.csv")).text)))
        assert (summary["active_pairs"], summary["held_messages"], summary["mentor_to_mentee_median_hours"]) \
            == ("2", "1", "5.0")

        # The weekly digest is on until the coordinator unticks it (a CSRF-checked form).
        assert 'name="weekly_digest" checked' in html
        token = re.search(r'name="csrf" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
        assert (await client.post("/program/digest", data={})).status_code == 403
        await client.post("/program/digest", data={"csrf": token})
        assert 'name="weekly_digest">' in (await client.get("/program")).text

        assert (await client.get(f"/program?org={program.org_b}")).status_code == 403
        assert (await client.get("/program.csv?figure=secrets")).status_code == 404
        assert (await client.get("/program?since=yesterday")).status_code == 400


async def test_moderator_sees_every_organization_and_filters_one(program: Program) -> None:
    async with httpx.AsyncClient(base_url=program.site.base) as client:
        await login(client, "mod@program.example.org")
        await client.post("/lang", data={"csrf": re.search(
            r'name="csrf" value="([^"]+)"', (await client.get("/program")).text).group(1),  # type: ignore[union-attr]
            "lang": "en", "next": "/program"})
        everything = (await client.get("/program")).text
        assert figure(everything, "active_pairs") == "3"
        assert figure(everything, "messages_written") == "4"
        assert figure(everything, "held_rate") == "25%"
        assert "École A" in everything and "École B" in everything
        only_b = (await client.get(f"/program?org={program.org_b}&quiet_days=40")).text
        assert figure(only_b, "active_pairs") == "1" and figure(only_b, "quiet_pairs") == "0"
        # A period before the traffic: no message; the pair lists are today's whatever the period.
        early = (await client.get("/program?since=2025-01-01&until=2025-12-31")).text
        assert figure(early, "messages_written") == "0" and figure(early, "active_pairs") == "3"

        # A moderator decides on the held message 30 days after it arrived.
        assert figure(everything, "median_decision") == "—"
        harness = program.site.harness
        held = await harness.db.read(lambda s: list_held(s, HeldFilter()))
        await harness.db.write(lambda s: reject(s, harness.settings, held[0].id, actor="mod",
                                                now=harness.clock.now(), reason="contact"))
        decided = (await client.get("/program")).text
        assert figure(decided, "median_decision") == "30.0 d"


async def test_the_dashboard_needs_a_login(program: Program) -> None:
    async with httpx.AsyncClient(base_url=program.site.base) as client:
        for path in ("/program", "/program.csv?figure=summary"):
            response = await client.get(path)
            assert (response.status_code, response.headers["location"]) == (303, "/login"), path
