"""Chromium drives the review page against the real gateway and the recording smarthost.

SQLite only: the browser exercises the same routes and services as test_web_http.py, which runs
on both databases; a second database would only double the (slow) browser run.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator, Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from gateway.clock import MovableClock
from tests.conftest import ROOT, skip_or_fail
from tests.e2e.harness import PHONE_RULE
from tests.e2e.test_web_http import (
    HOLD_ALL_RULE,
    PASSWORD,
    Site,
    running_site,
    send_held,
)

pytestmark = pytest.mark.e2e
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = ROOT / "docs" / "img"


def shoot() -> bool:
    """Screenshots for docs/moderators.md are refreshed on demand, not on every run."""
    return os.environ.get("GATEWAY_WEB_SCREENSHOTS") == "1"


@pytest.fixture
async def browser_page() -> AsyncIterator[Any]:
    if not Path(CHROMIUM).exists():
        skip_or_fail(f"{CHROMIUM} is missing (apt install chromium)")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        skip_or_fail("the playwright Python package is not installed")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = await browser.new_context(viewport={"width": 1280, "height": 900})
        page = await context.new_page()
        try:
            yield page
        finally:
            await browser.close()


@pytest.fixture
async def site(sqlite_url: str, tmp_path: Path, clock: MovableClock,
               smarthost: Any) -> AsyncIterator[Site]:
    # The phone rule gives evidence to highlight; the any-rule holds the hostile HTML mail too.
    rules = {"phone.toml": PHONE_RULE, "hold_all.toml": HOLD_ALL_RULE}
    async with running_site(sqlite_url, tmp_path, clock, smarthost.port, rules) as running:
        yield running


async def log_in(page: Any, site: Site, email: str = "mod@program.example.org") -> None:
    await page.goto(f"{site.base}/login")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("form[action='/login'] button[type=submit]")
    await page.wait_for_url(f"{site.base}/queue")


def recorded_since(smarthost: Any, before: int) -> list[Any]:
    return list(smarthost.messages)[before:]


def body_of(data: bytes) -> str:
    msg = message_from_bytes(data, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    part = msg.get_body(("plain",))
    return str(part.get_content()) if part is not None else ""


async def settle(site: Site) -> None:
    await site.harness.pump()
    await asyncio.sleep(0.05)


async def test_approve_a_held_message_delivers_it_once_anonymized(
        site: Site, browser_page: Any, smarthost: Any) -> None:
    page = browser_page
    pair = await site.harness.make_pair(org="École A")
    held_id = await send_held(site, pair, subject="Mon numéro",
                              body="Salut ! Appelle-moi au 514-555-1234 ce soir.\n")
    await settle(site)
    before = len(smarthost.messages)
    await log_in(page, site)
    row = page.locator(f"tr[data-id='{held_id}']")
    assert "phone" in await row.inner_text()
    if shoot():
        await page.screenshot(path=str(SCREENSHOTS / "queue.png"), full_page=True)
    await row.locator("a.subject").click()
    assert await page.locator("#body mark").all_inner_texts() == ["514-555-1234"]
    assert await page.locator("#subject").inner_text() == "Mon numéro"
    if shoot():
        await page.screenshot(path=str(SCREENSHOTS / "message.png"), full_page=True)
    await page.click("#approve")
    await page.wait_for_url(f"{site.base}/queue")
    assert "1" in await page.locator(".flash").inner_text()
    await settle(site)
    arrived = recorded_since(smarthost, before)
    assert len(arrived) == 1
    forward = arrived[0]
    assert [r.lower() for r in forward.rcpt_tos] == [pair.mentor_email.lower()]
    assert pair.mentee_email.encode() not in forward.data.lower()
    assert "514-555-1234" in body_of(forward.data)
    await settle(site)
    assert len(recorded_since(smarthost, before)) == 1  # once, even after another pump


async def test_bulk_reject_sends_three_notices(site: Site, browser_page: Any, smarthost: Any) -> None:
    page = browser_page
    pair = await site.harness.make_pair(org="École A")
    ids = [await send_held(site, pair, subject=f"Essai {n}", body=f"Texte {n} 438-555-000{n}\n")
           for n in range(3)]
    await settle(site)
    before = len(smarthost.messages)
    await log_in(page, site)
    for held_id in ids:
        await page.check(f"input[name=ids][value='{held_id}']")
    await page.select_option("select[name=reason_key]", "contact")
    await page.click("button[name=action][value=reject]")
    await page.wait_for_url(f"{site.base}/queue")
    assert "3" in await page.locator(".flash").inner_text()
    await settle(site)
    notices = recorded_since(smarthost, before)
    assert len(notices) == 3
    for notice in notices:
        assert [r.lower() for r in notice.rcpt_tos] == [pair.mentee_email.lower()]
        assert "coordonnées personnelles" in body_of(notice.data)  # the mentee reads French


class CountingServer:
    """A tiny local HTTP server that counts requests: the tracking pixel's owner."""

    def __init__(self) -> None:
        counter = self
        self.count = 0

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                counter.count += 1
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def tracker() -> Iterator[CountingServer]:
    server = CountingServer()
    try:
        yield server
    finally:
        server.close()


def hostile_message(sender: str, to: str, tracker_port: int) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = "<img src=x onerror=alert(1)>"
    msg.set_content("Bonjour, regarde la version HTML.\n")
    msg.add_alternative(
        "<h3>Bonjour du HTML</h3>"
        "<script>document.title='pwned'; window.pwned = 1;</script>"
        f"<img src='http://127.0.0.1:{tracker_port}/track.png'>"
        "<img src=x onerror=\"document.title='pwned'\">"
        f"<div style=\"background:url(http://127.0.0.1:{tracker_port}/bg.png)\">x</div>",
        subtype="html")
    return msg.as_bytes(policy=SMTP_POLICY)


async def test_hostile_html_and_subject_run_nothing_and_fetch_nothing(
        site: Site, browser_page: Any, tracker: CountingServer) -> None:
    import urllib.request

    await asyncio.to_thread(urllib.request.urlopen, f"http://127.0.0.1:{tracker.port}/probe")
    assert tracker.count == 1, "the counting server works"
    tracker.count = 0
    page = browser_page
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    pair = await site.harness.make_pair(org="École A")
    raw = hostile_message(pair.mentee_email, pair.mentor_alias, tracker.port)
    held_id = await send_held(site, pair, raw=raw)
    await log_in(page, site)
    await page.goto(f"{site.base}/messages/{held_id}")
    # One body view: the text first, the cleaned HTML on demand (never both on one page).
    assert await page.locator("iframe.html-part").count() == 0
    assert "regarde la version HTML" in await page.locator("#body").inner_text()
    await page.click("#show-html")
    await page.wait_for_load_state("networkidle")
    assert await page.locator("#body").count() == 0
    frame = page.frame_locator("iframe.html-part")
    assert await frame.locator("h3").inner_text() == "Bonjour du HTML"
    assert await page.locator("#subject").inner_text() == "<img src=x onerror=alert(1)>"
    await asyncio.sleep(0.5)
    assert await page.title() != "pwned"
    assert await page.evaluate("window.pwned") is None
    assert dialogs == []
    assert tracker.count == 0
    if shoot():
        await page.screenshot(path=str(SCREENSHOTS / "message-html.png"), full_page=True)


async def test_a_coordinator_cannot_open_another_organizations_message(
        site: Site, browser_page: Any) -> None:
    page = browser_page
    pair_a = await site.harness.make_pair(org="École A")
    pair_b = await site.harness.make_pair(org="École B")
    held_a = await send_held(site, pair_a, subject="Message de l'école A")
    held_b = await send_held(site, pair_b, subject="Message de l'école B")
    await log_in(page, site, "coord-a@program.example.org")
    assert "Message de l'école A" in await page.locator("table.queue").inner_text()
    assert "école B" not in await page.content()
    response = await page.goto(f"{site.base}/messages/{held_b}")
    assert response is not None and response.status == 404
    assert await page.locator(".error").inner_text() == "Introuvable."
    assert "école B" not in await page.content()
    response = await page.goto(f"{site.base}/messages/{held_a}")
    assert response is not None and response.status == 200
    assert await page.locator("#approve").count() == 0  # read-only


class AttackerSite:
    """Another origin serving a form that posts to the review page (no script needed)."""

    def __init__(self, target: str) -> None:
        form = (f"<form method='post' action='{target}'><input type='hidden' name='csrf' "
                "value='guessed'><button id='go'>Gagnez un prix</button></form>").encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(form)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://localhost:{self.server.server_address[1]}/"  # another site
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


async def test_posts_without_the_pages_csrf_token_change_nothing(
        site: Site, browser_page: Any, smarthost: Any) -> None:
    from gateway.review.held import get_message

    page = browser_page
    pair = await site.harness.make_pair(org="École A")
    held_id = await send_held(site, pair, subject="À protéger")
    await settle(site)
    before = len(smarthost.messages)
    await log_in(page, site)
    # A page on another site submits a form to the gateway while the moderator is logged in.
    attacker = AttackerSite(f"{site.base}/messages/{held_id}/approve")
    try:
        await page.goto(attacker.url)
        async with page.expect_navigation():
            await page.click("#go")
    finally:
        attacker.close()
    assert site.base in page.url and "/messages/" not in page.url
    # The page's own form with its token replaced (a stale or stolen page).
    await page.goto(f"{site.base}/messages/{held_id}")
    await page.locator("form[action$='/approve'] input[name=csrf]").evaluate(
        "input => { input.value = 'forged' }")
    async with page.expect_navigation() as navigation:
        await page.click("#approve")
    response = await navigation.value
    assert response is not None and response.status == 403
    assert "formulaire a expiré" in await page.locator(".error").inner_text()
    await settle(site)
    assert len(smarthost.messages) == before
    message = await site.harness.db.read(lambda s: get_message(s, held_id))
    assert message.state == "held"


async def test_six_wrong_passwords_in_a_row_are_throttled(site: Site, browser_page: Any) -> None:
    page = browser_page
    await page.goto(f"{site.base}/login")
    errors = []
    for _ in range(6):
        await page.fill("input[name=email]", "mod@program.example.org")
        await page.fill("input[name=password]", "pas le bon mot de passe")
        async with page.expect_navigation():
            await page.click("form[action='/login'] button[type=submit]")
        errors.append(await page.locator(".error").inner_text())
    assert errors[:5] == ["Wrong e-mail or password."] * 5  # Chromium asks for English
    assert "Try again in 15 minutes" in errors[5]
    await page.fill("input[name=email]", "mod@program.example.org")
    await page.fill("input[name=password]", PASSWORD)
    async with page.expect_navigation():
        await page.click("form[action='/login'] button[type=submit]")
    assert page.url == f"{site.base}/login"  # even the right password waits


async def test_a_link_from_another_site_keeps_the_moderator_logged_in(
        site: Site, browser_page: Any) -> None:
    page = browser_page
    await log_in(page, site)
    attacker = AttackerSite(f"{site.base}/queue")  # any other site, e.g. webmail
    try:
        await page.goto(attacker.url)
        await page.set_content(f"<a id='link' href='{site.base}/pairs'>les jumelages</a>")
        async with page.expect_navigation():
            await page.click("#link")
    finally:
        attacker.close()
    assert page.url == f"{site.base}/pairs"
    await page.goto(f"{site.base}/queue")
    assert page.url == f"{site.base}/queue"
