"""Backups of the whole database while the gateway runs: SQLite's online backup API, or pg_dump.

A backup holds every message, the outbox, the audit trail and the shared signing secrets; with
config.toml and relay_rules/ it is the whole state of a gateway.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(Exception):
    """A backup or restore that could not be done, phrased for the operator."""


def _sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    if not parsed.database or parsed.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(parsed.database)


def libpq_url(url: str) -> tuple[str, str | None]:
    """(a URL pg_dump understands, the schema named by a search_path option if any)."""
    parsed = make_url(url).set(drivername="postgresql")
    options = parsed.query.get("options")
    schema = None
    if options:
        text = options if isinstance(options, str) else options[0]
        for part in text.split():
            if part.startswith("-csearch_path="):
                schema = part.split("=", 1)[1].split(",")[0]
    rendered = parsed.render_as_string(hide_password=False)
    return rendered, schema


def backup(url: str, target: Path) -> None:
    """Write a consistent copy of the database at `url` to `target` (a new file)."""
    if target.exists():
        raise BackupError(f"{target} already exists: choose a new file name")
    target.parent.mkdir(parents=True, exist_ok=True)
    source = _sqlite_path(url)
    if source is not None:
        if not source.exists():
            raise BackupError(f"{source}: no such database")
        # The online backup API copies page by page under SQLite's own locking: the running
        # gateway keeps writing, and the copy is one consistent moment (WAL content included).
        with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as src, \
                sqlite3.connect(target) as dst:
            src.backup(dst, pages=4096)
        return
    dsn, schema = libpq_url(url)
    command = ["pg_dump", "--format=custom", "--no-owner", f"--file={target}"]
    command += [f"--schema={schema}"] if schema else []
    _run(command + [dsn], "pg_dump")


def restore(url: str, source: Path) -> None:
    """Load a backup into the database at `url`, which must be empty (a fresh instance's)."""
    if not source.is_file():
        raise BackupError(f"{source}: no such backup file")
    target = _sqlite_path(url)
    if target is not None:
        if target.exists() and target.stat().st_size > 0:
            raise BackupError(f"{target} already exists: restore into a new, empty database")
        target.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(source) as src:
            if src.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise BackupError(f"{source}: not a sound SQLite database")
        shutil.copyfile(source, target)
        return
    dsn, _ = libpq_url(url)
    _run(["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={dsn}", str(source)],
         "pg_restore")


def _run(command: list[str], name: str) -> None:
    if shutil.which(command[0]) is None:
        raise BackupError(f"{name} is not installed (apt install postgresql-client)")
    done = subprocess.run(command, capture_output=True, text=True, timeout=3600,
                          env={**os.environ, "PGCONNECT_TIMEOUT": "10"})
    if done.returncode != 0:
        raise BackupError(f"{name} failed: {done.stderr.strip()[:500]}")

