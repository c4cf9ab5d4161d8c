"""Relay throughput: the whole gateway (SMTP in -> store -> moderate -> rewrite -> SMTP out) against
a bare aiosmtpd sink measured in the same run. Prints both rates, their ratio, and p50/p99 from 250
to delivery.

    .venv/bin/python bench/relay_throughput.py [--count 5000] [--size 5120] [--connections 4]
        [--database-url URL] [--rules shipped|empty] [--profile FILE.prof]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def start_sink(port: int, record: Path | None = None) -> subprocess.Popen[bytes]:
    args = [PY, str(ROOT / "bench" / "sink.py"), "--port", str(port)]
    if record:
        args += ["--record", str(record)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE)
    wait_port(port)
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)


def loadgen(port: int | str, out: Path, args: argparse.Namespace, sender: str, to: str) -> dict:
    subprocess.run([PY, str(ROOT / "bench" / "loadgen.py"), "--port", str(port), "--count",
                    str(args.count), "--connections", str(args.connections), "--size",
                    str(args.size), "--sender", sender, "--to", to, "--out", str(out),
                    *(["--rate", str(args.rate)] if getattr(args, "rate", None) else [])], check=True)
    return json.loads(out.read_text())


def baseline(args: argparse.Namespace, work: Path) -> float:
    port = free_port()
    sink = start_sink(port)
    try:
        result = loadgen(port, work / "baseline.json", args, "a@example.org", "b@example.org")
    finally:
        stop(sink)
    return args.count / (result["finished"] - result["started"])


def prepare_gateway(work: Path, db_url: str, sink_port: int, smtp_port: int,
                    shipped_rules: bool, pairs: int = 1) -> tuple[Path, str, str]:
    """The config, then the sender and the alias it writes to; with `pairs` > 1, that many
    pairs, their senders and aliases each joined by commas (bench/loadgen.py takes turns)."""
    from gateway.cli_commands.base import with_db
    from gateway.config import load_settings
    from gateway.program import service
    from gateway.store.models import Pair

    rules = work / "rules"
    rules.mkdir()
    # An empty rules folder shows what moderation costs; the shipped rules are the real load.
    for rule in (ROOT / "relay_rules").glob("*.toml") if shipped_rules else ():
        (rules / rule.name).write_text(rule.read_text())
    if (ROOT / "relay_rules" / "wordlists").exists():
        (rules / "wordlists").symlink_to(ROOT / "relay_rules" / "wordlists")
    config = work / "config.toml"
    config.write_text(f"""
[gateway]
domain = "mentor.test"
rules_dir = "{rules}"
templates_dir = "{ROOT / 'templates'}"
[database]
url = "{db_url}"
[smtp]
port = {smtp_port}
[outbound]
mode = "smtp"
port = {sink_port}
[reminders]
enabled = false
[web]
enabled = false
[authentication]
mode = "off"
[limits]
per_participant_hour = 100000000
per_pair_day = 100000000
""")
    settings = load_settings(config)
    clock_now = time.time()

    def setup(s: object) -> list[tuple[str, str]]:
        from datetime import UTC, datetime

        now = datetime.fromtimestamp(clock_now, UTC)
        made = []
        for n in range(pairs):
            suffix = "" if pairs == 1 else str(n)
            mentor, mentee = f"mentor{suffix}@example.org", f"mentee{suffix}@example.org"
            service.add_participant(s, email=mentor, name="Mentor", role="mentor", now=now)  # type: ignore[arg-type]
            service.add_participant(s, email=mentee, name="Mentee", role="mentee", now=now)  # type: ignore[arg-type]
            view = service.create_pair(s, settings, mentor=mentor, mentee=mentee, now=now)  # type: ignore[arg-type]
            pair = s.get(Pair, view.id)  # type: ignore[attr-defined]
            pair.forwarded_count = 1  # an established conversation: the first-message hold is behind it
            made.append((mentee, view.mentor_alias))
        return made

    made = with_db(settings, setup)
    return config, ",".join(m for m, _ in made), ",".join(a for _, a in made)


def delivered_count(db_url: str) -> int:
    from gateway.store.db import make_engine

    engine = make_engine(db_url)
    with engine.connect() as conn:
        count = conn.execute(text("select count(*) from outbox where kind='forward' and state='sent'")).scalar_one()
    engine.dispose()
    return int(count)


def gateway_run(args: argparse.Namespace, work: Path) -> dict[str, float]:
    sink_port, smtp_port = free_port(), free_port()
    db_url = args.database_url or f"sqlite:///{work / 'gateway.db'}"
    record = work / "arrivals.txt"
    sink = start_sink(sink_port, record)
    config, sender, alias = prepare_gateway(work, db_url, sink_port, smtp_port,
                                            args.rules == "shipped")
    env = {**os.environ, "GATEWAY_CONFIG": str(config), "PYTHONPATH": str(ROOT)}
    command = ([str(ROOT / "bench" / "profile_serve.py"), str(Path(args.profile).resolve())]
               if args.profile else ["-m", "gateway", "serve"])
    with open(work / "gateway.log", "wb") as log:
        gateway = subprocess.Popen([PY, *command], env=env, stdout=log, stderr=log, cwd=work)
        try:
            wait_port(smtp_port)
            result = loadgen(smtp_port, work / "gateway.json", args, sender, alias)
            deadline = time.time() + 600
            while delivered_count(db_url) < args.count and time.time() < deadline:
                time.sleep(0.2)
        finally:
            gateway.send_signal(signal.SIGTERM)
            gateway.wait(timeout=60)
            stop(sink)
    arrivals = {int(n): float(t) for n, t in (line.split() for line in record.read_text().splitlines())}
    accepted = {int(k): v for k, v in result["accepted"].items()}
    latencies = sorted(arrivals[n] - accepted[n] for n in accepted if n in arrivals)
    last = max(arrivals.values())
    return {
        "ingest_rate": args.count / (result["finished"] - result["started"]),
        "end_to_end_rate": len(arrivals) / (last - result["started"]),
        "delivered": float(len(arrivals)),
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
    }


@contextlib.contextmanager
def private_schema(args: argparse.Namespace) -> Iterator[None]:
    """On PostgreSQL, run in a fresh schema (dropped afterwards) so runs never see each other."""
    if not args.database_url or not args.database_url.startswith("postgresql"):
        yield
        return
    from sqlalchemy import create_engine

    base, schema = args.database_url, f"bench_{secrets.token_hex(4)}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    args.database_url = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    try:
        yield
    finally:
        args.database_url = base
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--size", type=int, default=5120)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--database-url", default=None, help="default: a SQLite file in a temp folder")
    parser.add_argument("--rules", choices=("shipped", "empty"), default="shipped",
                        help="moderate with the shipped relay_rules/ or with none")
    parser.add_argument("--profile", default=None, help="write a cProfile of the gateway here (+ .threadN files)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, private_schema(args):
        work = Path(folder)
        base = baseline(args, work)
        gw = gateway_run(args, work)
    database = "PostgreSQL" if args.database_url else "SQLite"
    print(f"messages: {args.count} x {args.size} B over {args.connections} reused connections; "
          f"{database}; {args.rules} rules")
    print(f"bare aiosmtpd Sink:          {base:8.0f} msg/s")
    print(f"gateway, accepted (250):     {gw['ingest_rate']:8.0f} msg/s   ratio {gw['ingest_rate'] / base:.2f}")
    print(f"gateway, end to end:         {gw['end_to_end_rate']:8.0f} msg/s   ratio {gw['end_to_end_rate'] / base:.2f}")
    print(f"250 -> delivered: p50 {gw['p50_ms']:.0f} ms, p99 {gw['p99_ms']:.0f} ms; delivered {gw['delivered']:.0f}/{args.count}")


if __name__ == "__main__":
    main()
