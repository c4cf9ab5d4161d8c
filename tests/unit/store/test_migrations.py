"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from gateway.store import models  # noqa: F401  (registers the tables)
from gateway.store.db import Database
from gateway.store.migrate import migrate


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
