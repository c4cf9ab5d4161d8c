"""Peers: the same load against a bare aiosmtpd sink, Postfix as a durable relay, and the gateway.

    .venv/bin/python bench/peers.py [--count 1000] [--rounds 3] [--size 5120] [--connections 4]
        [--systems sink,postfix,gateway] [--database-url URL] [--half-rate R] [--instances N]
        [--pairs N] [--wait SECONDS]

Each round runs every system saturated, then at a fixed half rate (half of that system's own
saturated end-to-end rate in this round, or `--half-rate`), one after the other, so that systems
are compared in the same minutes. Load: bench/loadgen.py (distinct, realistic messages that pass
the shipped rules) over reused connections. Relays deliver to Postfix's C `smtp-sink`, which
dumps each message to a file: its mtime is the arrival time. CPU is user+system time from /proc
of every process of the system under test (Postfix: the master and every child, reaped ones
included; the gateway: the `serve` process and, on PostgreSQL, its database backends), per
message. Postfix runs from its own configuration directory in a temp folder on free loopback
ports (as root it needs `postfix`'s user; it is never installed as a service); without it the
Postfix rows are skipped with the reason.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from goals import goal_lines
from relay_throughput import (
    PY,
    ROOT,
    free_port,
    loadgen,
    prepare_gateway,
    private_schema,
    start_sink,
    stop,
    wait_port,
)

TICK = os.sysconf("SC_CLK_TCK")
SUBJECT = re.compile(rb"^Subject: bench (\d+)", re.MULTILINE)
ALIAS = "mentor-peer@mentor.test"


@dataclass
class Result:
    rate: float  # delivered (or, for the sink, accepted) per second, first send to last arrival
    cpu_ms: float  # per message
    p50_ms: float | None
    p99_ms: float | None
    delivered: int
    parts: dict[str, float] | None = None  # CPU ms per message by part, when the system has parts


# ---- CPU from /proc ---------------------------------------------------------------------------

def _stat(pid: int, *, children: bool = True) -> tuple[int, float] | None:
    """(parent pid, user+system seconds of the process and, by default, its reaped children)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2:].split()
    utime, stime, cutime, cstime = (int(f) for f in fields[11:15])
    if not children:
        cutime = cstime = 0
    return int(fields[1]), (utime + stime + cutime + cstime) / TICK


def tree_cpu(root: int) -> float:
    """CPU seconds of a process tree. A live process's own and reaped children's time is counted
    once: when it is reaped, its parent's cutime takes it over, so the sum is conserved."""
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (found := _stat(int(entry))):
            stats[int(entry)] = found
    members, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, _) in stats.items():
            if ppid == parent and pid not in members:
                members.add(pid)
                frontier.append(pid)
    return sum(stats[pid][1] for pid in members if pid in stats)


def own_cpu(pid: int) -> float:
    """CPU seconds of one process alone (without its children)."""
    found = _stat(pid, children=False)
    return found[1] if found else 0.0


def _socket_ports(pid: int) -> set[int]:
    """Local TCP ports of a process's sockets (to find its PostgreSQL backends)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    ports = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            cols = line.split()
            if cols[9] in inodes:
                ports.add(int(cols[1].rsplit(":", 1)[1], 16))
    return ports


def backend_pids(db_url: str, client_pid: int) -> list[int]:
    from sqlalchemy import create_engine, text

    ports = _socket_ports(client_pid)
    engine = create_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(text("select pid, client_port from pg_stat_activity "
                                 "where client_port is not null")).all()
    engine.dispose()
    return [pid for pid, port in rows if port in ports]


# ---- the C sink downstream -----------------------------------------------------------------

@contextlib.contextmanager
def c_sink(work: Path) -> Iterator[tuple[int, Path]]:
    os.chmod(work, 0o755)  # a temp folder is private; smtp-sink (nobody) and Postfix must enter
    dump = work / "arrived"
    dump.mkdir(mode=0o777)
    os.chmod(dump, 0o777)  # smtp-sink writes as nobody
    port = free_port()
    proc = subprocess.Popen(["smtp-sink", "-u", "nobody", "-d", f"{dump}/%H%M%S.",
                             f"127.0.0.1:{port}", "256"])
    wait_port(port)
    try:
        yield port, dump
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def arrivals(dump: Path) -> dict[int, float]:
    found = {}
    for path in dump.iterdir():
        number = SUBJECT.search(path.read_bytes())
        if number:
            found[int(number.group(1))] = path.stat().st_mtime
    return found


def wait_arrivals(dump: Path, count: int, timeout: float = 600) -> None:
    """Until `count` whole messages arrived (smtp-sink opens its file before the data is in)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if len(os.listdir(dump)) >= count and len(arrivals(dump)) >= count:
            return
        time.sleep(0.2)


def measure(args: argparse.Namespace, work: Path, port: int | str, to: str, sender: str, rate: float | None,
            cpu: Callable[[], float | dict[str, float]], dump: Path | None) -> Result:
    """Send the load to a ready system, wait for the arrivals, and measure the CPU in between.
    `cpu` returns seconds, or seconds by part (the total is their sum)."""
    load = argparse.Namespace(**{**vars(args), "rate": rate})
    before_parts = _parts(cpu())
    sent = loadgen(port, work / "load.json", load, sender, to)
    if dump is not None:
        wait_arrivals(dump, args.count, args.wait)
    after_parts = _parts(cpu())
    before, after = sum(before_parts.values()), sum(after_parts.values())
    parts = ({name: 1000 * (after_parts[name] - before_parts.get(name, 0.0)) / args.count
              for name in after_parts} if len(after_parts) > 1 else None)
    if dump is None:
        return Result(args.count / (sent["finished"] - sent["started"]),
                      1000 * (after - before) / args.count, None, None, args.count)
    arrived = arrivals(dump)
    accepted = {int(k): v for k, v in sent["accepted"].items()}
    latencies = sorted(arrived[n] - accepted[n] for n in accepted if n in arrived)
    return Result(len(arrived) / (max(arrived.values()) - sent["started"]),
                  1000 * (after - before) / max(1, len(arrived)),
                  1000 * statistics.median(latencies),
                  1000 * latencies[int(0.99 * (len(latencies) - 1))], len(arrived), parts)


def _parts(cpu: float | dict[str, float]) -> dict[str, float]:
    return cpu if isinstance(cpu, dict) else {"all": cpu}


# ---- the three systems -----------------------------------------------------------------------

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


def run_gateway(args: argparse.Namespace, work: Path, rate: float | None) -> Result:
    """`--instances N` serve processes share the database (each its own SMTP port; the load's
    connections take turns between them): PostgreSQL only, as an operator would scale out."""
    with private_schema(args), c_sink(work) as (sink_port, dump):
        db_url = args.database_url or f"sqlite:///{work / 'gateway.db'}"
        ports = [free_port() for _ in range(args.instances)]
        config, sender, alias = prepare_gateway(work, db_url, sink_port, ports[0], True,
                                                args.pairs)
        gateways: list[subprocess.Popen[bytes]] = []
        try:
            for number, port in enumerate(ports):
                env = {**os.environ, "GATEWAY_CONFIG": str(config), "PYTHONPATH": str(ROOT),
                       "GATEWAY_SMTP_PORT": str(port)}
                log = open(work / f"gateway{number}.log", "wb")  # noqa: SIM115  # closed with the process
                gateways.append(subprocess.Popen([PY, "-m", "gateway", "serve"], env=env,
                                                 stdout=log, stderr=log, cwd=work))
                wait_port(port)
                wait_workers(work / f"gateway{number}.log")
            backends: list[int] = []

            def cpu() -> dict[str, float]:
                # The pool opens connections as the load needs them: look again each time.
                if args.database_url:
                    backends[:] = sorted(set(backends).union(
                        *(backend_pids(db_url, g.pid) for g in gateways)))
                serve = sum(own_cpu(g.pid) for g in gateways)
                return {"serve": serve, "workers": sum(tree_cpu(g.pid) for g in gateways) - serve,
                        "database": sum(tree_cpu(p) for p in backends)}

            return measure(args, work, ",".join(map(str, ports)), alias, sender, rate, cpu, dump)
        finally:
            for gateway in gateways:
                gateway.send_signal(signal.SIGTERM)
            for gateway in gateways:
                gateway.wait(timeout=60)
            for number in range(len(gateways)):
                report_problems(work / f"gateway{number}.log")


PROBLEM = re.compile(r" (WARNING|ERROR|CRITICAL) ")


def report_problems(log: Path, shown: int = 5) -> None:
    """A run whose gateway logged warnings or errors says so (a held-up message leaves its
    cause there, and the log goes with the run's temporary folder)."""
    lines = [line for line in log.read_text(errors="replace").splitlines() if PROBLEM.search(line)]
    if lines:
        print(f"  {log.name}: {len(lines)} warning/error line(s); the first {min(shown, len(lines))}:",
              *(f"    {line[:300]}" for line in lines[:shown]), sep="\n", file=sys.stderr)


def wait_workers(log: Path, timeout: float = 60.0) -> None:
    """Until serve's checking workers have started (a one-time cost, not the messages')."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        if "checking workers ready" in text or "checking workers did not start" in text:
            return
        time.sleep(0.1)


def gateway_idle(args: argparse.Namespace, work: Path, seconds: float) -> float:
    """CPU of a `serve` (and its checking workers) with no traffic over `seconds`, in % of one
    core (after the workers started and a 3 s warm-up)."""
    with private_schema(args), c_sink(work) as (sink_port, _):
        db_url = args.database_url or f"sqlite:///{work / 'gateway.db'}"
        smtp_port = free_port()
        config, _, _ = prepare_gateway(work, db_url, sink_port, smtp_port, True)
        env = {**os.environ, "GATEWAY_CONFIG": str(config), "PYTHONPATH": str(ROOT)}
        log = open(work / "gateway-idle.log", "wb")  # noqa: SIM115  # closed with the process
        gateway = subprocess.Popen([PY, "-m", "gateway", "serve"], env=env, cwd=work,
                                   stdout=log, stderr=log)
        try:
            wait_port(smtp_port)
            wait_workers(work / "gateway-idle.log")  # their start is not idle time
            time.sleep(3)
            pids = [gateway.pid, *(backend_pids(db_url, gateway.pid) if args.database_url else [])]
            before = sum(tree_cpu(pid) for pid in pids)
            time.sleep(seconds)
            return 100 * (sum(tree_cpu(pid) for pid in pids) - before) / seconds
        finally:
            gateway.send_signal(signal.SIGTERM)
            gateway.wait(timeout=60)


SYSTEMS: dict[str, Callable[[argparse.Namespace, Path, float | None], Result]] = {
    "sink": run_sink, "postfix": run_postfix, "gateway": run_gateway}
LABELS = {"sink": "bare aiosmtpd sink", "postfix": "Postfix durable relay", "gateway": "gateway"}



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--size", type=int, default=5120)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--systems", default="sink,postfix,gateway")
    parser.add_argument("--half-rate", type=float, default=None,
                        help="fixed rate of the half-load runs (default: half of each system's "
                             "saturated rate in the same round)")
    parser.add_argument("--database-url", default=None, help="gateway database (default: SQLite)")
    parser.add_argument("--instances", type=int, default=1,
                        help="gateway processes sharing the database (PostgreSQL)")
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
    if args.idle:
        with tempfile.TemporaryDirectory() as folder:
            share = gateway_idle(args, Path(folder), args.idle)
        print(f"idle serve: {share:.2f} % of one core over {args.idle:.0f} s")
        return
    systems = [name for name in args.systems.split(",") if name]
    if "postfix" in systems and (reason := postfix_missing()):
        print(f"Postfix skipped: {reason}")
        systems.remove("postfix")
    if "gateway" in systems and "postfix" not in systems and not shutil.which("smtp-sink"):
        sys.exit("the gateway delivers to Postfix's smtp-sink, which is not installed")
    database = "PostgreSQL" if args.database_url else "SQLite"
    print(f"{args.count} x {args.size} B over {args.connections} reused connections, {args.rounds} "
          f"round(s), gateway on {database} with the shipped rules"
          f"{f', {args.instances} instances' if args.instances > 1 else ''}"
          f"{f', {args.pairs} pairs' if args.pairs > 1 else ''}; load average "
          f"{os.getloadavg()[0]:.1f}")
    results: dict[tuple[str, str], list[Result]] = {}
    for round_ in range(args.rounds):
        for name in systems:
            for load in ("saturated", "half"):
                rate = None
                if load == "half":
                    rate = args.half_rate or results[(name, "saturated")][-1].rate / 2
                with tempfile.TemporaryDirectory() as folder:
                    result = SYSTEMS[name](args, Path(folder), rate)
                results.setdefault((name, load), []).append(result)
                latency = (f"p50 {result.p50_ms:6.0f} ms  p99 {result.p99_ms:6.0f} ms"
                           if result.p50_ms is not None else "")
                if result.parts:
                    latency += "  (" + " + ".join(f"{part} {ms:.2f}" for part, ms in
                                                 result.parts.items()) + " ms)"
                print(f"round {round_ + 1}  {LABELS[name]:22} {load:9} "
                      f"{'' if rate is None else f'(at {rate:.0f}/s) '}{result.rate:7.0f} msg/s  "
                      f"{result.cpu_ms:6.2f} ms CPU/msg  {latency}  "
                      f"delivered {result.delivered}/{args.count}", flush=True)
    print(f"\nmedians over the rounds; load average now {os.getloadavg()[0]:.1f}")
    for (name, load), runs in results.items():
        rates = [r.rate for r in runs]
        p99 = [r.p99_ms for r in runs if r.p99_ms is not None]
        print(f"{LABELS[name]:22} {load:9} {statistics.median(rates):7.0f} msg/s "
              f"[{min(rates):.0f}-{max(rates):.0f}]  "
              f"{statistics.median(r.cpu_ms for r in runs):6.2f} ms CPU/msg"
              + (f"  p99 {statistics.median(p99):.0f} ms" if p99 else ""))
    if ratios := goal_lines(results, LABELS, bool(args.database_url)):
        print("\nper round, against the peers of the same round (issue 17's goals as ratios):",
              *ratios, sep="\n")


if __name__ == "__main__":
    main()
