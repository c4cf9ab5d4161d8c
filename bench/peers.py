"""Peers: the same load against a bare aiosmtpd sink, Postfix as a durable relay, and the gateway.

    .venv/bin/python bench/peers.py [--count 1000] [--rounds 3] [--size 5120] [--connections 4]
        [--systems sink,postfix,gateway,gateway-pg,gateway-pg2] [--database-url URL]
        [--half-rate R] [--instances N] [--pairs N] [--wait SECONDS]

Systems: `sink` (a bare aiosmtpd sink), `postfix` (a durable relay), `gateway` (on SQLite, or on
--database-url with --instances serve processes), `gateway-pg` (one instance on PostgreSQL:
--database-url if it is one, else GATEWAY_TEST_DATABASE_URL or the local test database) and
`gateway-pg2` (two instances sharing it). Each round runs every system saturated, then at a fixed
half rate (half of that system's own saturated end-to-end rate in this round, or `--half-rate`),
one after the other, so that systems are compared in the same minutes. The run ends with issue
17's goals read as ratios between the systems of the same round (bench/goals.py).

Load: bench/loadgen.py (distinct, realistic messages that pass the shipped rules) over reused
connections. Relays deliver to Postfix's C `smtp-sink`, which dumps each message to a file: its
mtime is the arrival time. CPU is user+system time from /proc of every process of the system
under test (Postfix: the master and every child, reaped ones included; the gateway: the `serve`
processes, their checking workers and, on PostgreSQL, its database backends), per message
(bench/peer_measure.py). Postfix runs from its own configuration directory in a temp folder on
free loopback ports (as root it needs `postfix`'s user; it is never installed as a service);
without it the Postfix rows are skipped with the reason.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from goals import goal_lines
from peer_gateway import gateway_idle, postgres_url, run_gateway
from peer_measure import Result, c_sink, measure, tree_cpu
from relay_throughput import free_port, start_sink, stop, wait_port

ALIAS = "mentor-peer@mentor.test"


def run_sink(args: argparse.Namespace, work: Path, rate: float | None) -> Result:
    port = free_port()
    sink = start_sink(port)
    try:
        return measure(args, work, port, "b@example.org", "a@example.org", rate,
                       lambda: tree_cpu(sink.pid), None)
    finally:
        stop(sink)


def postfix_missing() -> str | None:
    for tool in ("postfix", "postmap", "smtp-sink"):
        if not shutil.which(tool):
            return f"`{tool}` is not installed (Debian: apt-get install postfix)"
    if os.geteuid() != 0:
        return "running Postfix's master from a private directory needs root here"
    return None


MAIN_CF = """compatibility_level = 3.6
queue_directory = {work}/queue
data_directory = {work}/data
mail_owner = postfix
setgid_group = postdrop
maillog_file_prefixes = {work}
maillog_file = {work}/postfix.log
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = peer.bench.test
mydestination =
mynetworks = 127.0.0.0/8
smtpd_recipient_restrictions = permit_mynetworks, reject
virtual_alias_domains = mentor.test
virtual_alias_maps = hash:{work}/conf/virtual
relayhost = [127.0.0.1]:{sink_port}
smtputf8_enable = no
"""


@contextlib.contextmanager
def postfix(work: Path, sink_port: int) -> Iterator[tuple[int, int]]:
    """A durable Postfix relay (queue files, the alias rewritten to the real address, smtp out to
    the sink) from its own configuration directory; yields (SMTP port, master pid)."""
    conf, port = work / "conf", free_port()
    for folder in (conf, work / "queue", work / "data"):
        folder.mkdir(parents=True)
    os.chmod(work, 0o755)
    shutil.chown(work / "data", "postfix")
    (conf / "main.cf").write_text(MAIN_CF.format(work=work, sink_port=sink_port))
    master_cf = Path("/etc/postfix/master.cf").read_text()
    # Our own port instead of 25, and no chroot (its files are not in the jail).
    master_cf = re.sub(r"(?m)^smtp\s+inet.*$", f"127.0.0.1:{port} inet n - n - - smtpd", master_cf)
    master_cf = re.sub(r"(?m)^(\S+\s+(?:unix|unix-dgram|inet|fifo|pass)\s+\S+\s+\S+\s+)y", r"\1n",
                       master_cf)
    (conf / "master.cf").write_text(master_cf)
    (conf / "virtual").write_text(f"{ALIAS} mentor@example.org\n")
    subprocess.run(["postmap", "-c", str(conf), str(conf / "virtual")], check=True)
    subprocess.run(["postfix", "-c", str(conf), "start"], check=True, capture_output=True)
    try:
        wait_port(port)
        master = int((work / "queue" / "pid" / "master.pid").read_text().split()[0])
        yield port, master
    finally:
        subprocess.run(["postfix", "-c", str(conf), "stop"], capture_output=True)


def run_postfix(args: argparse.Namespace, work: Path, rate: float | None) -> Result:
    with c_sink(work) as (sink_port, dump), postfix(work / "postfix", sink_port) as (port, master):
        time.sleep(1)  # let qmgr and pickup settle before counting
        return measure(args, work, port, ALIAS, "mentee@example.org", rate,
                       lambda: tree_cpu(master), dump)


System = Callable[[argparse.Namespace, Path, float | None], Result]


def systems_of(args: argparse.Namespace) -> tuple[dict[str, System], dict[str, str]]:
    """Each system's run and label."""
    pg = postgres_url(args)
    runs: dict[str, System] = {
        "sink": run_sink, "postfix": run_postfix,
        "gateway": functools.partial(run_gateway, database_url=args.database_url,
                                     instances=args.instances),
        "gateway-pg": functools.partial(run_gateway, database_url=pg),
        "gateway-pg2": functools.partial(run_gateway, database_url=pg, instances=2)}
    on = "PostgreSQL" if args.database_url else "SQLite"
    instances = f", {args.instances} inst." if args.instances > 1 else ""
    labels = {"sink": "bare aiosmtpd sink", "postfix": "Postfix durable relay",
              "gateway": f"gateway, {on}{instances}", "gateway-pg": "gateway, PostgreSQL",
              "gateway-pg2": "gateway, PG, 2 inst."}
    return runs, labels


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--size", type=int, default=5120)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--systems", default="sink,postfix,gateway")
    parser.add_argument("--half-rate", type=float, default=None,
                        help="fixed rate of the half-load runs (default: half of each system's "
                             "saturated rate in the same round)")
    parser.add_argument("--database-url", default=None,
                        help="the `gateway` system's database (default: SQLite); a PostgreSQL "
                             "one is also the `gateway-pg` systems'")
    parser.add_argument("--instances", type=int, default=1,
                        help="the `gateway` system's processes sharing the database (PostgreSQL)")
    parser.add_argument("--pairs", type=int, default=1,
                        help="the gateway's load spread over this many pairs, each writing in "
                             "turn (1: one pair sends everything; its flood counts then read "
                             "every message of the run, and two instances queue on its row)")
    parser.add_argument("--wait", type=float, default=600, metavar="SECONDS",
                        help="how long to wait for the last arrivals (default 600)")
    parser.add_argument("--idle", type=float, default=None, metavar="SECONDS",
                        help="only measure the CPU of an idle `serve` over SECONDS")
    args = parser.parse_args()
    if args.instances > 1 and not args.database_url:
        sys.exit("--instances needs --database-url (several processes share PostgreSQL)")
    return args


def run_rounds(args: argparse.Namespace, systems: list[str], runs: dict[str, System],
               labels: dict[str, str]) -> dict[tuple[str, str], list[Result]]:
    """Every system saturated then at half rate, round after round; each run printed as it ends."""
    results: dict[tuple[str, str], list[Result]] = {}
    for round_ in range(args.rounds):
        for name in systems:
            for load in ("saturated", "half"):
                rate = None
                if load == "half":
                    rate = args.half_rate or results[(name, "saturated")][-1].rate / 2
                with tempfile.TemporaryDirectory() as folder:
                    result = runs[name](args, Path(folder), rate)
                results.setdefault((name, load), []).append(result)
                latency = (f"p50 {result.p50_ms:6.0f} ms  p99 {result.p99_ms:6.0f} ms"
                           if result.p50_ms is not None else "")
                if result.parts:
                    latency += "  (" + " + ".join(f"{part} {ms:.2f}" for part, ms in
                                                 result.parts.items()) + " ms)"
                print(f"round {round_ + 1}  {labels[name]:22} {load:9} "
                      f"{'' if rate is None else f'(at {rate:.0f}/s) '}{result.rate:7.0f} msg/s  "
                      f"{result.cpu_ms:6.2f} ms CPU/msg  {latency}  "
                      f"delivered {result.delivered}/{args.count}", flush=True)
    return results


def main() -> None:
    args = parse_args()
    if args.idle:
        with tempfile.TemporaryDirectory() as folder:
            share = gateway_idle(args, Path(folder), args.idle)
        print(f"idle serve: {share:.2f} % of one core over {args.idle:.0f} s")
        return
    runs, labels = systems_of(args)
    systems = [name for name in args.systems.split(",") if name]
    if unknown := [name for name in systems if name not in runs]:
        sys.exit(f"unknown system(s): {', '.join(unknown)} (known: {', '.join(runs)})")
    if "postfix" in systems and (reason := postfix_missing()):
        print(f"Postfix skipped: {reason}")
        systems.remove("postfix")
    if any(name.startswith("gateway") for name in systems) and not shutil.which("smtp-sink"):
        sys.exit("the gateway delivers to Postfix's smtp-sink, which is not installed")
    print(f"{args.count} x {args.size} B over {args.connections} reused connections, {args.rounds} "
          f"round(s), the gateway with the shipped rules"
          f"{f', its load over {args.pairs} pairs' if args.pairs > 1 else ''}; load average "
          f"{os.getloadavg()[0]:.1f}")
    results = run_rounds(args, systems, runs, labels)
    print(f"\nmedians over the rounds; load average now {os.getloadavg()[0]:.1f}")
    for (name, load), done in results.items():
        rates = [r.rate for r in done]
        p99 = [r.p99_ms for r in done if r.p99_ms is not None]
        print(f"{labels[name]:22} {load:9} {statistics.median(rates):7.0f} msg/s "
              f"[{min(rates):.0f}-{max(rates):.0f}]  "
              f"{statistics.median(r.cpu_ms for r in done):6.2f} ms CPU/msg"
              + (f"  p99 {statistics.median(p99):.0f} ms" if p99 else ""))
    if ratios := goal_lines(results, labels, bool(args.database_url)):
        print("\nper round, between the systems of the same round (issue 17's goals as ratios):",
              *ratios, sep="\n")


if __name__ == "__main__":
    main()
