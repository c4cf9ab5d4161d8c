"""The review page over HTTP against the real gateway: CSRF, login throttling, scopes, headers, health.

These tests touch the store, so they run on SQLite and PostgreSQL (db_url); the browser tests in
test_web_browser.py drive the same routes with Chromium.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.clock import MovableClock
from gateway.program.service import add_organization
from gateway.program.staff import add_staff
from gateway.web.server import WebServer, start_web
from tests.conftest import make_settings
from tests.e2e.harness import Harness, PairInfo, simple_message, write_rules

pytestmark = pytest.mark.e2e
PASSWORD = "correct horse battery"
HOLD_ALL_RULE = """description = "every message waits for a moderator (tests)"
action = "hold"
reason_fr = "Un modérateur lit ce message."
reason_en = "A moderator reads this message."
[match]
kind = "any"
"""


@dataclass
class Site:
    harness: Harness
    web: WebServer

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.web.port}"


async def start_site(db_url: str, tmp_path: Path, clock: MovableClock, smarthost_port: int,
                     rules: dict[str, str]) -> Site:
    rules_dir = write_rules(tmp_path / "rules", rules)
    harness = Harness(make_settings(db_url, tmp_path, rules_dir=rules_dir), clock, smarthost_port)
    await harness.start()
    web = await start_web(harness.app, host="127.0.0.1", port=0)
    now = clock.now()

    def people(session: Any) -> None:
        add_organization(session, "École A", now=now)
        add_organization(session, "École B", now=now)
        add_staff(session, email="mod@program.example.org", name="Modératrice", role="moderator",
                  now=now, password=PASSWORD)
        add_staff(session, email="mod-a@program.example.org", name="Mod A", role="moderator",
                  org="École A", now=now, password=PASSWORD, lang="en")
        add_staff(session, email="coord-a@program.example.org", name="Coord A", role="coordinator",
                  org="École A", now=now, password=PASSWORD)

    await harness.db.write(people)
    return Site(harness, web)


async def stop_site(site: Site) -> None:
    await site.web.stop()
    await site.harness.stop()


@contextlib.asynccontextmanager
async def running_site(db_url: str, tmp_path: Path, clock: MovableClock, smarthost_port: int,
                       rules: dict[str, str]) -> AsyncIterator[Site]:
    """A gateway with its web page, staff and organizations, for as long as the block runs."""
    site = await start_site(db_url, tmp_path, clock, smarthost_port, rules)
    try:
        yield site
    finally:
        await stop_site(site)


@pytest.fixture
async def site(db_url: str, tmp_path: Path, clock: MovableClock,
               smarthost: Any) -> AsyncIterator[Site]:
    async with running_site(db_url, tmp_path, clock, smarthost.port,
                            {"hold_all.toml": HOLD_ALL_RULE}) as running:
        yield running


async def send_held(site: Site, pair: PairInfo, subject: str = "Bonjour",
                    body: str = "Bonjour, ça va ?\n", raw: bytes | None = None) -> int:
    """Send as the mentee to the mentor's alias and run the rules; the id of the held message."""
    data = raw or simple_message(pair.mentee_email, pair.mentor_alias, subject, body)
    outcome = await site.harness.send(pair.mentee_email, [pair.mentor_alias], data)
    assert outcome.code == 250, outcome
    await site.harness.pump()
    from gateway.review.held import HeldFilter, list_held

    items = await site.harness.db.read(lambda s: list_held(s, HeldFilter(pair_id=pair.id)))
    return items[-1].id


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "every page with a form carries a CSRF token"
    return found.group(1)


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    page = await client.get("/login")
    return await client.post("/login", data={"csrf": csrf_of(page.text), "email": email,
                                             "password": password})


async def test_healthz_and_security_headers(site: Site) -> None:
    async with httpx.AsyncClient(base_url=site.base) as client:
        health = await client.get("/healthz")
        assert (health.status_code, health.text) == (200, "ok")
        page = await client.get("/login")
    csp = page.headers["content-security-policy"]
    # Scripts only from the page's own origin (the keyboard-shortcut file); never inline, never eval.
    assert "default-src 'self'" in csp and "img-src 'self' data:" in csp and "script-src 'self';" in csp
    assert "unsafe" not in csp and "object-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    cookie = page.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie


async def test_pages_need_a_login(site: Site) -> None:
    async with httpx.AsyncClient(base_url=site.base) as client:
        for path in ("/queue", "/pairs", "/audit", "/messages/1"):
            response = await client.get(path)
            assert (response.status_code, response.headers["location"]) == (303, "/login"), path


async def test_post_without_valid_csrf_is_refused(site: Site) -> None:
    pair = await site.harness.make_pair(org="École A")
    held_id = await send_held(site, pair)
    async with httpx.AsyncClient(base_url=site.base) as client:
        refused = await client.post("/login", data={"email": "mod@program.example.org",
                                                    "password": PASSWORD})
        assert refused.status_code == 403
        assert (await login(client, "mod@program.example.org")).status_code == 303
        forged = await client.post(f"/messages/{held_id}/approve", data={"csrf": "forged"})
        assert forged.status_code == 403
        missing = await client.post("/queue/decide", data={"action": "approve", "ids": [held_id]})
        assert missing.status_code == 403
    from gateway.review.held import get_message

    message = await site.harness.db.read(lambda s: get_message(s, held_id))
    assert message.state == "held"  # nothing happened


async def test_six_wrong_passwords_are_throttled(site: Site) -> None:
    async with httpx.AsyncClient(base_url=site.base) as client:
        codes = [(await login(client, "mod@program.example.org", "wrong password!")).status_code
                 for _ in range(6)]
        assert codes == [401] * 5 + [429]
        blocked = await login(client, "mod@program.example.org")  # even the right password waits
        assert blocked.status_code == 429
        assert "Réessayez dans 15 minutes" in blocked.text
        other = await login(client, "mod-a@program.example.org")
        assert other.status_code == 303  # the throttle is per address
    site.harness.clock.advance(timedelta(minutes=16))
    async with httpx.AsyncClient(base_url=site.base) as client:
        assert (await login(client, "mod@program.example.org")).status_code == 303


async def test_the_throttle_counts_failures_across_gateway_instances(site: Site) -> None:
    """Two instances behind one load balancer share the database, and so the count."""
    second = await start_web(site.harness.app, host="127.0.0.1", port=0)
    try:
        async with httpx.AsyncClient(base_url=site.base) as first_client, \
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{second.port}") as second_client:
            for client in (first_client, second_client, first_client, second_client, first_client):
                wrong = await login(client, "mod@program.example.org", "wrong password!")
                assert wrong.status_code == 401
            blocked = await login(second_client, "mod@program.example.org")
            assert blocked.status_code == 429
    finally:
        await second.stop()


async def test_logging_out_ends_every_copy_of_the_session(site: Site) -> None:
    """A moderator logs out at home; the cookie left on the school computer (or copied) dies too."""
    async with httpx.AsyncClient(base_url=site.base) as home, \
            httpx.AsyncClient(base_url=site.base) as school:
        assert (await login(home, "mod@program.example.org")).status_code == 303
        school.cookies.update(home.cookies)  # the same signed cookie, elsewhere
        assert (await school.get("/queue")).status_code == 200
        page = await home.get("/queue")
        assert page.status_code == 200

        assert (await home.post("/logout", data={"csrf": csrf_of(page.text)})).status_code == 303
        for client in (home, school):
            refused = await client.get("/queue")
            assert (refused.status_code, refused.headers["location"]) == (303, "/login")
        assert (await school.get("/login")).status_code == 200  # no redirect loop

        assert (await login(home, "mod@program.example.org")).status_code == 303
        assert (await home.get("/queue")).status_code == 200  # logging in again works


async def test_nobody_reaches_another_organizations_message(site: Site) -> None:
    pair_a = await site.harness.make_pair(org="École A")
    pair_b = await site.harness.make_pair(org="École B")
    held_a = await send_held(site, pair_a, subject="Message A")
    held_b = await send_held(site, pair_b, subject="Message B")
    async with httpx.AsyncClient(base_url=site.base) as client:
        await login(client, "coord-a@program.example.org")
        assert (await client.get(f"/messages/{held_a}")).status_code == 200
        assert (await client.get(f"/messages/{held_b}")).status_code == 404
        queue = await client.get("/queue")
        assert "Message A" in queue.text and "Message B" not in queue.text
        token = csrf_of(queue.text)
        approve = await client.post(f"/messages/{held_a}/approve", data={"csrf": token})
        assert approve.status_code == 403  # coordinators read; moderators decide
        pause_b = await client.post(f"/pairs/{pair_b.id}/pause", data={"csrf": token})
        assert pause_b.status_code == 404
        assert (await client.post(f"/pairs/{pair_a.id}/pause", data={"csrf": token})).status_code == 303
    async with httpx.AsyncClient(base_url=site.base) as client:
        await login(client, "mod-a@program.example.org")
        token = csrf_of((await client.get("/queue")).text)
        crafted = await client.post(f"/messages/{held_b}/approve", data={"csrf": token})
        assert crafted.status_code == 404
        bulk = await client.post("/queue/decide", data={"csrf": token, "action": "approve",
                                                        "ids": [str(held_b)]})
        assert bulk.status_code == 303
    from gateway.program.service import pair_view
    from gateway.review.held import get_message

    message_b = await site.harness.db.read(lambda s: get_message(s, held_b))
    assert message_b.state == "held"
    settings = site.harness.settings
    states = await site.harness.db.read(lambda s: (pair_view(s, settings, pair_a.id).state,
                                                   pair_view(s, settings, pair_b.id).state))
    assert states == ("paused", "active")


async def test_audit_trail_names_who_decided(site: Site) -> None:
    pair = await site.harness.make_pair(org="École A")
    held_id = await send_held(site, pair)
    async with httpx.AsyncClient(base_url=site.base) as client:
        await login(client, "mod@program.example.org")
        token = csrf_of((await client.get("/queue")).text)
        done = await client.post(f"/messages/{held_id}/reject",
                                 data={"csrf": token, "reason_key": "off_topic"})
        assert done.status_code == 303
        audit = await client.get("/audit")
    assert audit.status_code == 200
    assert "mod@program.example.org" in audit.text and f"/messages/{held_id}" in audit.text
    assert "rejected" in audit.text
