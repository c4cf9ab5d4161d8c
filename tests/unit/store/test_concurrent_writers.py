"""Two processes writing one SQLite file (a CLI command while `serve` runs) do not lose updates.

pysqlite used to open a transaction only at the first write, so what a transaction had read
could be changed by another process before it wrote: a read-modify-write lost the other's update
(and two moderators could both approve a held message; see test_moderation_decisions).
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from gateway.store.db import Database
from gateway.store.migrate import migrate
from gateway.store.models import Organization

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)
# How long the CLI, having read, gives the other process to write first. With the fix the other
# process is waiting for the CLI's commit, so this runs out; without it, the other commits.
CHANCE_TO_INTERLEAVE = 0.5


def append_to_name(session: Session, suffix: str) -> None:
    org = session.exec(select(Organization)).one()
    org.name = f"{org.name} + {suffix}"
    session.add(org)


def test_read_modify_write_from_two_processes_keeps_both_updates(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    serve_db, cli_db = Database(url), Database(url)
    migrate(serve_db.engine)
    serve_db.transaction(lambda s: s.add(Organization(name="École", created_at=NOW)))
    cli_has_read, serve_committed = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def cli_update(session: Session) -> None:
        org = session.exec(select(Organization)).one()
        cli_has_read.set()
        serve_committed.wait(CHANCE_TO_INTERLEAVE)
        org.name = f"{org.name} + CLI"
        session.add(org)

    def serve_update() -> None:
        cli_has_read.wait(10)
        try:
            serve_db.transaction(lambda s: append_to_name(s, "serve"))
            serve_committed.set()
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    serving = threading.Thread(target=serve_update)
    serving.start()
    try:
        cli_db.transaction(cli_update)
    finally:
        serving.join(30)
    assert errors == []
    [name] = cli_db.transaction(lambda s: [o.name for o in s.exec(select(Organization))])
    assert name == "École + CLI + serve"


def test_a_writer_that_cannot_get_the_lock_gets_sqlalchemys_error_and_the_next_one_works(
        tmp_path: Path) -> None:
    """BEGIN IMMEDIATE runs on the driver: its 'database is locked' is still SQLAlchemy's
    OperationalError (what the callers and the SMTP door's 451 expect), and the connection
    goes back to the pool usable."""
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    db = Database(url)
    migrate(db.engine)
    holder = sqlite3.connect(tmp_path / "gateway.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process writing
    try:
        with db.engine.connect() as connection:
            driver = connection.connection.driver_connection
            assert driver is not None
            driver.execute("PRAGMA busy_timeout = 50")  # not 30 s, for the test
            with pytest.raises(OperationalError, match="database is locked"):
                connection.begin()
    finally:
        holder.rollback()
        holder.close()
    db.transaction(lambda s: s.add(Organization(name="École", created_at=NOW)))
    assert [o.name for o in db.transaction(lambda s: s.exec(select(Organization)).all())] == \
        ["École"]
    db.close()
