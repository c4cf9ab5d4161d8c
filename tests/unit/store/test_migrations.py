"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from gateway.store import models  # noqa: F401  (registers the tables)
from gateway.store.db import Database
from gateway.store.migrate import migrate
from tests.conftest import private_pg_schema


def test_migrations_match_the_models(db_url: str) -> None:
    db = Database(db_url)
    try:
        migrate(db.engine)
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
        assert diff == [], f"models and migrations disagree; add a migration: {diff}"
    finally:
        db.close()


def test_migrating_twice_changes_nothing(db_url: str) -> None:
    db = Database(db_url)
    try:
        migrate(db.engine)
        tables = set(inspect(db.engine).get_table_names())
        migrate(db.engine)
        assert set(inspect(db.engine).get_table_names()) == tables
        assert {"pair", "alias", "message", "outbox", "auditevent"} <= tables
    finally:
        db.close()


def test_on_postgresql_new_bodies_are_compressed_with_lz4() -> None:
    """Message and outbox bodies large enough to compress are stored with lz4 (the server here
    is built with it, as Debian's and the official images are)."""
    for url in private_pg_schema("lz4 compression of bodies"):
        db = Database(url)
        try:
            migrate(db.engine)
            body = ("Bonjour Léa, voici le plan de jeudi. " * 200).encode()
            with db.engine.begin() as conn:
                conn.execute(text(
                    "INSERT INTO outbox (kind, envelope_from, recipient, data, state, attempts,"
                    " created_at, next_attempt_at) VALUES ('notice', '', 'r@x.example', :body,"
                    " 'queued', 0, now(), now())"), {"body": body})
                stored = conn.execute(text("SELECT pg_column_compression(data), data FROM outbox"))
                (method, data), = stored.all()
            assert method == "lz4" and bytes(data) == body
        finally:
            db.close()
