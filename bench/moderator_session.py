"""A scripted moderator clears 50 held messages in Chromium: page loads, requests and time per decision.

Seeds 50 held messages of mixed reasons (contact details, first message, profanity, social links,
grooming; some with an HTML part), logs in, then clears the queue in each way the page offers:

- `mouse`: queue -> click the subject -> read -> Approve (or pick a reason and Reject) -> back on
  the queue (the only way before issue 16);
- `mouse-next`: open the oldest message, then Approve and next / Reject and next;
- `keyboard`: open the oldest message, then `a` (approve and next) or `r` + Enter (reject and next).

Messages with a contact-details hit are rejected ("contact"), the others approved.

    .venv/bin/python bench/moderator_session.py [--held 50] [--modes mouse,mouse-next,keyboard]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select  # noqa: E402

from gateway.app import App  # noqa: E402
from gateway.clock import MovableClock  # noqa: E402
from gateway.config import Settings  # noqa: E402
from gateway.program.staff import add_staff  # noqa: E402
from gateway.store.models import Alias, Message, Organization, Pair, Participant  # noqa: E402
from gateway.web.server import start_web  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PASSWORD = "bench password 123"
MODERATOR = "bench@program.example.org"
KINDS: list[tuple[str, str, str]] = [
    ("contact_details", "Appelle-moi au 514-555-1234 ce soir après l'école.", "514-555-1234"),
    ("first_message", "Bonjour ! Je suis en secondaire 4 et j'aime la biologie.", ""),
    ("profanity", "Ce cours est vraiment merdique, je sais pas quoi faire.", "merdique"),
    ("social_links", "Ajoute-moi : https://instagram.com/jeune.exemple", "instagram.com"),
    ("grooming", "On pourrait se voir samedi, mais le dis pas à tes parents.", "le dis pas à tes parents"),
]


def raw_message(n: int, body: str, html: bool) -> bytes:
    head = (f"From: jeune{n}@example.net\r\nTo: alias@mentor.test\r\nSubject: Question {n}\r\n"
            "MIME-Version: 1.0\r\n")
    text = f"{body}\r\n\r\nMerci !\r\n" + "Du texte pour lire un peu. " * 20 + "\r\n"
    if not html:
        return (head + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + text).encode()
    return (head + 'Content-Type: multipart/alternative; boundary="b"\r\n\r\n--b\r\n'
            "Content-Type: text/plain; charset=utf-8\r\n\r\n" + text + "\r\n--b\r\n"
            "Content-Type: text/html; charset=utf-8\r\n\r\n<p>" + body + "</p><p>Merci !</p>\r\n"
            "--b--\r\n").encode()


def seed(session: Any, held: int, now: datetime) -> None:
    org = Organization(name="École A", created_at=now)
    session.add(org)
    session.flush()
    people = [Participant(email=f"p{i}@example.net", display_name=f"P {i}",
                          role="mentor" if i % 2 == 0 else "mentee", created_at=now, org_id=org.id)
              for i in range(held * 2)]
    session.add_all(people)
    session.flush()
    pairs = [Pair(mentor_id=int(people[2 * i].id or 0), mentee_id=int(people[2 * i + 1].id or 0),
                  org_id=org.id, created_at=now) for i in range(held)]
    session.add_all(pairs)
    session.flush()
    session.add_all([Alias(local_part=f"a{p.id}-{who}", pair_id=p.id, participant_id=who,
                           created_at=now) for p in pairs for who in (p.mentor_id, p.mentee_id)])
    rows = []
    for n in range(held):
        rule, body, evidence = KINDS[n % len(KINDS)]
        start = body.find(evidence) if evidence else 0
        hit = {"rule": rule, "action": "hold", "field": "text", "evidence": evidence,
               "start": start, "end": start + len(evidence), "reason_fr": "r", "reason_en": "r"}
        rows.append({"pair_id": pairs[n].id, "sender_id": pairs[n].mentee_id,
                     "recipient_id": pairs[n].mentor_id, "direction": "mentee_to_mentor",
                     "state": "held", "source": "smtp", "envelope_from": f"p{n}@example.net",
                     "dedup_key": f"bench-{n}", "size": 1500,
                     "raw": raw_message(n, body, html=n % 4 == 0), "subject": f"Question {n}",
                     "received_at": now - timedelta(minutes=held - n), "updated_at": now,
                     "hits_json": json.dumps([hit])})
    session.execute(insert(Message), rows)
    add_staff(session, email=MODERATOR, name="Bench", role="moderator", now=now, password=PASSWORD,
              lang="fr")


@dataclass
class Tally:
    loads: int = 0
    requests: int = 0  # what the browser asked for, memory-cache hits included
    served: int = 0  # what reached the server
    bytes: int = 0


SERVER = Tally()


def count_served() -> None:
    """Count the HTTP requests the server answers (a cached stylesheet never reaches it)."""
    from gateway.web import site

    original = site.SecurityHeaders.__call__

    async def counting(self: Any, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            SERVER.served += 1
        await original(self, scope, receive, send)

    site.SecurityHeaders.__call__ = counting  # type: ignore[method-assign]


async def held_count(app: App) -> int:
    return int(await app.db.read(lambda s: s.execute(
        select(func.count()).select_from(Message).where(Message.state == "held")).scalar_one()))


async def is_contact(page: Any) -> bool:
    if await page.locator("[data-rule=contact_details]").count():
        return True
    return "contact_details" in await page.locator(".hits").first.inner_text()


async def click(page: Any, selector: str) -> None:
    # A pointer click right after the load was sometimes lost in headless Chromium (no request
    # sent); a dispatched click is what the button receives from a mouse, every time.
    await page.locator(selector).dispatch_event("click")


async def clear_with_mouse(page: Any, base: str, held: int) -> None:
    """Before issue 16: each decision starts from the queue."""
    await page.goto(f"{base}/queue")
    for _ in range(held):
        await page.locator("table.queue a.subject").first.click()
        await page.wait_for_url("**/messages/*")
        if await is_contact(page):
            await page.select_option("form[action$='/reject'] select[name=reason_key]", "contact")
            await click(page, "#reject")
        else:
            await click(page, "#approve")
        await page.wait_for_url("**/queue")


async def clear_with_next(page: Any, base: str, held: int, keyboard: bool) -> None:
    await page.goto(f"{base}/queue")
    async with page.expect_navigation():
        await page.locator("table.queue a.subject").first.click()
    for _ in range(held):
        contact = await is_contact(page)
        async with page.expect_navigation():
            if keyboard and contact:
                await page.keyboard.press("r")  # focuses the reason list
                await page.keyboard.press("ArrowDown")  # the first reason: contact details
                await page.keyboard.press("Enter")  # reject and next
            elif keyboard:
                await page.keyboard.press("a")
            elif contact:
                await page.select_option("#reject-form select[name=reason_key]", "contact")
                await click(page, "#reject-next")
            else:
                await click(page, "#approve-next")


async def run_mode(mode: str, held: int, folder: Path) -> dict[str, float]:
    rules = folder / mode / "rules"
    (rules / "wordlists").mkdir(parents=True)
    settings = Settings().replace(
        gateway={"domain": "mentor.test", "rules_dir": str(rules),
                 "templates_dir": str(ROOT / "templates"), "instance_name": "bench"},
        database={"url": f"sqlite:///{folder / mode / 'bench.db'}"}, smtp={"port": 0},
        outbound={"mode": "maildir", "maildir": str(folder / mode / "out")},
        moderation={"moderator_notices": "off"})
    clock = MovableClock(datetime(2026, 1, 5, 15, 0, tzinfo=UTC))
    app = App(settings, clock=clock, background=False)
    await app.start()
    await app.db.write(lambda s: seed(s, held, clock.now()))
    web = await start_web(app, host="127.0.0.1", port=0)
    base = f"http://127.0.0.1:{web.port}"
    from playwright.async_api import async_playwright

    try:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = await (await browser.new_context(viewport={"width": 1280, "height": 900})).new_page()
            await page.goto(f"{base}/login")
            await page.fill("input[name=email]", MODERATOR)
            await page.fill("input[name=password]", PASSWORD)
            await page.click("form[action='/login'] button[type=submit]")
            await page.wait_for_url(f"{base}/queue")
            tally = Tally()
            page.on("load", lambda _: setattr(tally, "loads", tally.loads + 1))
            page.on("request", lambda _: setattr(tally, "requests", tally.requests + 1))

            async def count_bytes(response: Any) -> None:
                with contextlib.suppress(Exception):  # a redirect has no body
                    tally.bytes += len(await response.body())

            page.on("response", lambda r: asyncio.ensure_future(count_bytes(r)))
            SERVER.served = 0
            start = time.perf_counter()
            try:
                if mode == "mouse":
                    await clear_with_mouse(page, base, held)
                else:
                    await clear_with_next(page, base, held, keyboard=mode == "keyboard")
            except Exception:
                print(page.url, (await page.inner_text("main"))[:2000], file=sys.stderr)
                raise
            elapsed = time.perf_counter() - start
            await asyncio.sleep(0.2)
            await browser.close()
        left = await held_count(app)
    finally:
        await web.stop()
        await app.stop()
    if left:
        raise SystemExit(f"{mode}: {left} messages still held")
    return {"loads": tally.loads / held, "requests": tally.requests / held,
            "served": SERVER.served / held,
            "kb": tally.bytes / held / 1024, "seconds": elapsed, "per_decision_ms": elapsed / held * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--held", type=int, default=50)
    parser.add_argument("--modes", default="mouse,mouse-next,keyboard")
    args = parser.parse_args()
    count_served()
    print(f"{'mode':<11} {'loads/dec':>9} {'browser req/dec':>15} {'served req/dec':>14} "
          f"{'KB/dec':>7} {'total s':>8} {'ms/dec':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        for mode in args.modes.split(","):
            r = asyncio.run(run_mode(mode, args.held, Path(tmp)))
            print(f"{mode:<11} {r['loads']:>9.2f} {r['requests']:>15.2f} {r['served']:>14.2f} "
                  f"{r['kb']:>7.1f} "
                  f"{r['seconds']:>8.1f} {r['per_decision_ms']:>7.0f}")


if __name__ == "__main__":
    main()
