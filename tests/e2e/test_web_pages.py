"""The review page's content over HTTP against the real gateway: queue rows, filters and pages; the
message page (history, headers, attachments, redaction, pause); the pairs page; FR/EN.

SQLite and PostgreSQL (db_url); test_web_http.py covers login, CSRF, throttling and scopes.
"""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.clock import MovableClock
from gateway.program.service import find_organization, pair_view
from gateway.web.i18n import state_label
from tests.e2e.harness import PHONE_RULE, PairInfo, simple_message
from tests.e2e.moderation_helpers import render_threads
from tests.e2e.test_web_http import (
    HOLD_ALL_RULE,
    Site,
    csrf_of,
    login,
    running_site,
    send_held,
)

pytestmark = pytest.mark.e2e
MOD = "mod@program.example.org"  # every organization, French
MOD_A = "mod-a@program.example.org"  # École A, English
COORD_A = "coord-a@program.example.org"  # École A, read-only + pause


@pytest.fixture
async def site(db_url: str, tmp_path: Path, clock: MovableClock,
               smarthost: Any) -> AsyncIterator[Site]:
    rules = {"phone.toml": PHONE_RULE, "hold_all.toml": HOLD_ALL_RULE}
    async with running_site(db_url, tmp_path, clock, smarthost.port, rules) as running:
        yield running


@pytest.fixture
async def phone_site(db_url: str, tmp_path: Path, clock: MovableClock,
                     smarthost: Any) -> AsyncIterator[Site]:
    """Only phone numbers are held: other mail flows, unless its pair is paused."""
    async with running_site(db_url, tmp_path, clock, smarthost.port,
                            {"phone.toml": PHONE_RULE}) as running:
        yield running


def text_of(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def queue_rows(page: str) -> dict[int, str]:
    """Held message id -> the row's visible text, in page order."""
    return {int(i): text_of(row) for i, row in re.findall(r'<tr data-id="(\d+)"[^>]*>(.*?)</tr>', page, re.S)}


def pair_rows(page: str) -> dict[int, str]:
    return {int(i): text_of(row) for i, row in re.findall(r'<tr data-pair="(\d+)">(.*?)</tr>', page, re.S)}


async def org_id(site: Site, name: str) -> int:
    org = await site.harness.db.read(lambda s: find_organization(s, name))
    assert org is not None and org.id is not None
    return int(org.id)


async def pair_state(site: Site, pair_id: int) -> str:
    settings = site.harness.settings
    return str((await site.harness.db.read(lambda s: pair_view(s, settings, pair_id))).state)


async def test_queue_shows_age_org_pair_direction_reasons_first_line_and_filters(site: Site) -> None:
    harness = site.harness
    pair_a = await harness.make_pair(org="École A")
    pair_b = await harness.make_pair(org="École B")
    first = await send_held(site, pair_a, subject="Mon numéro",
                            body="Salut !\nAppelle-moi au 514-555-1234 ce soir.\n")
    harness.clock.advance(timedelta(hours=3))
    raw = simple_message(pair_b.mentor_email, pair_b.mentee_alias, "Bonjour Léa",
                         "> une citation d'avant\nPremière ligne du mentor.\nSuite.\n")
    assert (await harness.send(pair_b.mentor_email, [pair_b.mentee_alias], raw)).code == 250
    await harness.pump()
    async with httpx.AsyncClient(base_url=site.base) as client:
        await login(client, MOD)
        page = (await client.get("/queue")).text
        rows = queue_rows(page)
        assert "2 message(s) en attente" in page
        assert len(rows) == 2 and list(rows)[0] == first  # oldest first
        second = list(rows)[1]
        assert "3 h" in rows[first] and "École A" in rows[first] and "jeune → mentor" in rows[first]
        assert f" {pair_a.id} " in f" {rows[first]} "
        # Rules by their label (a test rule's description), not their file name.
        assert "phone numbers (tests)" in rows[first] and "every message waits" in rows[first]
        assert "Mon numéro" in rows[first] and "Salut !" in rows[first]
        assert "0 min" in rows[second] and "École B" in rows[second]
        assert "mentor → jeune" in rows[second] and "phone numbers" not in rows[second]
        assert "Première ligne du mentor." in rows[second] and "citation" not in rows[second]

        assert list(queue_rows((await client.get("/queue?reason=phone")).text)) == [first]
        org_b = await org_id(site, "École B")
        assert list(queue_rows((await client.get(f"/queue?org={org_b}")).text)) == [second]
        assert list(queue_rows((await client.get(f"/queue?pair={pair_a.id}")).text)) == [first]
        assert queue_rows((await client.get("/queue?reason=nothing_like_this")).text) == {}
    async with httpx.AsyncClient(base_url=site.base) as client:
        await login(client, MOD_A)  # scoped to École A: the organization filter cannot widen it
        assert list(queue_rows((await client.get("/queue")).text)) == [first]
        assert queue_rows((await client.get(f"/queue?org={org_b}")).text) == {}


async def test_queue_pages_hold_fifty_rows(site: Site) -> None:
    harness = site.harness
    pair = await harness.make_pair(org="École A")
    for n in range(51):
        data = simple_message(pair.mentee_email, pair.mentor_alias, f"Message {n}", f"Texte {n}\n")
        assert (await harness.send(pair.mentee_email, [pair.mentor_alias], data)).code == 250
        harness.clock.advance(timedelta(seconds=1))
    await harness.pump()
    async with httpx.AsyncClient(base_url=site.base) as client:
        await login(client, MOD)
        first = (await client.get("/queue")).text
        assert "51 message(s) en attente" in first and "Page 1 sur 2" in first
        first_rows = queue_rows(first)
        assert len(first_rows) == 50
        assert "Message 0 " in next(iter(first_rows.values())) + " "
        assert 'href="/queue?page=2' in first
        second = (await client.get("/queue?page=2")).text
        assert "Page 2 sur 2" in second
        assert [text.split("Message ")[1].split()[0] for text in queue_rows(second).values()] == ["50"]


def with_attachment(pair: PairInfo, subject: str, body: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = pair.mentee_email
    msg["To"] = pair.mentor_alias
    msg["Subject"] = subject
    msg["Message-ID"] = "<piece.jointe@client.example.com>"
    msg.set_content(body)
    msg.add_attachment(b"%PDF-1.4 notes", maintype="application", subtype="pdf",
                       filename="notes-de-stage.pdf")
    return msg.as_bytes(policy=SMTP_POLICY)


async def test_message_page_history_headers_attachments_redaction_and_pause(
        site: Site, smarthost: Any) -> None:
    harness = site.harness
    pair = await harness.make_pair(org="École A")
    earlier = await send_held(site, pair, subject="Premier message")
    async with httpx.AsyncClient(base_url=site.base) as client:
        await login(client, MOD)
        token = csrf_of((await client.get("/queue")).text)
        await client.post(f"/messages/{earlier}/reject", data={"csrf": token, "reason_key": "off_topic"})
        held_id = await send_held(site, pair, raw=with_attachment(
            pair, "Mon numéro", "Voici mon numéro : 514-555-1234. À bientôt !\n"))
        page = (await client.get(f"/messages/{held_id}")).text
        assert "notes-de-stage.pdf" in page and "application/pdf" in page
        assert "<details><summary>En-têtes</summary>" in page  # headers on demand
        assert "piece.jointe@client.example.com" in page
        history = re.search(r'<table class="history">(.*?)</table>', page, re.S)
        assert history is not None
        assert f'href="/messages/{earlier}"' in history.group(1)
        assert state_label("fr", "rejected") in text_of(history.group(1))
        assert "Premier message" in text_of(history.group(1))

        paused = await client.post(f"/pairs/{pair.id}/pause",
                                   data={"csrf": token, "next": f"/messages/{held_id}"})
        assert (paused.status_code, paused.headers["location"]) == (303, f"/messages/{held_id}")
        assert await pair_state(site, pair.id) == "paused"

        smarthost.clear()
        done = await client.post(f"/messages/{held_id}/approve_redacted", data={"csrf": token})
        assert done.status_code == 303
    await harness.pump()
    delivered = [m for m in smarthost.messages if list(m.rcpt_tos) == [pair.mentor_email]]
    assert len(delivered) == 1
    msg = message_from_bytes(delivered[0].data, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    body = msg.get_body(("plain",))
    assert body is not None
    text = str(body.get_content())
    assert "[retiré / removed]" in text and "514-555-1234" not in text and "À bientôt" in text
    assert [p.get_filename() for p in msg.iter_attachments()] == ["notes-de-stage.pdf"]


async def test_pairs_page_search_pause_resume_close_and_coordinator_limits(
        phone_site: Site, smarthost: Any) -> None:
    site = phone_site
    harness = site.harness
    a1 = await harness.make_pair(org="École A")
    a2 = await harness.make_pair(org="École A")
    b1 = await harness.make_pair(org="École B")
    async with httpx.AsyncClient(base_url=site.base) as client:
        await login(client, MOD)
        everything = pair_rows((await client.get("/pairs")).text)
        assert set(everything) == {a1.id, a2.id, b1.id}
        assert list(pair_rows((await client.get(f"/pairs?q={a1.mentee_email}")).text)) == [a1.id]
        assert list(pair_rows((await client.get(f"/pairs?q={b1.id}")).text)) == [b1.id]
        token = csrf_of((await client.get("/pairs")).text)
        paused = await client.post(f"/pairs/{a1.id}/pause", data={"csrf": token})
        assert paused.status_code == 303
        page = (await client.get("/pairs")).text
        assert f"Jumelage {a1.id} : en pause." in page
        assert "Reprendre le jumelage" in pair_rows(page)[a1.id]
        assert await pair_state(site, a1.id) == "paused"

    # While paused, mail between the two waits for a moderator instead of going through.
    await harness.pump()  # the introductions
    smarthost.clear()
    held_id = await send_held(site, a1, subject="Pendant la pause")
    assert [m for m in smarthost.messages if list(m.rcpt_tos) == [a1.mentor_email]] == []

    async with httpx.AsyncClient(base_url=site.base) as client:
        await login(client, COORD_A)
        seen = pair_rows((await client.get("/pairs")).text)
        assert set(seen) == {a1.id, a2.id}  # never École B's pairs
        assert "Reprendre" not in seen[a1.id] and "Fermer" not in seen[a2.id]
        token = csrf_of((await client.get("/pairs")).text)
        assert (await client.post(f"/pairs/{a1.id}/resume", data={"csrf": token})).status_code == 403
        assert (await client.post(f"/pairs/{a2.id}/close", data={"csrf": token})).status_code == 403
        assert (await client.post(f"/pairs/{a2.id}/pause", data={"csrf": token})).status_code == 303
        queue = queue_rows((await client.get("/queue")).text)
        assert "pair_paused" in queue[held_id]
    assert (await pair_state(site, a1.id), await pair_state(site, a2.id)) == ("paused", "paused")

    async with httpx.AsyncClient(base_url=site.base) as client:
        await login(client, MOD)
        token = csrf_of((await client.get("/pairs")).text)
        assert (await client.post(f"/pairs/{a1.id}/resume", data={"csrf": token})).status_code == 303
        assert await pair_state(site, a1.id) == "active"
        assert (await client.post(f"/pairs/{a1.id}/close", data={"csrf": token})).status_code == 303
        assert list(pair_rows((await client.get("/pairs?state=closed")).text)) == [a1.id]
        audit = text_of((await client.get("/audit")).text)
    for who in (MOD, COORD_A):
        assert who in audit
    for action in ("pause", "resume", "close"):
        assert action in audit


async def test_interface_speaks_french_and_english(site: Site) -> None:
    pair = await site.harness.make_pair(org="École A")
    await send_held(site, pair)
    async with httpx.AsyncClient(base_url=site.base) as client:
        assert "<h1>Connexion</h1>" in (await client.get("/login")).text
        english = await client.get("/login", headers={"accept-language": "en-CA,en;q=0.8"})
        assert "<h1>Log in</h1>" in english.text and '<html lang="en">' in english.text
    async with httpx.AsyncClient(base_url=site.base) as client:
        await login(client, MOD_A)  # the account's language is English
        page = (await client.get("/queue")).text
        assert "<h1>Review queue</h1>" in page and "1 held message(s)" in page
        assert "Personal contact details (phone, address, social media)" in page  # common reasons
        switched = await client.post("/lang", data={"csrf": csrf_of(page), "lang": "fr",
                                                    "next": "/queue"})
        assert (switched.status_code, switched.headers["location"]) == (303, "/queue")
        page = (await client.get("/queue")).text
        assert "<h1>File d&#39;attente</h1>" in page and '<html lang="fr">' in page
        assert "Les coordonnées personnelles" in page
        assert "<h1>Jumelages</h1>" in (await client.get("/pairs")).text  # the choice stays
    async with httpx.AsyncClient(base_url=site.base) as client:
        await login(client, MOD)
        assert "<h1>File d&#39;attente</h1>" in (await client.get("/queue")).text


async def test_no_page_shows_another_organizations_data(site: Site) -> None:
    harness = site.harness
    pair_a = await harness.make_pair(org="École A")
    pair_b = await harness.make_pair(org="École B")
    held_a = await send_held(site, pair_a, subject="Sujet de l'école A")
    held_b = await send_held(site, pair_b, subject="Sujet de l'école B")
    org_b = await org_id(site, "École B")
    async with httpx.AsyncClient(base_url=site.base) as client:
        await login(client, MOD)
        token = csrf_of((await client.get("/queue")).text)
        await client.post(f"/pairs/{pair_b.id}/pause", data={"csrf": token})  # an audit entry
    for who in (COORD_A, MOD_A):
        async with httpx.AsyncClient(base_url=site.base) as client:
            await login(client, who)
            pages = [await client.get(path) for path in (
                "/queue", f"/queue?org={org_b}", f"/queue?pair={pair_b.id}", "/pairs",
                f"/pairs?q={pair_b.id}", f"/pairs?q={pair_b.mentee_email}", "/audit",
                f"/messages/{held_a}")]
            for page in pages:
                assert page.status_code == 200, page.url
                # (the search box repeats what was typed, nothing more)
                text = html.unescape(page.text).replace(f'value="{pair_b.mentee_email}"', "")
                assert "école B" not in text and pair_b.mentee_email not in text, (who, page.url)
                assert f"/messages/{held_b}" not in text, (who, page.url)
            assert "école A" in html.unescape(pages[0].text)
            assert held_b not in queue_rows(pages[2].text) and pair_b.id not in pair_rows(pages[4].text)
            assert (await client.get(f"/messages/{held_b}")).status_code == 404
            token = csrf_of(pages[0].text)
            refused = await client.post(f"/pairs/{pair_b.id}/resume" if who == MOD_A else
                                        f"/pairs/{pair_b.id}/pause", data={"csrf": token})
            assert refused.status_code == 404
    assert await pair_state(site, pair_b.id) == "paused"


async def test_logout_needs_the_token_and_ends_the_session(site: Site) -> None:
    async with httpx.AsyncClient(base_url=site.base) as client:
        await login(client, MOD)
        page = await client.get("/queue")
        assert page.status_code == 200
        assert (await client.post("/logout", data={})).status_code == 403  # no cross-site logout
        assert (await client.get("/queue")).status_code == 200
        done = await client.post("/logout", data={"csrf": csrf_of(page.text)})
        assert (done.status_code, done.headers["location"]) == (303, "/login")
        for path in ("/queue", "/pairs", "/audit"):
            gone = await client.get(path)
            assert (gone.status_code, gone.headers["location"]) == (303, "/login"), path


async def test_high_severity_comes_first_and_is_never_approved_in_bulk_unconfirmed(site: Site) -> None:
    from gateway.review.held import get_message
    from gateway.store.models import Message

    pair = await site.harness.make_pair(org="École A")
    older = await send_held(site, pair, subject="Ancien", body="Bonjour.\n")
    site.harness.clock.advance(timedelta(minutes=5))
    severe = await send_held(site, pair, subject="Grave", body="Bonjour encore.\n")

    def mark(session: Any) -> None:
        session.get(Message, older).severity = "low"
        session.get(Message, severe).severity = "high"

    await site.harness.db.write(mark)
    async with httpx.AsyncClient(base_url=site.base) as client:
        await login(client, MOD)
        page = (await client.get("/queue")).text
        assert list(queue_rows(page)) == [severe, older]  # most severe first, then oldest
        form = {"csrf": csrf_of(page), "action": "approve", "ids": [str(severe), str(older)]}
        done = await client.post("/queue/decide", data=form, follow_redirects=True)
        assert "1 message(s) approuvé(s)" in done.text and f"gravité élevée : {severe}" in done.text
        states = [(await site.harness.db.read(lambda s, i=i: get_message(s, i))).state
                  for i in (severe, older)]
        assert states == ["held", "queued"]
        form["confirm"] = str(severe)
        await client.post("/queue/decide", data=form)
        assert (await site.harness.db.read(lambda s: get_message(s, severe))).state == "queued"


@pytest.mark.parametrize("action", ["approve", "approve_redacted"])
async def test_approving_on_the_page_renders_the_forward_outside_the_writer(
        site: Site, smarthost: Any, monkeypatch: pytest.MonkeyPatch, action: str) -> None:
    """The rewrite of a large message takes seconds, and on SQLite the single writer would
    hold every incoming message meanwhile: the page renders it in a read transaction first."""
    pair = await site.harness.make_pair(org="École A")
    held_id = await send_held(site, pair, body="Mon rapport de stage. Mon numéro : 514-555-1234.\n")
    threads = render_threads(monkeypatch)
    async with httpx.AsyncClient(base_url=site.base) as client:
        await login(client, MOD)
        token = csrf_of((await client.get(f"/messages/{held_id}")).text)
        done = await client.post(f"/messages/{held_id}/{action}", data={"csrf": token})
        assert done.status_code in (200, 303)
    assert threads and all(name.startswith("db-r") for name in threads), threads
    await site.harness.pump()
    [text] = [body.get_content() for m in smarthost.messages if pair.mentor_email in m.rcpt_tos
              for body in [message_from_bytes(m.data, policy=policy.default).get_body(("plain",))]
              if body is not None and "Mon rapport de stage" in body.get_content()]
    assert ("514-555-1234" in text) == (action == "approve")
