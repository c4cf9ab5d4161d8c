"""Chromium clears the queue the fast ways: keyboard, approve-and-next, select-all without JavaScript,
and the pages read well in French and English at desktop (1280 px) and phone (390 px) widths."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from gateway.clock import MovableClock
from tests.e2e.harness import PHONE_RULE
from tests.e2e.test_web_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    SCREENSHOTS,
    log_in,
    settle,
    shoot,
)
from tests.e2e.test_web_http import HOLD_ALL_RULE, Site, running_site, send_held

pytestmark = pytest.mark.e2e
RAW_WORDS = ("contact_details", "mentee_to_mentor", "mentor_to_mentee", "hold_all", "UTC")


@pytest.fixture
async def site(sqlite_url: str, tmp_path: Path, clock: MovableClock,
               smarthost: Any) -> AsyncIterator[Site]:
    # A shipped rule id (its label is translated) and a catch-all that holds everything else.
    hold_all = HOLD_ALL_RULE.replace("every message waits for a moderator (tests)", "Relecture")
    rules = {"contact_details.toml": PHONE_RULE, "hold_all.toml": hold_all}
    async with running_site(sqlite_url, tmp_path, clock, smarthost.port, rules) as running:
        yield running


@pytest.fixture
async def chromium() -> AsyncIterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (apt install chromium)")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


async def state_of(site: Site, message_id: int) -> str:
    from gateway.review.held import get_message

    return (await site.harness.db.read(lambda s: get_message(s, message_id))).state


async def test_keyboard_clears_the_queue_one_page_per_decision(site: Site, chromium: Any) -> None:
    pair = await site.harness.make_pair(org="École A")
    first, second, third = [await send_held(site, pair, subject=f"Sujet {n}",
                                            body=f"Texte {n} 514-555-000{n}\n") for n in range(3)]
    page = await (await chromium.new_context(viewport={"width": 1280, "height": 900})).new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    await log_in(page, site)
    await page.keyboard.press("j")  # the first row is current
    await page.keyboard.press("x")
    assert await page.locator(f"input[name=ids][value='{first}']").is_checked()
    await page.keyboard.press("?")
    assert await page.locator("#shortcuts").get_attribute("open") is not None
    await page.keyboard.press("o")
    await page.wait_for_url(f"**/messages/{first}")
    loads: list[str] = []
    documents: list[str] = []
    page.on("load", lambda p: loads.append(p.url))
    page.on("request", lambda r: documents.append(r.method) if r.resource_type == "document" else None)
    async with page.expect_navigation():
        await page.keyboard.press("a")  # approve and next
    assert await page.locator("h1").inner_text() == f"Message {second} en attente"
    assert page.url.endswith(f"/messages/{second}")  # its own address, not the POST's
    assert "1 message(s) approuvé(s)" in await page.locator(".flash").inner_text()
    await page.keyboard.press("r")  # focus the reason list
    await page.keyboard.press("ArrowDown")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")  # reject and next
    assert page.url.endswith(f"/messages/{third}")
    # One page load and one request (the decision's POST answers with the next message) each.
    assert len(loads) == 2 and documents == ["POST", "POST"]
    async with page.expect_navigation():
        await page.keyboard.press("a")
    await page.wait_for_url("**/queue")
    assert "Plus aucun message" in await page.locator(".flash").inner_text()
    assert [await state_of(site, i) for i in (first, second, third)] == ["queued", "rejected", "queued"]
    assert [e for e in errors if "Content Security Policy" in e] == []


async def test_without_javascript_everything_still_works(site: Site, chromium: Any,
                                                         smarthost: Any) -> None:
    pair = await site.harness.make_pair(org="École A")
    ids = [await send_held(site, pair, subject=f"Sujet {n}", body=f"Bonjour {n}\n") for n in range(3)]
    phone = await send_held(site, pair, subject="Numéro", body="Appelle au 514-555-1234\n")
    context = await chromium.new_context(java_script_enabled=False,
                                         viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await log_in(page, site)
    # The reason filter lists the loaded rules by their translated labels.
    options = await page.locator("#reason-filter option").all_inner_texts()
    assert "Coordonnées personnelles" in options and "contact_details" not in options
    await page.select_option("#reason-filter", "contact_details")
    await page.click("form.filters button[type=submit]")
    assert await page.locator("table.queue tbody tr").count() == 1
    # Approve and next stays in the filter: the filter is empty afterwards, back to the queue.
    await page.click("table.queue a.subject")
    await page.click("#approve-next")
    await page.wait_for_url("**/queue?reason=contact_details")
    assert await state_of(site, phone) == "queued"
    await page.goto(f"{site.base}/queue")
    await page.click("#select-all")  # a link: the page comes back with every box ticked
    assert all([await box.is_checked() for box in await page.locator("input[name=ids]").all()])
    await page.select_option("#queue-form fieldset select[name=reason_key]", "off_topic")
    await page.select_option(f"select[name=reason_{ids[1]}]", "contact")  # this one, its own
    await page.click("#bulk-reject")
    await page.wait_for_url("**/queue")
    assert "3 message(s) refusé(s)" in await page.locator(".flash").inner_text()
    await settle(site)
    notices = {m.data.decode("utf-8", "replace") for m in list(smarthost.messages)[-3:]}
    assert sum("coordonn=C3=A9es" in n or "coordonnées" in n for n in notices) == 1
    assert sum("cadre du programme" in n for n in notices) == 2


@pytest.mark.parametrize(("lang", "width"), [("fr", 1280), ("fr", 390), ("en", 1280), ("en", 390)])
async def test_pages_in_both_languages_fit_a_phone(site: Site, chromium: Any, lang: str,
                                                   width: int) -> None:
    pair = await site.harness.make_pair(org="École A")
    delivered = await send_held(site, pair, subject="Bonjour", body="Premier message.\n")
    from gateway.review.held import approve

    await site.harness.db.write(lambda s: approve(s, site.harness.app.settings, delivered,
                                                  actor="test", now=site.harness.clock.now()))
    await settle(site)
    held_id = await send_held(site, pair, subject="Mon numéro",
                              body="Appelle-moi au 514-555-1234 ce soir, après l'école.\n")
    page = await (await chromium.new_context(viewport={"width": width, "height": 800})).new_page()
    await log_in(page, site, "mod@program.example.org" if lang == "fr" else "mod-a@program.example.org")
    queue = await page.locator("main").inner_text()
    assert await page.title() == ("File d'attente" if lang == "fr" else "Review queue") + " · " + site.harness.app.settings.gateway.program_name
    zone = site.harness.app.settings.gateway.time_zone
    local = site.harness.clock.now().astimezone(ZoneInfo(zone))
    assert zone in queue and local.strftime("%H:%M ") + str(local.tzname()) in queue
    assert await page.evaluate("document.documentElement.scrollWidth") <= width
    if shoot():
        await page.screenshot(path=str(SCREENSHOTS / f"queue-{lang}-{width}.png"), full_page=True)
    await page.locator(f"tr[data-id='{held_id}'] a.subject").click()
    await page.wait_for_url(f"**/messages/{held_id}")
    text = await page.locator("main").inner_text()
    assert await page.evaluate("document.documentElement.scrollWidth") <= width
    for word in RAW_WORDS + (("delivered", "hold", "text") if lang == "fr" else ()):
        assert not re.search(rf"\b{word}\b", text), word
    if lang == "fr":
        assert "Coordonnées personnelles" in text and "livré" in text and "jeune → mentor" in text
    else:
        assert "Contact details" in text and "delivered" in text and "mentee → mentor" in text
    assert "Premier message." in text  # the history's excerpt
    assert await page.locator("#body mark").all_inner_texts() == ["514-555-1234"]
    if shoot():
        await page.screenshot(path=str(SCREENSHOTS / f"message-{lang}-{width}.png"), full_page=True)


async def test_severe_first_and_bulk_approve_skips_high_until_confirmed(site: Site,
                                                                        chromium: Any) -> None:
    """In Chromium: the most severe hold is listed first whatever its age; "select all" then
    "approve" leaves a `high` item held until its own Confirm box is ticked."""
    from datetime import timedelta

    from gateway.store.models import Message

    pair = await site.harness.make_pair(org="École A")
    older = await send_held(site, pair, subject="Ancien", body="Bonjour.\n")
    site.harness.clock.advance(timedelta(minutes=5))
    severe = await send_held(site, pair, subject="Grave", body="Bonjour encore.\n")

    def grade(session: Any) -> None:
        session.get(Message, older).severity = "low"
        session.get(Message, severe).severity = "high"

    await site.harness.db.write(grade)
    page = await (await chromium.new_context(viewport={"width": 1280, "height": 900})).new_page()
    await log_in(page, site)
    rows = page.locator("table.queue tbody tr")
    assert [await rows.nth(i).get_attribute("data-id") for i in range(2)] == [str(severe), str(older)]
    await page.click("#select-all")
    await page.wait_for_load_state("networkidle")
    assert await page.locator(f"input[name=ids][value='{severe}']").is_checked()
    async with page.expect_navigation():
        await page.click("#bulk-approve")
    assert [await state_of(site, severe), await state_of(site, older)] == ["held", "queued"]
    assert str(severe) in await page.locator("main").inner_text()  # says which one waits
    await page.goto(f"{site.base}/queue")
    await page.check(f"input[name=ids][value='{severe}']")
    await page.check(f"input[name=confirm][value='{severe}']")
    async with page.expect_navigation():
        await page.click("#bulk-approve")
    assert await state_of(site, severe) == "queued"
