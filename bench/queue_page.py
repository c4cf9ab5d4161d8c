"""Review queue page speed: 10,000 held messages, the first page and a filtered page over real HTTP,
with GET /healthz (same server, same client) as the baseline. Goal: queue page p50 under 200 ms.

    .venv/bin/python bench/queue_page.py [--held 10000] [--requests 50] [--database-url URL] [--write-doc]
"""

from __future__ import annotations

import argparse
import asyncio
import json
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
from gateway.store.models import Message, Organization, Pair, Participant  # noqa: E402
from gateway.web.server import start_web  # noqa: E402

PASSWORD = "bench password 123"
PAIRS = 500
RAW = ("From: jeune@example.net\r\nTo: alias@mentor.test\r\nSubject: Question {n}\r\n"
       "Content-Type: text/plain; charset=utf-8\r\n\r\n"
       "Bonjour, voici ma question numéro {n} sur les études.\r\n" + "Du texte. " * 100 + "\r\n")
HITS = [{"rule": "phone", "action": "hold", "field": "text", "evidence": "514-555-1234",
         "start": 0, "end": 12, "reason_fr": "numéro", "reason_en": "number"}]


def seed(session: Any, held: int, now: datetime) -> int:
    """Rows straight into the tables (fast): organizations, people, pairs, held messages."""
    orgs = [Organization(name=f"École {i}", created_at=now) for i in range(5)]
    session.add_all(orgs)
    session.flush()
    people = [Participant(email=f"p{i}@example.net", display_name=f"P {i}",
                          role="mentor" if i % 2 == 0 else "mentee", created_at=now,
                          org_id=orgs[(i // 2) % 5].id) for i in range(PAIRS * 2)]
    session.add_all(people)
    session.flush()
    pairs = [Pair(mentor_id=int(people[2 * i].id or 0), mentee_id=int(people[2 * i + 1].id or 0),
                  org_id=orgs[i % 5].id, created_at=now) for i in range(PAIRS)]
    session.add_all(pairs)
    session.flush()
    hits = json.dumps(HITS)
    rows = []
    for n in range(held):
        pair = pairs[n % PAIRS]
        rows.append({"pair_id": pair.id, "sender_id": pair.mentee_id, "recipient_id": pair.mentor_id,
                     "direction": "mentee_to_mentor", "state": "held", "source": "smtp",
                     "envelope_from": "jeune@example.net", "dedup_key": f"bench-{n}",
                     "size": 1200, "raw": RAW.format(n=n).encode(), "subject": f"Question {n}",
                     "received_at": now - timedelta(seconds=held - n), "updated_at": now,
                     "hits_json": hits if n % 3 == 0 else "[]"})
    session.execute(insert(Message), rows)
    add_staff(session, email="bench@program.example.org", name="Bench", role="moderator", now=now,
              password=PASSWORD)
    return int(orgs[1].id or 0)


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
    return {"p50": statistics.median(ordered),
            "p99": ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]}


async def run(held: int, requests: int, url: str | None, folder: Path) -> dict[str, dict[str, float]]:
    rules = folder / "rules"
    (rules / "wordlists").mkdir(parents=True)
    settings = Settings().replace(
        gateway={"domain": "mentor.test", "rules_dir": str(rules),
                 "templates_dir": str(ROOT / "templates"), "instance_name": "bench"},
        database={"url": url or f"sqlite:///{folder / 'bench.db'}"},
        smtp={"port": 0}, outbound={"mode": "maildir", "maildir": str(folder / "out")})
    clock = MovableClock(datetime(2026, 1, 5, 15, 0, tzinfo=UTC))
    app = App(settings, clock=clock, background=False)
    await app.start()
    org_id = await app.db.write(lambda s: seed(s, held, clock.now()))
    # A real queue fills over days and autovacuum keeps the planner's statistics; a bulk insert
    # does not (PostgreSQL then guesses 29 rows for 10,000 and picks nested loops).
    await app.db.write(lambda s: s.execute(text("ANALYZE")))
    web = await start_web(app, host="127.0.0.1", port=0)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{web.port}") as client:
            page = await client.get("/login")
            token = re.search(r'name="csrf" value="([^"]+)"', page.text)
            assert token is not None
            await client.post("/login", data={"csrf": token.group(1), "email": "bench@program.example.org",
                                              "password": PASSWORD})
            paths = {"healthz": "/healthz", "queue first page": "/queue",
                     "queue filtered (org + reason, page 3)": f"/queue?org={org_id}&reason=phone&page=3"}
            for path in paths.values():
                await timed(client, path, 3)  # warm-up
            return {name: summary(await timed(client, path, requests)) for name, path in paths.items()}
    finally:
        await web.stop()
        await app.stop()


def append_doc(results: dict[str, dict[str, float]], held: int, requests: int, backend: str) -> None:
    doc = ROOT / "docs" / "performance.md"
    text = doc.read_text(encoding="utf-8") if doc.exists() else "# Performance\n"
    heading = "## Review queue page (bench/queue_page.py)"
    lines = [f"{held:,} held messages, {requests} sequential GETs each, {backend}, httpx over "
             "loopback against the real uvicorn server (50 rows per page, first lines parsed).", "",
             "| request | p50 ms | p99 ms |", "|---|---|---|"]
    lines += [f"| {name} | {r['p50']:.1f} | {r['p99']:.1f} |" for name, r in results.items()]
    section = heading + "\n\n" + "\n".join(lines) + "\n"
    if heading in text:
        before, _, after = text.partition(heading)
        rest = after.split("\n## ", 1)
        text = before + section + ("\n## " + rest[1] if len(rest) > 1 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    doc.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--held", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--write-doc", action="store_true", help="update docs/performance.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = asyncio.run(run(args.held, args.requests, args.database_url, Path(tmp)))
    for name, r in results.items():
        print(f"{name:<40} p50 {r['p50']:7.1f} ms   p99 {r['p99']:7.1f} ms")
    ratio = results["queue first page"]["p50"] / max(results["healthz"]["p50"], 0.001)
    print(f"queue first page / healthz (p50): {ratio:.1f}x; goal: queue page under 200 ms")
    if args.write_doc:
        backend = "PostgreSQL" if args.database_url and "postgres" in args.database_url else "SQLite"
        append_doc(results, args.held, args.requests, backend)


if __name__ == "__main__":
    main()
