"""Program dashboard speed: 25,000 pairs and a year of traffic, /program over real HTTP for a year's
period (all organizations, and one organization), with GET /healthz as the baseline. Goal: < 500 ms.

    .venv/bin/python bench/dashboard.py [--pairs 25000] [--requests 10] [--database-url URL] [--seeded]

Each view is timed computed afresh ([insights] cache_seconds = 0) and served from the figures cache
(the default: computed at most every 5 minutes, the default views ahead of time).

The year: 70 % of pairs start, a started pair writes a geometric number of messages (mean ~12,
alternating sides most of the time, gaps of minutes to weeks), 7 % of messages held and decided,
a reminder for a quarter of the pairs, and three audit rows per message as `serve` writes them.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402

from gateway.app import App  # noqa: E402
from gateway.clock import MovableClock  # noqa: E402
from gateway.config import Settings  # noqa: E402
from gateway.program.staff import add_staff  # noqa: E402
from gateway.store.models import (  # noqa: E402
    AuditEvent,
    Message,
    Organization,
    Outbox,
    Pair,
    Participant,
)
from gateway.web.server import start_web  # noqa: E402

PASSWORD = "bench password 123"
ORGS = 50
NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
YEAR = timedelta(days=365)
GAPS = [300, 3600, 4 * 3600, 20 * 3600, 2 * 86400, 5 * 86400, 12 * 86400, 30 * 86400]


def _people_and_pairs(session: Any, pairs: int, rng: random.Random) -> list[tuple[int, int, int]]:
    orgs = [Organization(name=f"École {i}", created_at=NOW - YEAR) for i in range(ORGS)]
    session.add_all(orgs)
    session.flush()
    org_ids = [int(o.id or 0) for o in orgs]
    people = [{"email": f"p{i}@example.net", "display_name": f"P {i}",
               "role": "mentor" if i % 2 == 0 else "mentee", "lang": "fr", "minor": i % 2 == 1,
               "reminders_opt_out": False, "created_at": NOW - YEAR,
               "org_id": org_ids[(i // 2) % ORGS]} for i in range(pairs * 2)]
    session.execute(insert(Participant), people)
    first = session.execute(text("SELECT min(id) FROM participant")).scalar_one()
    rows = [{"mentor_id": first + 2 * i, "mentee_id": first + 2 * i + 1, "org_id": org_ids[i % ORGS],
             "state": "active" if rng.random() < 0.9 else rng.choice(["paused", "closed"]),
             "created_at": NOW - YEAR + timedelta(seconds=rng.randrange(300 * 86400)),
             "delivered_count": 0, "forwarded_count": 0} for i in range(pairs)]
    session.execute(insert(Pair), rows)
    first_pair = session.execute(text("SELECT min(id) FROM pair")).scalar_one()
    return [(first_pair + i, first + 2 * i, first + 2 * i + 1) for i in range(pairs)]


def seed(session: Any, pairs: int) -> tuple[int, int]:
    """Rows straight into the tables (fast); returns (messages, one organization's id)."""
    rng = random.Random(15)
    made = _people_and_pairs(session, pairs, rng)
    created = dict(session.execute(text("SELECT id, created_at FROM pair")).all())
    messages: list[dict[str, Any]] = []
    audits: list[dict[str, Any]] = []
    reminders: list[dict[str, Any]] = []
    raw = b"Subject: x\r\n\r\nBonjour\r\n"
    next_id = 1 + (session.execute(text("SELECT coalesce(max(id), 0) FROM message")).scalar_one())
    total = 0
    for pair_id, mentor, mentee in made:
        start = created[pair_id]
        start = datetime.fromisoformat(start) if isinstance(start, str) else start
        start = start.replace(tzinfo=UTC) if start.tzinfo is None else start
        if rng.random() < 0.25:
            at = start + timedelta(days=rng.randrange(5, 60))
            if at < NOW:
                reminders.append({"kind": "reminder", "pair_id": pair_id, "envelope_from": "b@x",
                                  "recipient": "r@x", "data": b"x", "state": "sent", "attempts": 1,
                                  "created_at": at, "next_attempt_at": at, "sent_at": at})
        if rng.random() > 0.7:
            continue
        at, from_mentee = start, rng.random() < 0.5
        while rng.random() > 1 / 12:
            at += timedelta(seconds=rng.choice(GAPS) * rng.uniform(0.5, 1.5))
            if at >= NOW:
                break
            from_mentee = from_mentee if rng.random() < 0.25 else not from_mentee
            held = rng.random() < 0.07
            state = "delivered" if not held or rng.random() < 0.8 else rng.choice(["rejected", "held"])
            messages.append({
                "id": next_id, "pair_id": pair_id, "sender_id": mentee if from_mentee else mentor,
                "recipient_id": mentor if from_mentee else mentee,
                "direction": "mentee_to_mentor" if from_mentee else "mentor_to_mentee",
                "state": state, "source": "smtp", "envelope_from": "x@example.net",
                "dedup_key": f"b{next_id}", "size": 100, "raw": raw, "received_at": at,
                "updated_at": at, "verdict": "hold" if held else "pass", "escalated": False,
                "auto_reply": False})
            for action, before, after in (("receive", None, "received"),
                                          ("held" if held else "queued", "received",
                                           "held" if held else "queued"),
                                          (state, "held" if held else "queued", state)):
                moment = at + timedelta(hours=rng.randrange(1, 30)) if held and before == "held" else at
                audits.append({"at": moment, "actor": "system", "subject_type": "message",
                               "subject_id": next_id, "action": action, "from_state": before,
                               "to_state": after})
            next_id += 1
        if len(messages) > 20_000:
            total += _flush(session, messages, audits)
    total += _flush(session, messages, audits)
    if reminders:
        session.execute(insert(Outbox), reminders)
    add_staff(session, email="bench@program.example.org", name="Bench", role="moderator", now=NOW,
              password=PASSWORD)
    add_staff(session, email="coord@program.example.org", name="Coord", role="coordinator",
              org="École 7", now=NOW, password=PASSWORD)
    return total, int(session.execute(text("SELECT id FROM organization WHERE name = 'École 7'"))
                      .scalar_one())


def _flush(session: Any, messages: list[dict[str, Any]], audits: list[dict[str, Any]]) -> int:
    count = len(messages)
    if messages:
        session.execute(insert(Message), messages)
        session.execute(insert(AuditEvent), audits)
    messages.clear()
    audits.clear()
    return count


async def timed(client: httpx.AsyncClient, path: str, count: int) -> list[float]:
    times: list[float] = []
    for _ in range(count):
        start = time.perf_counter()
        response = await client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return times


def summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {"p50": statistics.median(ordered), "max": ordered[-1]}


async def login(client: httpx.AsyncClient, email: str) -> None:
    page = await client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token is not None
    await client.post("/login", data={"csrf": token.group(1), "email": email, "password": PASSWORD})


async def run(pairs: int, requests: int, url: str | None, folder: Path,
              seeded: bool) -> tuple[int, dict[str, Any]]:
    rules = folder / "rules"
    (rules / "wordlists").mkdir(parents=True)
    settings = Settings().replace(
        gateway={"domain": "mentor.test", "rules_dir": str(rules),
                 "templates_dir": str(ROOT / "templates"), "instance_name": "bench"},
        database={"url": url or f"sqlite:///{folder / 'bench.db'}"},
        smtp={"port": 0}, outbound={"mode": "maildir", "maildir": str(folder / "out")})
    app = App(settings, clock=MovableClock(NOW), background=False)
    await app.start()
    started = time.perf_counter()
    if seeded:
        messages = await app.db.read(lambda s: s.execute(text("SELECT count(*) FROM message")).scalar_one())
        org_id = await app.db.read(lambda s: s.execute(
            text("SELECT id FROM organization WHERE name = 'École 7'")).scalar_one())
    else:
        messages, org_id = await app.db.write(lambda s: seed(s, pairs))
        await app.db.write(lambda s: s.execute(text("ANALYZE")))
        print(f"seeded {pairs:,} pairs and {messages:,} messages in "
              f"{time.perf_counter() - started:.0f} s")
    web = await start_web(app, host="127.0.0.1", port=0)
    period = f"since={(NOW - YEAR).date().isoformat()}&until={NOW.date().isoformat()}"
    results: dict[str, Any] = {}
    try:
        base = f"http://127.0.0.1:{web.port}"
        async with httpx.AsyncClient(base_url=base, timeout=60) as moderator, \
                httpx.AsyncClient(base_url=base, timeout=60) as coordinator:
            await login(moderator, "bench@program.example.org")
            await login(coordinator, "coord@program.example.org")
            runs = {"/program, a year, all organizations": (moderator, f"/program?{period}"),
                    "/program, a year, one organization": (moderator, f"/program?{period}&org={org_id}"),
                    "/program, a year, as its coordinator": (coordinator, f"/program?{period}"),
                    "/program.csv?figure=quiet_pairs, all": (moderator,
                                                             f"/program.csv?figure=quiet_pairs&{period}")}
            results["healthz"] = summary(await timed(moderator, "/healthz", requests))
            for mode, seconds in (("computed", 0), ("cached", 300)):
                app.settings = app.settings.replace(insights={"cache_seconds": seconds})
                for name, (client, path) in runs.items():
                    await timed(client, path, 1)  # warm-up (fills the cache)
                    results[f"{name} ({mode})"] = summary(await timed(client, path, requests))
    finally:
        await web.stop()
        await app.stop()
    return messages, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pairs", type=int, default=25_000)
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--seeded", action="store_true",
                        help="the database already holds this bench's program (skip seeding)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        messages, results = asyncio.run(run(args.pairs, args.requests, args.database_url, Path(tmp),
                                            args.seeded))
    for name, r in results.items():
        print(f"{name:<55} p50 {r['p50']:7.1f} ms   max {r['max']:7.1f} ms")
    print(f"{messages:,} messages; goal: /program under 500 ms")


if __name__ == "__main__":
    main()
