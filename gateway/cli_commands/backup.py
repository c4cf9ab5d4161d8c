"""`backup FILE` and `restore FILE`: a consistent copy of the database while serve runs, and back."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from gateway.cli_commands.base import CliError, command
from gateway.config import Settings


@command
def register(sub: Any) -> None:
    p = sub.add_parser("backup", help="copy the whole database to FILE (safe while serve runs)")
    p.add_argument("file", type=Path)
    p.set_defaults(handler=backup)
    p = sub.add_parser("restore", help="load FILE into the configured, still empty database")
    p.add_argument("file", type=Path)
    p.set_defaults(handler=restore)


def backup(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.store.backup import BackupError
    from gateway.store.backup import backup as copy

    try:
        copy(settings.database.url, args.file)
    except BackupError as exc:
        raise CliError(str(exc)) from exc
    print(f"backup written to {args.file} ({args.file.stat().st_size:,} bytes)")
    return 0


def restore(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.cli_commands.base import with_db
    from gateway.store.backup import BackupError
    from gateway.store.backup import restore as load

    try:
        load(settings.database.url, args.file)
    except BackupError as exc:
        raise CliError(str(exc)) from exc
    with_db(settings, lambda s: None)  # a backup from an older version gets the newer schema
    print(f"restored {args.file} into {settings.database.url.split('@')[-1]}")
    return 0
