"""The participants and CSV import pages: a coordinator imports into their own school only."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.test_web_browser import browser_page  # noqa: F401  (fixture)
from tests.e2e.test_web_http import Site, csrf_of, login, site  # noqa: F401  (fixture)

pytestmark = pytest.mark.e2e
CSV = ("courriel;prénom;nom;rôle;école;date de naissance;courriel du parent\n"
       "lea@eleves.example.net;Léa;Gagnon;jeune;;2010-03-14;\n"
       "noah@eleves.example.net;Noah;Roy;élève;;2015-09-02;\n"
       "marie@example.com;Marie;Tremblay;mentore;École B;1984;\n").encode("cp1252")


async def upload(client: httpx.AsyncClient, data: bytes, **fields: str) -> httpx.Response:
    form = await client.get("/import")
    assert form.status_code == 200
    return await client.post("/import", data={"csrf": csrf_of(form.text), **fields},
                             files={"file": ("eleves.csv", data, "text/csv")})


async def test_a_coordinator_imports_into_their_school_and_sees_only_it(site: Site) -> None:  # noqa: F811
    async with httpx.AsyncClient(base_url=site.base) as client:
        assert (await client.get("/import")).status_code in (303, 307)  # login first
        await login(client, "coord-a@program.example.org")
        # The coordinator's own school is forced, even if the form names another one.
        shown = await upload(client, CSV, org="École B")
        assert shown.status_code == 200
        assert 'data-line="3" data-code="guardian_missing"' in shown.text
        assert 'data-line="4" data-code="org_other"' in shown.text
        assert "1 ajoutée(s)" in shown.text
        listed = await client.get("/participants")
        assert "lea@eleves.example.net" in listed.text and "marie@example.com" not in listed.text
        workbook = await upload(client, b"PK\x03\x04\x00\x00binary")
        assert workbook.status_code == 400 and "pas un fichier CSV (un classeur .xlsx" in workbook.text
        no_csrf = await client.post("/import", files={"file": ("x.csv", CSV, "text/csv")})
        assert no_csrf.status_code == 403

    async with httpx.AsyncClient(base_url=site.base) as client:
        await login(client, "mod@program.example.org")  # no organization: sees and imports all
        dry = await upload(client, CSV.replace(b";2015-09-02;", b";2015-09-02;p@famille.example.net"),
                           org="", dry_run="1")
        assert "Vérification : 3 ligne(s) valide(s), 0 refusée(s)" in dry.text
        done = await upload(client, CSV.replace(b";2015-09-02;", b";2015-09-02;p@famille.example.net"))
        assert "2 ajoutée(s), 0 modifiée(s), 1 inchangée(s)" in done.text
        assert "1 demande(s) de consentement" in done.text
        assert "Consentement demandé au parent (lignes 3)" in done.text
        everyone = await client.get("/participants?role=mentee")
        assert "noah@eleves.example.net" in everyone.text and "attendu" in everyone.text

    async with httpx.AsyncClient(base_url=site.base) as client:
        await login(client, "coord-a@program.example.org")
        listed = await client.get("/participants")
        assert "noah@eleves.example.net" not in listed.text  # imported without a school
        assert "marie@example.com" not in listed.text  # École B


@pytest.fixture
async def sqlite_site(sqlite_url: str, tmp_path: Any, clock: Any, smarthost: Any) -> Any:
    from tests.e2e.test_web_http import HOLD_ALL_RULE, running_site

    async with running_site(sqlite_url, tmp_path, clock, smarthost.port,
                            {"hold_all.toml": HOLD_ALL_RULE}) as running:
        yield running


async def test_import_in_chromium_shows_the_per_line_report(sqlite_site: Site, browser_page: Any,  # noqa: F811
                                                            tmp_path: Any) -> None:
    from tests.e2e.test_web_browser import log_in

    page = browser_page
    sample = tmp_path / "eleves.csv"
    sample.write_bytes(CSV)
    await log_in(page, sqlite_site, "coord-a@program.example.org")
    await page.click("a[href='/participants']")
    await page.click("a[href='/import']")
    await page.set_input_files("input[name=file]", str(sample))
    await page.click("form[action='/import'] button[type=submit]")
    await page.wait_for_selector(".import-report")
    rows = await page.locator("table.problems tbody tr").all_inner_texts()
    assert [r.split("\t")[:2] for r in rows] == [["3", "courriel du parent"], ["4", "école"]]
    assert "moins de 14 ans" in rows[0] and "l'organisation de ce fichier" in rows[1]
    assert "1 ajoutée(s)" in await page.locator(".summary").inner_text()
    await page.click("a[href='/participants']")
    assert "lea@eleves.example.net" in await page.locator("table.participants").inner_text()
