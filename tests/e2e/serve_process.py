"""A real `python -m gateway serve` child process for end-to-end tests: config, start, wait, stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gateway.cli_commands.base import with_db
from gateway.config import load_settings
from gateway.program import service
from tests.conftest import ROOT

START_TIMEOUT = 30.0  # a cold start imports everything and migrates the database


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_until(predicate: Callable[[], bool], timeout: float, poll: float = 0.05) -> bool:
    """Wait for an outcome (not for time to pass): True as soon as it holds, False at the deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(poll)
    return predicate()


def write_config(path: Path, *, db_url: str, smtp_port: int, rules_dir: Path,
                 outbound: dict[str, Any], instance_name: str | None = "serve-test",
                 processing: dict[str, Any] | None = None) -> Path:
    """A complete config.toml for one test: no web page, no reminders, our ports and folders."""
    lines = [
        "[gateway]", 'domain = "mentor.test"', 'program_name = "Academos Test"',
        f'rules_dir = "{rules_dir}"', f'templates_dir = "{ROOT / "templates"}"',
        *([f'instance_name = "{instance_name}"'] if instance_name else []),
        "[database]", f'url = "{db_url}"',
        "[smtp]", 'host = "127.0.0.1"', f"port = {smtp_port}",
        "[outbound]", *(f"{key} = {_toml(value)}" for key, value in outbound.items()),
        "[web]", "enabled = false",
        "[reminders]", "enabled = false",
        "[authentication]", 'mode = "off"',
        "[limits]", "per_participant_hour = 100000", "per_pair_day = 100000",
        # no checking workers unless asked (test_checking_workers.py): each costs seconds
        "[processing]", *(f"{key} = {_toml(value)}"
                          for key, value in (processing or {"workers": 0}).items()),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return str(value)


def make_pairs(config: Path, count: int) -> list[service.PairView]:
    """Register `count` mentor/mentee pairs straight in the database the child will use."""
    settings = load_settings(config)
    from gateway.clock import SystemClock

    now = SystemClock().now()

    def create(s: Any) -> list[service.PairView]:
        views = []
        for n in range(count):
            service.add_participant(s, email=f"mentor.{n}@example.com", name=f"Marie {n}",
                                    role="mentor", lang="fr", now=now)
            service.add_participant(s, email=f"jeune.{n}@eleves.example.net", name=f"Léa {n}",
                                    role="mentee", lang="fr", now=now)
            views.append(service.create_pair(s, settings, mentor=f"mentor.{n}@example.com",
                                             mentee=f"jeune.{n}@eleves.example.net", now=now))
        return views

    result: list[service.PairView] = with_db(settings, create)
    return result


class ServeProcess:
    """One `serve` child at a time on a fixed port; restartable after a kill."""

    def __init__(self, config: Path, port: int, workdir: Path,
                 env: dict[str, str] | None = None) -> None:
        self.config = config
        self.port = port
        self.workdir = workdir
        self.env = env or {}
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def log_path(self) -> Path:
        return self.workdir / f"serve-{self.starts}.log"

    def start(self) -> None:
        """Start and return once the SMTP port answers (fails if the child dies first)."""
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.starts += 1
        env = {**os.environ, "GATEWAY_CONFIG": str(self.config), "PYTHONPATH": str(ROOT),
               **self.env}
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "gateway", "serve"], env=env,
                                         stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir)
        proc = self.proc
        up = wait_until(lambda: proc.poll() is not None or listening(self.port), START_TIMEOUT)
        if proc.poll() is not None or not up:
            raise AssertionError(f"serve did not start:\n{self.log()}")

    def kill(self) -> None:
        """kill -9: no chance to finish anything."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def terminate(self, timeout: float = 60.0) -> int:
        """SIGTERM and the exit code."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def stop(self) -> None:
        """Teardown: ask politely, then insist."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def run_cli(args: list[str], *, config: Path | None, cwd: Path,
            env: dict[str, str] | None = None, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """`python -m gateway ARGS` to completion, output captured."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    if config is not None:
        full_env["GATEWAY_CONFIG"] = str(config)
    return subprocess.run([sys.executable, "-m", "gateway", *args], env=full_env, cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)
