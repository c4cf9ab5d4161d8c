"""The `mentor-gateway` command: parse arguments, call a service, print (JSON where scripts need it)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from gateway.clock import SystemClock
from gateway.config import ConfigError, Settings, default_config_path, load_settings

Command = Callable[[argparse.Namespace, Settings], int]
_registrars: list[Callable[[Any], None]] = []


class CliError(Exception):
    """A refusal to print as one line on stderr, exit code 2."""


def command(registrar: Callable[[Any], None]) -> Callable[[Any], None]:
    """Command modules register their sub-parsers through this decorator."""
    _registrars.append(registrar)
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


class OneLineParser(argparse.ArgumentParser):
    """Bad arguments give one line on stderr and exit code 2, like every other refusal here."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from gateway import cli_commands  # noqa: F401  (registers the commands)

    # Sub-parsers inherit the parser's class, so every sub-command answers in one line too.
    parser = OneLineParser(prog="mentor-gateway", description=__doc__)
    parser.add_argument("-c", "--config", type=Path, default=None,
                        help="config file (default: $GATEWAY_CONFIG, else ./config.toml)")
    sub = parser.add_subparsers(dest="command", required=True)
    for registrar in _registrars:
        registrar(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.config is not None and not args.config.is_file():
            # A mistyped -c would otherwise run on the defaults, with an empty database.
            raise ConfigError(f"{args.config}: no such config file")
        settings = load_settings(args.config or default_config_path())
        handler: Command = args.handler
        return handler(args, settings)
    except (ConfigError, CliError) as exc:
        print(f"mentor-gateway: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # known service errors carry a human message
        if type(exc).__name__ in ("ProgramError", "RuleError", "QueueError", "ReminderConfigError",
                                  "StaffError"):
            print(f"mentor-gateway: {exc}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
