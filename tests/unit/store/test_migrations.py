"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from gateway.store import migrate as migrate_module
from gateway.store import models  # noqa: F401  (registers the tables)
from gateway.store.db import Database
from gateway.store.migrate import alembic_config, current_revision, migrate, newest_revision
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


def test_the_newest_revision_read_from_the_scripts_is_alembics_head() -> None:
    """migrate() skips Alembic when the database is at this revision: it must be the head."""
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None and newest_revision() == head


def test_a_database_at_the_head_is_not_migrated_again_and_one_behind_is(
        db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    db = Database(db_url)
    upgrades: list[str] = []
    real_upgrade = command.upgrade

    def spy(cfg: Any, revision: str, **kwargs: Any) -> None:
        upgrades.append(revision)
        real_upgrade(cfg, revision, **kwargs)

    monkeypatch.setattr(command, "upgrade", spy)
    try:
        migrate(db.engine)  # a new database: Alembic builds it
        assert upgrades == ["head"] and current_revision(db.engine) == newest_revision()
        migrate(db.engine)  # at the head (every CLI command): nothing to do, Alembic not asked
        assert upgrades == ["head"]
        script = ScriptDirectory.from_config(alembic_config("sqlite://"))
        head = script.get_revision(script.get_current_head() or "")
        assert head is not None and isinstance(head.down_revision, str)
        with db.engine.begin() as connection:  # as if the code were one migration newer
            connection.execute(text("UPDATE alembic_version SET version_num = :v"),
                               {"v": head.down_revision})
        migrate(db.engine)
        assert upgrades == ["head", "head"] and current_revision(db.engine) == newest_revision()
    finally:
        db.close()


def test_a_script_layout_it_cannot_read_leaves_the_decision_to_alembic(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    versions = tmp_path / "versions"
    versions.mkdir()
    (versions / "a.py").write_text("revision = 'a'\ndown_revision = None\n", encoding="utf-8")
    (versions / "b.py").write_text("revision = 'b'\ndown_revision = 'a'\n", encoding="utf-8")
    monkeypatch.setattr(migrate_module, "MIGRATIONS", tmp_path)
    assert newest_revision() == "b"
    (versions / "c.py").write_text("revision = 'c'\ndown_revision = ('a', 'b')\n",
                                   encoding="utf-8")  # a merge
    assert newest_revision() is None
    (versions / "c.py").write_text("revision = 'c'\ndown_revision = 'a'\n", encoding="utf-8")
    assert newest_revision() is None  # two heads
