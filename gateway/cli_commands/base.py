"""What every sub-command module shares: registration, output, one transaction, time options, refusals."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from gateway.clock import SystemClock
from gateway.config import Settings
from gateway.errors import GatewayError

Command = Callable[[argparse.Namespace, Settings], int]
registrars: list[Callable[[Any], None]] = []


class CliError(GatewayError):
    """A refusal to print as one line on stderr, exit code 2."""


def command(registrar: Callable[[Any], None]) -> Callable[[Any], None]:
    """Command modules register their sub-parsers through this decorator."""
    registrars.append(registrar)
    return registrar


def emit(args: argparse.Namespace, data: Any, text: str) -> None:
    print(json.dumps(data, ensure_ascii=False, default=str) if getattr(args, "json", False) else text)


def with_db(settings: Settings, fn: Callable[[Any], Any], *, read_only: bool = False) -> Any:
    """Run fn(session) in one committed transaction on a migrated database.

    `read_only` commands (lists, previews) do not take SQLite's write lock, so a long listing
    never makes the running gateway's writes wait."""
    from gateway.store.db import Database
    from gateway.store.migrate import migrate

    db = Database(settings.database.url)
    try:
        migrate(db.engine)
        return db.transaction(fn, read_only=read_only)
    finally:
        db.close()


def now() -> Any:
    return SystemClock().now()


def at_time(value: str | None) -> datetime:
    """An `--at` option: an ISO time (UTC if it has no offset), or now."""
    if value is None:
        return now()  # type: ignore[no-any-return]
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise CliError(f"--at: {value!r} is not an ISO time such as 2026-12-01T10:00:00-05:00") from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
