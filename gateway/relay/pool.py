"""Check batches of messages in worker processes: the rules and the rewrite on other cores.

One `serve` process receives, stores and sends under one interpreter lock; the checking
(parse, rules, forward render: relay/checking.py) is most of a message's CPU and needs no
database, so a batch large enough to be worth the trip (or holding a large message, whose
rewrite would otherwise hold the lock for a second) goes to `[processing] workers` processes,
started on first use. Everything else stays where it was: the claim, the thread ids and the
write step run in the gateway's own process, in the same transactions as before.

A worker that dies (killed, out of memory) loses nothing: the batch is checked in this process
instead and a new pool starts at the next large batch. Workers exit with the gateway: `stop`
shuts them down, and one whose gateway was killed exits by itself (`_die_with`).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from gateway.config import Settings
from gateway.relay.checking import Checked, Job, Moderate, check_all

log = logging.getLogger("gateway.relay")

LARGE_MESSAGE = 1024 * 1024  # one message this large is a batch worth sending

_moderate: Moderate | None = None  # a worker's own rules (loaded once, when it starts)
_settings: Settings | None = None


def _start_worker(settings: Settings, parent: int) -> None:
    from sqlalchemy.orm import configure_mappers

    from gateway.moderation.rules import load_rules
    from gateway.relay.decide import make_moderator

    _die_with(parent)
    configure_mappers()  # jobs arrive as plain rows (checking.Job), read through the mappers
    global _moderate, _settings
    _settings = settings
    _moderate = make_moderator(load_rules(Path(settings.gateway.rules_dir)), settings)


def _die_with(parent: int) -> None:
    """A worker whose gateway was killed (kill -9 leaves it no time to stop its pool) exits:
    at once on Linux (the kernel's parent-death signal), else within a second."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # gone before the signal was asked for
        os._exit(0)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


_PR_SET_PDEATHSIG = 1


def _check_in_worker(jobs: list[Job]) -> list[Checked]:
    assert _moderate is not None and _settings is not None
    return check_all(jobs, _moderate, _settings, keep_parsed=False)


def _ready() -> int:
    return os.getpid()


class CheckPool:
    """Decides where a batch is checked and runs it there (called from a database thread)."""

    def __init__(self, settings: Settings, moderate: Moderate) -> None:
        self._settings = settings
        self._moderate = moderate
        self._workers = settings.processing.workers
        self._offload_from = settings.processing.offload_from
        self._executor: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self.offloaded = 0  # batches checked in workers (the tests and the benchmark read it)

    def wants(self, jobs: list[Job]) -> bool:
        return self._workers > 0 and (len(jobs) >= self._offload_from or any(
            len(job.message.raw) >= LARGE_MESSAGE for job in jobs))

    def check_jobs(self, jobs: list[Job]) -> list[Checked]:
        if self.wants(jobs):
            try:
                executor = self._pool()
                size = -(-len(jobs) // self._workers)
                futures = [executor.submit(_check_in_worker, jobs[i:i + size])
                           for i in range(0, len(jobs), size)]
                checked = [done for future in futures for done in future.result()]
                self.offloaded += 1
                return checked
            except BrokenProcessPool:
                log.warning("a checking worker died; checking %d message(s) here", len(jobs))
                self._discard()
        return check_all(jobs, self._moderate, self._settings, keep_parsed=True)

    def warm(self) -> list[int]:
        """Start the workers now (serve does, so the first busy minute does not wait for them);
        returns their process ids."""
        if self._workers <= 0:
            return []
        executor = self._pool()
        return sorted({f.result() for f in [executor.submit(_ready)
                                            for _ in range(self._workers)]})

    def close(self) -> None:
        self._discard(wait=True)

    def _pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                # spawn, not fork: this process has threads (database, event loop) whose locks a
                # forked child would inherit held
                self._executor = ProcessPoolExecutor(
                    self._workers, mp_context=multiprocessing.get_context("spawn"),
                    initializer=_start_worker, initargs=(self._settings, os.getpid()))
            return self._executor

    def _discard(self, *, wait: bool = False) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=wait, cancel_futures=True)
