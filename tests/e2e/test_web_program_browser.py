"""Chromium opens the program dashboard in French and English: the SVG plots render under the
page's CSP (no script anywhere), the figures read right, and the language switch works.

SQLite only, like test_web_browser.py: the HTTP tests of the same routes run on both databases.
GATEWAY_WEB_SCREENSHOTS=1 refreshes docs/img/program-fr.png and docs/img/program-en.png.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.clock import MovableClock
from tests.e2e.harness import PHONE_RULE
from tests.e2e.test_web_browser import SCREENSHOTS, browser_page, log_in, shoot  # noqa: F401
from tests.e2e.test_web_http import Site, running_site
from tests.e2e.test_web_program import program_traffic
from tests.unit.insights.seed import NOW, seed_program

pytestmark = pytest.mark.e2e


@pytest.fixture
async def site(sqlite_url: str, tmp_path: Path, clock: MovableClock,
               smarthost: Any) -> AsyncIterator[Site]:
    async with running_site(sqlite_url, tmp_path, clock, smarthost.port,
                            {"phone.toml": PHONE_RULE}) as running:
        yield running


async def test_dashboard_in_french_and_english(site: Site, browser_page: Any,  # noqa: F811
                                               clock: MovableClock, tmp_path: Path) -> None:
    clock.set(NOW - timedelta(days=30, hours=6))
    await site.harness.db.write(lambda s: seed_program(s, org_names=("École C", "École D"),
                                                            unprocessed=False))
    await program_traffic(site, clock)  # ends 30 days later: NOW (figures computed afresh)
    page = browser_page
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security" in m.text else None)
    await log_in(page, site)
    for lang, heading, answers in (("fr", "Tableau de bord du programme", "Le mentor répond"),
                                   ("en", "Program dashboard", "Mentor answers")):
        if lang == "en":
            await page.click("form[action='/lang'] button")
        await page.goto(f"{site.base}/program")
        await page.wait_for_load_state("networkidle")
        assert await page.locator("h1").inner_text() == heading
        assert answers in await page.locator("#response-table").inner_text()
        charts = page.locator("img.chart")
        assert await charts.count() == 2
        for index in range(2):
            chart = charts.nth(index)
            size = await chart.evaluate("img => [img.complete, img.naturalWidth, img.naturalHeight]")
            assert size == [True, 820, 320], "the SVG plot is drawn"
            assert "table" in (await chart.get_attribute("alt") or "")
            described = await chart.get_attribute("aria-describedby")
            assert await page.locator(f"#{described} tbody tr").count() > 0
        # The plots need no script: the only script is the site's own keyboard helper file.
        scripts = await page.evaluate("[...document.scripts].map(s => [s.src, s.text.trim()])")
        assert all(src.startswith(f"{site.base}/static/") and not text for src, text in scripts)
        assert int(await page.locator("[data-figure=active_pairs]").inner_text()) > 3
        path = SCREENSHOTS / f"program-{lang}.png" if shoot() else tmp_path / f"program-{lang}.png"
        await page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 20_000
    assert violations == []
