"""CPU per message of each relay stage, in process: RCPT lookup, ingest commit, processing, delivery.

    .venv/bin/python bench/stages.py [--count 600] [--batch 4] [--rounds 3] [--rules shipped|empty]
        [--database-url URL]

PostgreSQL runs use a private schema, dropped afterwards. No sockets and no other process: the same `App` that `serve` runs (background workers off),
fed through its ingest writer in groups of `--batch` messages (4 ≈ four busy SMTP connections;
1 ≈ a half-loaded gateway where every message pays its own transactions), then pumped
(process + deliver) to a transport that answers 250 at once. CPU is the process's CPU time
(every thread), so the figures are stable on a shared machine, unlike a wall-clock rate. The
end-to-end bench (bench/peers.py) adds SMTP in and out on top of these stages.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from loadgen import message  # noqa: E402
from relay_throughput import prepare_gateway, private_schema  # noqa: E402

from gateway.app import App  # noqa: E402
from gateway.config import load_settings  # noqa: E402
from gateway.delivery.transports import SendResult  # noqa: E402
from gateway.ingress.routing import Route, resolve_route  # noqa: E402
from gateway.ingress.writer import Incoming  # noqa: E402
from gateway.store.lifecycle import OUTBOX_BATCH, RECEIVED_BATCH  # noqa: E402


class NullTransport:
    """Answers 250 at once: delivery's own bookkeeping is what is measured."""

    def __init__(self) -> None:
        self.sent = 0

    async def send(self, envelope_from: str, recipient: str, data: bytes) -> SendResult:
        self.sent += 1
        # A real send waits for the smarthost: the other connections take the next messages
        # meanwhile (without this, one connection sends a whole batch and its results are
        # committed in more transactions than serve's would be).
        await asyncio.sleep(0)
        return SendResult("sent", "250 ok")

    async def close(self) -> None:
        return None


async def one_round(config: Path, sender: str, alias: str, count: int, batch: int,
                    offset: int) -> dict[str, float]:
    settings = load_settings(config)
    transports = [NullTransport() for _ in range(4)]
    app = App(settings, transports=transports, background=False)
    await app.start()
    domain = settings.gateway.domain
    try:
        started = time.process_time()
        for _ in range(count):
            route = await app.db.read_rows(lambda c: resolve_route(c, domain=domain, rcpt=alias,
                                                                   envelope_from=sender))
        rcpt = time.process_time() - started
        assert isinstance(route, Route), route
        items = [Incoming(route, message(offset + n, sender, alias, 5120), sender,
                          f"<bench-{offset + n}@client.example>", f"bench {offset + n}")
                 for n in range(count)]
        ingest = process = deliver = 0.0
        for first in range(0, count, batch):
            started = time.process_time()
            await asyncio.gather(*(app.writer.store(item) for item in items[first:first + batch]))
            ingest += time.process_time() - started
            # as serve's workers do: a new look at once only after a full batch
            started = time.process_time()
            while await app.process_once() >= RECEIVED_BATCH:
                pass
            process += time.process_time() - started
            started = time.process_time()
            while await app.delivery.run_once() >= OUTBOX_BATCH:
                pass
            deliver += time.process_time() - started
        sent = sum(t.sent for t in transports)
        assert sent >= count, f"{sent} of {count} delivered"  # (+ any program notices)
    finally:
        await app.stop()
    ms = 1000 / count
    return {"rcpt": rcpt * ms, "ingest": ingest * ms, "process": process * ms,
            "deliver": deliver * ms, "total": (rcpt + ingest + process + deliver) * ms}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--count", type=int, default=600)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rules", choices=("shipped", "empty"), default="shipped")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, private_schema(args):
        work = Path(folder)
        db_url = args.database_url or f"sqlite:///{work / 'gateway.db'}"
        config, sender, alias = prepare_gateway(work, db_url, 2525, 0, args.rules == "shipped")
        # Every stage in this process, so that its CPU clock sees all of it: the checking
        # workers (serve's default for batches of two or more) are measured by bench/peers.py.
        config.write_text(config.read_text() + "[processing]\nworkers = 0\n")
        rounds = [asyncio.run(one_round(config, sender, alias, args.count, args.batch, n * args.count))
                  for n in range(args.rounds)]
    print(f"{args.count} x 5 KB per round, groups of {args.batch}, {args.rules} rules, "
          f"{'PostgreSQL' if args.database_url else 'SQLite'}; CPU ms per message (process time), "
          f"median of {args.rounds} rounds [min-max]")
    for stage in ("rcpt", "ingest", "process", "deliver", "total"):
        values = [r[stage] for r in rounds]
        print(f"  {stage:<8} {statistics.median(values):7.2f}  [{min(values):.2f}-{max(values):.2f}]")


if __name__ == "__main__":
    main()
