"""Reminders scan: time and peak memory of finding the due reminders among 1,000,000 pairs.

Builds a database (a temporary SQLite file, or a private schema on PostgreSQL) with --pairs pairs,
two participants each, --messages delivered messages per pair and the reminder outbox rows earlier
checks would have left, then measures `gateway.reminders.service.find_due` at `now` in a fresh
process (so its peak RSS is the scan's, not the build's), against a baseline measured in the same
run: a bare indexed COUNT(*) over the same band of pairs. Goal: under 2 s and under 300 MB.

    .venv/bin/python bench/reminders_scan.py [--pairs 1000000] [--database-url URL] [--rounds 3]

Activity is spread evenly over the past year (85 % active, 5 % paused, 5 % closed, 5 % never
written), so about 4 % of the pairs sit in the band where some step can be due; every step that fell
due before yesterday has already been sent, as it would have been by the scheduler.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import resource
import secrets
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, insert, text  # noqa: E402
from sqlalchemy import select as sa_select  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

from gateway.config import Settings  # noqa: E402
from gateway.reminders.policy import reminder_key  # noqa: E402
from gateway.reminders.rules import DEFAULT_RULES  # noqa: E402
from gateway.reminders.service import _bounds, find_due  # noqa: E402
from gateway.store.db import Database  # noqa: E402
from gateway.store.migrate import migrate  # noqa: E402
from gateway.store.models import Message, Outbox, Pair, Participant  # noqa: E402

NOW = datetime(2026, 6, 1, 14, 0, tzinfo=UTC)  # a Monday, 10:00 in Toronto: inside the window
YEAR = timedelta(days=365)
BATCH = 50_000
RAW = b"From: a@example.net\r\nTo: b@mentor.test\r\nSubject: Bonjour\r\n\r\nBonjour, une question.\r\n"


def settings_for(url: str) -> Settings:
    return Settings().replace(gateway={"domain": "mentor.test", "instance_name": "bench"},
                              database={"url": url})


# ---------------------------------------------------------------- building the data set


def pair_rows(pairs: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    rnd = random.Random(seed)
    for n in range(pairs):
        pid = n + 1
        draw = rnd.random()
        state = "paused" if draw < 0.05 else "closed" if draw < 0.10 else "active"
        created = NOW - timedelta(seconds=rnd.uniform(0, 2 * YEAR.total_seconds()))
        started = rnd.random() >= 0.05
        last = NOW - timedelta(seconds=rnd.uniform(0, YEAR.total_seconds())) if started else None
        if last is not None and last < created:
            created = last - timedelta(days=1)
        yield {"id": pid, "mentor_id": 2 * pid - 1, "mentee_id": 2 * pid, "org_id": None,
               "state": state, "created_at": created, "last_delivered_at": last,
               "last_delivered_from": rnd.choice(("mentor", "mentee")) if last else None,
               "last_delivered_message_id": None, "delivered_count": 0, "forwarded_count": 0}


def sent_keys_for(row: dict[str, Any], before: datetime) -> list[str]:
    """Keys of every step that fell due before `before`: the scheduler has already sent them."""
    keys: list[str] = []
    if row["state"] != "active":
        return keys
    last = row["last_delivered_at"]
    for rule in DEFAULT_RULES:
        if rule.kind == "never_started":
            if last is not None:
                continue
            anchor, at, awaited = "start", row["created_at"], None
        else:
            if last is None:
                continue
            anchor, at = str(row["last_delivered_message_id"]), last
            awaited = "mentee" if row["last_delivered_from"] == "mentor" else "mentor"
        for index, step in enumerate(rule.steps):
            if at + step.after > before:
                break
            targets = [awaited] if step.to == "awaited" else (
                ["mentor", "mentee"] if step.to == "both" else [step.to])
            keys += ["reminder:" + reminder_key(row["id"], rule.name, index, anchor, str(to))
                     for to in targets if to]
    return keys


def build(engine: Engine, pairs: int, messages: int) -> dict[str, int]:
    """All rows in bulk: COPY on PostgreSQL, executemany in big transactions on SQLite."""
    counts = {"participants": 0, "pairs": 0, "messages": 0, "outbox": 0}
    people: list[dict[str, Any]] = []
    pair_batch: list[dict[str, Any]] = []
    msg_batch: list[dict[str, Any]] = []
    out_batch: list[dict[str, Any]] = []
    message_id = 0
    sent_before = NOW - timedelta(days=1)
    for row in pair_rows(pairs):
        pid = row["id"]
        for offset, role in ((1, "mentor"), (0, "mentee")):
            people.append({"id": 2 * pid - offset, "email": f"{role}{pid}@example.net",
                           "display_name": f"{role} {pid}", "role": role,
                           "lang": "fr" if pid % 3 else "en", "minor": role == "mentee",
                           "org_id": None, "time_zone": None, "reminders_opt_out": pid % 50 == 0,
                           "created_at": row["created_at"]})
        if row["last_delivered_at"] is not None:
            for k in range(messages):
                message_id += 1
                last = k == messages - 1
                sender = row["last_delivered_from"] if last else ("mentor" if k % 2 == 0 else "mentee")
                sid, rid = (2 * pid - 1, 2 * pid) if sender == "mentor" else (2 * pid, 2 * pid - 1)
                at = row["last_delivered_at"] - timedelta(days=messages - 1 - k)
                msg_batch.append({"id": message_id, "pair_id": pid, "sender_id": sid, "recipient_id": rid,
                                  "direction": f"{sender}_to_{'mentee' if sender == 'mentor' else 'mentor'}",
                                  "state": "delivered", "source": "smtp", "envelope_from": f"{sender}{pid}@example.net",
                                  "dedup_key": f"b{message_id}", "size": len(RAW), "raw": RAW,
                                  "received_at": at, "updated_at": at, "escalated": False, "auto_reply": False})
            row["last_delivered_message_id"] = message_id
            row["delivered_count"] = row["forwarded_count"] = messages
        pair_batch.append(row)
        for key in sent_keys_for(row, sent_before):
            out_batch.append({"kind": "reminder", "pair_id": pid, "envelope_from": "bounces@mentor.test",
                              "recipient": "x@example.net", "data": b"", "state": "sent", "attempts": 1,
                              "created_at": sent_before, "next_attempt_at": sent_before,
                              "sent_at": sent_before, "dedup_key": key})
        if len(pair_batch) >= BATCH:
            _flush(engine, counts, people, pair_batch, msg_batch, out_batch)
    _flush(engine, counts, people, pair_batch, msg_batch, out_batch)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            for table in ("participant", "pair", "message", "outbox"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT coalesce(max(id), 1) FROM {table}))"))
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE participant, pair, message, outbox"))  # as autovacuum would
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    return counts


def _flush(engine: Engine, counts: dict[str, int], *batches: list[dict[str, Any]]) -> None:
    tables = (Participant, Pair, Message, Outbox)
    with engine.begin() as conn:
        for model, rows in zip(tables, batches, strict=True):
            if not rows:
                continue
            if engine.dialect.name == "postgresql":
                _copy(conn, model.__tablename__, rows)  # type: ignore[attr-defined]
            else:
                conn.execute(insert(model), rows)
            counts[("participants", "pairs", "messages", "outbox")[tables.index(model)]] += len(rows)
            rows.clear()


def _copy(conn: Any, table: str, rows: list[dict[str, Any]]) -> None:
    columns = list(rows[0])
    cursor = conn.connection.driver_connection.cursor()
    with cursor.copy(f'COPY "{table}" ({", ".join(columns)}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])


# ---------------------------------------------------------------- measuring


def baseline_count(db: Database) -> tuple[float, int]:
    """A bare indexed COUNT over the same band find_due reads: the floor for this database."""
    earliest, latest = _bounds(DEFAULT_RULES)
    query = sa_select(func.count()).select_from(Pair).where(
        Pair.state == "active",  # type: ignore[arg-type]
        Pair.last_delivered_at.between(NOW - latest, NOW - earliest))  # type: ignore[union-attr]
    with db.session() as session:
        start = time.perf_counter()
        count = int(session.execute(query).scalar_one())
        return time.perf_counter() - start, count


def _status_mb(field: str) -> float:
    """VmHWM / VmRSS of this process in MB (VmHWM, unlike ru_maxrss, is not inherited across fork)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reset_peak() -> None:
    """Linux >= 4.0: writing 5 to clear_refs resets VmHWM to the current RSS."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def measure(url: str, rounds: int) -> dict[str, Any]:
    """Run in a fresh process: timings (no tracing), then one traced run for the Python peak."""
    db = Database(url)
    settings = settings_for(url)
    base_times, due_times, cpu_times, band, due = [], [], [], 0, 0
    with db.session() as session:
        find_due(session, settings, NOW)  # warm the caches once, as a long-running serve would be
    rss_start = _status_mb("VmRSS")  # interpreter, imports, engine and a warm scan's leftovers
    _reset_peak()
    for _ in range(rounds):
        elapsed, band = baseline_count(db)
        base_times.append(elapsed)
        with db.session() as session:
            start, cpu = time.perf_counter(), time.process_time()
            due = len(find_due(session, settings, NOW))
            due_times.append(time.perf_counter() - start)
            cpu_times.append(time.process_time() - cpu)
    peak_rss = _status_mb("VmHWM")
    tracemalloc.start()
    with db.session() as session:
        find_due(session, settings, NOW)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    db.close()
    return {"baseline_s": sorted(base_times)[len(base_times) // 2],
            "find_due_s": sorted(due_times)[len(due_times) // 2],
            "find_due_cpu_s": sorted(cpu_times)[len(cpu_times) // 2],
            "load_average": os.getloadavg()[0],
            "band_pairs": band, "due": due, "traced_peak_mb": traced_peak / 2**20,
            "peak_rss_mb": peak_rss, "rss_start_mb": rss_start}


def _count_rows(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {name: int(conn.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one())
                for name, table in (("participants", "participant"), ("pairs", "pair"),
                                    ("messages", "message"), ("outbox", "outbox"))}


def _pg_schema(base: str, name: str | None) -> tuple[str, str]:
    schema = name or f"bench_{secrets.token_hex(4)}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
    admin.dispose()
    sep = "&" if "?" in base else "?"
    return schema, f"{base}{sep}options=-csearch_path%3D{schema}"


def _drop_schema(base: str, schema: str) -> None:
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def run(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    schema = None
    file = Path(args.sqlite_file) if args.sqlite_file else folder / "reminders.db"
    if args.database_url:
        schema, url = _pg_schema(args.database_url, args.schema)
    else:
        url = f"sqlite:///{file}"
    try:
        db = Database(url)
        start = time.perf_counter()
        migrate(db.engine)
        counts = _count_rows(db.engine)
        if not counts["pairs"]:
            counts = build(db.engine, args.pairs, args.messages)
        # else: reuse what an earlier run built (--sqlite-file, --schema)
        built_s = time.perf_counter() - start
        db.close()
        out = subprocess.run([sys.executable, __file__, "--measure", url, "--rounds", str(args.rounds)],
                             check=True, capture_output=True, text=True)
        result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
        result.update(counts, build_s=built_s,
                      backend="PostgreSQL" if schema else "SQLite",
                      size_mb=file.stat().st_size / 2**20 if not schema else None)
        return result
    finally:
        if schema and args.database_url and not args.schema:
            _drop_schema(args.database_url, schema)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=1_000_000)
    parser.add_argument("--messages", type=int, default=2, help="delivered messages per started pair")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default=None, help="PostgreSQL base URL (default: a SQLite temp file)")
    parser.add_argument("--schema", default=None, help="build into (or reuse) this PostgreSQL schema, kept")
    parser.add_argument("--sqlite-file", default=None, help="build into (or reuse) this SQLite file")
    parser.add_argument("--measure", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.rounds)))
        return
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        r = run(args, Path(tmp))
    print(f"{r['backend']}: {r['pairs']:,} pairs, {r['participants']:,} participants, "
          f"{r['messages']:,} messages, {r['outbox']:,} sent reminders; built in {r['build_s']:.0f} s"
          + (f"; file {r['size_mb']:.0f} MB" if r["size_mb"] else ""))
    print(f"band (active pairs quiet 3-17 days): {r['band_pairs']:,}; due now: {r['due']:,}")
    print(f"baseline COUNT over the band: {r['baseline_s'] * 1000:.1f} ms")
    print(f"find_due: {r['find_due_s'] * 1000:.1f} ms ({r['find_due_s'] / max(r['baseline_s'], 1e-6):.1f}x baseline), "
          f"{r['find_due_cpu_s'] * 1000:.0f} ms CPU in this process (load average {r['load_average']:.1f}); "
          f"Python peak (tracemalloc) {r['traced_peak_mb']:.1f} MB; process peak RSS {r['peak_rss_mb']:.0f} MB "
          f"(of which {r['rss_start_mb']:.0f} MB before the timed scans: interpreter, imports, engine)")
    ok = r["find_due_s"] < 2 and r["peak_rss_mb"] < 300
    print("goal (< 2 s, < 300 MB): " + ("met" if ok else "NOT met"))
    print(json.dumps(r, default=str))


if __name__ == "__main__":
    main()
