"""PostgreSQL connections: one the server closed (a restart, a terminated backend) is replaced
before use, and a read-only transaction cannot write."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import bindparam, create_engine, text
from sqlalchemy import select as sa_select
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select

from gateway.store.db import Database
from gateway.store.migrate import migrate
from gateway.store.models import Organization
from gateway.store.raw import Raw
from tests.conftest import PG_ENV, private_pg_schema

_ORG = Organization.__table__  # type: ignore[attr-defined]


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from private_pg_schema("PostgreSQL connections")


def backend_pid(session: Session) -> int:
    return int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())


def terminate(pid: int) -> None:
    """End one backend, as a server restart would, and wait until it is gone."""
    admin = create_engine(os.environ[PG_ENV], isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            for _ in range(100):
                if not conn.execute(text("SELECT 1 FROM pg_stat_activity WHERE pid = :pid"),
                                    {"pid": pid}).first():
                    return
                time.sleep(0.05)
        raise AssertionError(f"backend {pid} still there")
    finally:
        admin.dispose()


@pytest.mark.parametrize("way", ["write", "read"])
async def test_a_pooled_connection_the_server_closed_is_replaced_before_use(pg_url: str,
                                                                           way: str) -> None:
    db = Database(pg_url)
    run = db.write if way == "write" else db.read
    engine = db.engine if way == "write" else db._read_engine
    try:
        first = await run(backend_pid)
        assert engine.pool.checkedin() == 1  # type: ignore[attr-defined]  # the only one, pooled
        terminate(first)
        second = await run(backend_pid)  # no error: the gateway went on working
        assert second != first
    finally:
        db.close()


async def test_a_read_only_transaction_cannot_write(pg_url: str) -> None:
    db = Database(pg_url)
    migrate(db.engine)
    try:
        with pytest.raises(DBAPIError, match="read-only"):
            await db.read(lambda s: s.execute(text(
                "INSERT INTO organization (name, created_at) VALUES ('x', now())")))
        assert await db.read(lambda s: s.exec(select(Organization)).all()) == []
    finally:
        db.close()


async def test_a_replaced_connection_gets_its_own_kept_cursor(pg_url: str) -> None:
    """store/raw.py keeps a driver cursor with each connection: after the server closed one,
    the statements run on the new connection, not on the dead one's cursor."""
    db = Database(pg_url)
    migrate(db.engine)
    names = Raw(sa_select(_ORG.c.name).where(_ORG.c.name == bindparam("name")))

    def look(session: Session) -> tuple[int, Any, list[str]]:
        found = [row.name for row in names.rows(session, {"name": "x"})]
        kept = session.connection().connection.info["raw cursor"][1]
        return backend_pid(session), kept, found

    try:
        await db.write(lambda s: s.execute(text(
            "INSERT INTO organization (name, created_at) VALUES ('x', now())")))
        first, kept, found = await db.write(look)
        assert found == ["x"]
        terminate(first)
        second, kept_now, found = await db.write(look)
        assert second != first and kept_now is not kept and found == ["x"]
    finally:
        db.close()
