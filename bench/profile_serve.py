"""Run `gateway serve` under cProfile, including the database threads; dump merged stats at exit.

    .venv/bin/python bench/profile_serve.py OUT.prof [serve arguments...]
(bench/relay_throughput.py --profile OUT.prof starts the gateway through this.)
"""

from __future__ import annotations

import cProfile
import sys
import threading
from collections.abc import Callable
from typing import Any

from gateway.store.db import Database

_local = threading.local()
_profiles: list[cProfile.Profile] = []
_lock = threading.Lock()


def _thread_profile() -> cProfile.Profile:
    profile = getattr(_local, "profile", None)
    if profile is None:
        profile = _local.profile = cProfile.Profile()
        with _lock:
            _profiles.append(profile)
    return profile


def _profiled(original: Callable[..., Any]) -> Any:
    def transaction(self: Database, fn: Callable[[Any], Any], **options: Any) -> Any:
        if threading.current_thread() is threading.main_thread():
            return original(self, fn, **options)  # the main thread's profile already sees it
        profile = _thread_profile()
        profile.enable()
        try:
            return original(self, fn, **options)
        finally:
            profile.disable()
    return transaction


def main() -> None:
    out, argv = sys.argv[1], sys.argv[2:]
    Database.transaction = _profiled(Database.transaction)  # type: ignore[method-assign]
    from gateway.cli import main as cli_main

    main_profile = cProfile.Profile()
    main_profile.enable()
    try:
        cli_main(["serve", *argv])
    finally:
        main_profile.disable()
        main_profile.dump_stats(out)
        with _lock:
            for n, profile in enumerate(_profiles):
                profile.dump_stats(f"{out}.thread{n}")


if __name__ == "__main__":
    main()
