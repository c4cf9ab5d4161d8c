"""Database engine and sessions: SQLite (WAL, synchronous=FULL, writes serialized) or PostgreSQL, off the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import select
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.pool import NullPool
from sqlmodel import Session, create_engine

T = TypeVar("T")
# What Core statements run on: an ORM session's connection, or a bare connection (hot paths
# that need no ORM object skip the session's bookkeeping).
Executes = Session | Connection


def connection_of(where: Executes) -> Connection:
    return where.connection() if isinstance(where, Session) else where


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _own_transactions(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite opens a transaction only at the first INSERT/UPDATE/DELETE, so the reads of a
    # "read, decide, write" transaction ran outside it: another process (the CLI next to
    # `serve`) could commit in between and both would act on the same stale row.
    dbapi_connection.isolation_level = None


def _begin_immediate(connection: Connection) -> None:
    # Take the write lock when the transaction starts (waiting up to busy_timeout for it), so
    # what it reads stays true until it commits. SQLite has one writer at a time anyway.
    # Straight on the driver: through exec_driver_sql it cost ~40 % of an empty transaction.
    driver = connection.connection.driver_connection
    try:
        driver.execute("BEGIN IMMEDIATE")  # type: ignore[union-attr]
    except sqlite3.Error as error:  # e.g. still locked after busy_timeout: SQLAlchemy's error
        raise DBAPIError.instance("BEGIN IMMEDIATE", (), error, sqlite3.Error,
                                  dialect=connection.dialect) from error


def _closed_by_server(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    # An idle connection has nothing to read unless the server closed it (a restart or a
    # terminated backend sends its FATAL and EOF): found with a poll instead of pre-ping's
    # SELECT 1, a round trip per transaction for client and server. The pool replaces it.
    poll = select.poll()
    poll.register(dbapi_connection.fileno(), select.POLLIN)
    if dbapi_connection.closed or poll.poll(0):
        raise DisconnectionError("the server closed this connection")


def _read_only_session(dbapi_connection: Any, _record: Any) -> None:
    # Reads run without BEGIN/COMMIT (autocommit: two round trips less); in READ COMMITTED
    # each statement had its own snapshot anyway. A write there must fail, not commit alone.
    cursor = dbapi_connection.cursor()
    cursor.execute("SET SESSION default_transaction_read_only = on")
    cursor.close()


def _postgres_engine(url: str, *, read_only: bool) -> Engine:
    # The reads' pool serves the 4 reader threads; the writes' the writers and the rest.
    # Statements are prepared on the server at their first use (psycopg's default: the sixth):
    # the backend parses and plans each hot statement once per connection instead of five
    # times on each of up to 12 connections, for each length of an IN list.
    engine = create_engine(url, pool_size=4 if read_only else 8, max_overflow=4,
                           isolation_level="AUTOCOMMIT" if read_only else None,
                           connect_args={"prepare_threshold": 0})
    event.listen(engine, "checkout", _closed_by_server)
    if read_only:
        event.listen(engine, "connect", _read_only_session)
    return engine


def make_engine(url: str, *, sqlite_reads_only: bool = False, postgres_reads_only: bool = False) -> Engine:
    """An engine for `url`. On SQLite every transaction holds the write lock from its start,
    except on an engine made with `sqlite_reads_only` (read-only work: many readers at once).
    On PostgreSQL, `postgres_reads_only` makes one whose statements cannot write, each its own
    transaction."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        if not sqlite_reads_only:
            event.listen(engine, "connect", _own_transactions)
            event.listen(engine, "begin", _begin_immediate)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        url = str(parsed.set(drivername="postgresql+psycopg"))
    return _postgres_engine(url, read_only=postgres_reads_only)


def make_null_pool_engine(url: str) -> Engine:
    return create_engine(url, poolclass=NullPool)


class Database:
    """Owns the engine. Writes go through one thread on SQLite (one writer at a time anyway)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._read_engine = make_engine(url, sqlite_reads_only=True, postgres_reads_only=True)
        self._writer = ThreadPoolExecutor(1 if self.is_sqlite else 4, thread_name_prefix="db-w")
        self._reader = ThreadPoolExecutor(4, thread_name_prefix="db-r")

    @contextlib.contextmanager
    def session(self, *, read_only: bool = False) -> Iterator[Session]:
        engine = self._read_engine if read_only else self.engine
        with Session(engine, expire_on_commit=False) as session:
            yield session

    def transaction(self, fn: Callable[[Session], T], *, read_only: bool = False) -> T:
        """Run fn in a session and commit; roll back on any error."""
        with self.session(read_only=read_only) as session:
            try:
                result = fn(session)
                session.commit()
                return result
            except BaseException:
                session.rollback()
                raise

    async def write(self, fn: Callable[[Session], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._writer, functools.partial(self.transaction, fn))

    async def read(self, fn: Callable[[Session], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._reader, functools.partial(self.transaction, fn, read_only=True))

    async def write_rows(self, fn: Callable[[Connection], T]) -> T:
        """A write of Core statements only, on a bare connection (the same single writer and,
        on SQLite, the same write lock from the start): the ingest commit, once per batch."""
        def run() -> T:
            with self.engine.begin() as connection:
                return fn(connection)

        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._writer, run)

    async def read_rows(self, fn: Callable[[Connection], T]) -> T:
        """A read of Core statements only, without an ORM session: the RCPT look-up runs once
        per recipient, and a session's bookkeeping cost more than the query itself."""
        def run() -> T:
            with self._read_engine.connect() as connection:
                return fn(connection)

        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._reader, run)

    def close(self) -> None:
        self._writer.shutdown(wait=True)
        self._reader.shutdown(wait=True)
        self.engine.dispose()
        self._read_engine.dispose()
