"""The gateway as bench/peers.py's system under test: `serve` processes on SQLite or PostgreSQL, and their CPU.

On PostgreSQL each run gets a private schema (dropped after it), and the backends serving the
gateway's connections count as the gateway's CPU. Several instances share the database, each on
its own SMTP port; the load's connections take turns between them, as an operator would scale
out.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from peer_measure import Result, backend_pids, c_sink, measure, own_cpu, tree_cpu
from relay_throughput import PY, ROOT, free_port, prepare_gateway, private_schema, wait_port

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_url(args: argparse.Namespace) -> str:
    """The PostgreSQL of the `gateway-pg` systems: --database-url if it is one, else the test
    database the suite uses (GATEWAY_TEST_DATABASE_URL), else the local default."""
    given = args.database_url or ""
    return given if given.startswith("postgresql") else \
        os.environ.get("GATEWAY_TEST_DATABASE_URL") or DEFAULT_POSTGRES


def run_gateway(args: argparse.Namespace, work: Path, rate: float | None, *,
                database_url: str | None, instances: int = 1) -> Result:
    """One run of the load against `instances` serve processes on `database_url` (None: SQLite
    in the run's folder)."""
    own = argparse.Namespace(**{**vars(args), "database_url": database_url})
    with private_schema(own), c_sink(work) as (sink_port, dump):
        db_url = own.database_url or f"sqlite:///{work / 'gateway.db'}"
        ports = [free_port() for _ in range(instances)]
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
                if own.database_url:
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
