"""PostgreSQL connections: one the server closed (a restart, a terminated backend) is replaced
before use, and a read-only transaction cannot write."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select

from gateway.store.db import Database
from gateway.store.migrate import migrate
from gateway.store.models import Organization
from tests.conftest import PG_ENV, private_pg_schema


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
