"""Alembic environment: migrates the database named by the caller (see gateway.store.migrate)."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from gateway.store import models  # noqa: F401  (registers the tables)
from gateway.store.db import make_null_pool_engine

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_null_pool_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
