"""The web page's account doors over real HTTP (uvicorn on 127.0.0.1): reset links that a Host header
cannot poison, the Secure cookie, forwarded headers believed only from trusted proxies, login
throttling per account and per client (password spraying). SQLite and PostgreSQL.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator, Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.clock import MovableClock
from gateway.program.staff import add_staff
from gateway.web.server import start_web
from tests.conftest import make_settings
from tests.e2e.harness import Harness
from tests.e2e.test_web_http import PASSWORD, Site, csrf_of, login, stop_site

pytestmark = pytest.mark.e2e
MODERATOR = "mod@program.example.org"
SiteFactory = Callable[..., contextlib.AbstractAsyncContextManager[Site]]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def web_site(db_url: str, tmp_path: Path, clock: MovableClock, smarthost: Any,
             empty_rules: Path) -> SiteFactory:
    """A gateway and its page with the given [web] keys ({port} in public_url = the page's port)."""

    @contextlib.asynccontextmanager
    async def running(**web: Any) -> AsyncIterator[Site]:
        port = free_port()
        if "public_url" in web:
            web["public_url"] = web["public_url"].format(port=port)
        settings = make_settings(db_url, tmp_path, rules_dir=empty_rules, web=web)
        harness = Harness(settings, clock, smarthost.port)
        await harness.start()
        site = Site(harness, await start_web(harness.app, host="127.0.0.1", port=port))
        now = clock.now()
        await harness.db.write(lambda s: add_staff(s, email=MODERATOR, name="M", role="moderator",
                                                   now=now, lang="en", password=PASSWORD))
        try:
            yield site
        finally:
            await stop_site(site)

    return running


def mailed_links(smarthost: Any) -> list[str]:
    links = []
    for mail in smarthost.messages:
        msg = message_from_bytes(mail.data, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        body = msg.get_body(("plain",))
        assert body is not None
        links += [word for word in str(body.get_content()).split() if "/reset/" in word]
    return links


async def ask_for_link(client: httpx.AsyncClient, **headers: str) -> httpx.Response:
    page = await client.get("/forgot")
    return await client.post("/forgot", data={"csrf": csrf_of(page.text), "email": MODERATOR},
                             headers=headers)


async def test_without_public_url_no_reset_link_is_mailed_whatever_the_host(
        web_site: SiteFactory, smarthost: Any) -> None:
    async with web_site() as site, httpx.AsyncClient(base_url=site.base) as client:
        page = await client.get("/forgot")
        assert page.status_code == 503 and "public_url" in page.text  # says why it is off
        answer = await ask_for_link(client, host="evil.example")
        assert answer.status_code == 503
        await site.harness.pump()
        assert smarthost.messages == [] and mailed_links(smarthost) == []


async def test_reset_links_use_public_url_never_the_host_header(
        web_site: SiteFactory, smarthost: Any) -> None:
    async with web_site(public_url="http://127.0.0.1:{port}/") as site, \
            httpx.AsyncClient(base_url=site.base) as client:
        for headers in ({"host": "evil.example"},
                        {"x-forwarded-host": "evil.example", "x-forwarded-proto": "https",
                         "x-forwarded-for": "203.0.113.9"}):
            assert (await ask_for_link(client, **headers)).status_code == 200
        await site.harness.pump()
        links = mailed_links(smarthost)
        assert len(links) == 2
        assert all(link.startswith(f"{site.base}/reset/") for link in links), links
        assert (await client.get(links[0])).status_code == 200  # and the link works


@pytest.mark.parametrize(("web", "secure"), [
    ({"public_url": "https://mentorat.example.org"}, True),
    ({"public_url": "http://127.0.0.1:{port}"}, False),
    ({"public_url": "http://127.0.0.1:{port}", "secure_cookie": "always"}, True),
])
async def test_the_session_cookie_is_secure_when_the_page_is_https(
        web_site: SiteFactory, web: dict[str, str], secure: bool) -> None:
    async with web_site(**web) as site, httpx.AsyncClient(base_url=site.base) as client:
        cookie = (await client.get("/login")).headers["set-cookie"].lower()
        assert ("; secure" in cookie) is secure, cookie


async def test_forwarded_for_from_an_untrusted_peer_does_not_reset_the_throttle(
        web_site: SiteFactory) -> None:
    async with web_site() as site, httpx.AsyncClient(base_url=site.base) as client:
        codes = []
        for n in range(6):
            client.headers["x-forwarded-for"] = f"198.51.100.{n}"
            codes.append((await login(client, MODERATOR, "wrong password!")).status_code)
        assert codes == [401] * 5 + [429]


async def test_password_spraying_from_one_address_is_throttled(web_site: SiteFactory) -> None:
    """One guess at each of many accounts: no account reaches its own limit, the client does."""
    async with web_site() as site, httpx.AsyncClient(base_url=site.base) as client:
        codes = [(await login(client, f"staff{n}@program.example.org", "Summer2026!")).status_code
                 for n in range(20)]
        assert codes == [401] * 20
        blocked = await login(client, MODERATOR)  # even a right password waits
        assert blocked.status_code == 429


async def test_trusted_proxies_forwarded_for_names_the_client(web_site: SiteFactory) -> None:
    async with web_site(trusted_proxies=["127.0.0.1/32"]) as site, \
            httpx.AsyncClient(base_url=site.base) as sprayer, \
            httpx.AsyncClient(base_url=site.base) as colleague:
        sprayer.headers["x-forwarded-for"] = "203.0.113.7"
        colleague.headers["x-forwarded-for"] = "198.51.100.20"
        for n in range(20):
            assert (await login(sprayer, f"s{n}@program.example.org", "x")).status_code == 401
        assert (await login(sprayer, MODERATOR)).status_code == 429
        assert (await login(colleague, MODERATOR)).status_code == 303  # another client behind it
