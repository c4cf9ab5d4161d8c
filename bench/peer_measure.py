"""What bench/peers.py measures a system with: its CPU from /proc, the C sink it delivers to, one run of the load.

CPU is user+system time from /proc of every process of the system under test, reaped children
included; on PostgreSQL, the backends serving the gateway's connections count as the gateway's.
Arrival times are the mtimes of the files Postfix's C `smtp-sink` dumps each message to.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import statistics
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from relay_throughput import free_port, loadgen, wait_port

TICK = os.sysconf("SC_CLK_TCK")
SUBJECT = re.compile(rb"^Subject: bench (\d+)", re.MULTILINE)


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
