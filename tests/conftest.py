"""Shared fixtures: a database on SQLite and (when configured) PostgreSQL, settings, a clock."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from gateway.clock import MovableClock
from gateway.config import Settings

ROOT = Path(__file__).resolve().parent.parent
PG_ENV = "GATEWAY_TEST_DATABASE_URL"


def require_all() -> bool:
    return os.environ.get("GATEWAY_TEST_REQUIRE_ALL") == "1"


def skip_or_fail(reason: str) -> None:
    """Locally a missing component skips with a reason; in CI it fails."""
    if require_all():
        pytest.fail(f"required component missing: {reason}")
    pytest.skip(reason)


def _pg_schema_url(base: str, schema: str) -> str:
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a private PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'gateway.db'}"
        return
    yield from private_pg_schema("PostgreSQL tests")


def private_pg_schema(why: str) -> Iterator[str]:
    """The URL of a fresh PostgreSQL schema, dropped afterwards (skips, or fails in CI, without one)."""
    base = os.environ.get(PG_ENV)
    if not base:
        skip_or_fail(f"{PG_ENV} is not set ({why})")
        return
    schema = f"t_{secrets.token_hex(6)}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield _pg_schema_url(base, schema)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'gateway.db'}"


@pytest.fixture
def empty_rules(tmp_path: Path) -> Path:
    folder = tmp_path / "no_rules"
    (folder / "wordlists").mkdir(parents=True)
    return folder


def make_settings(db_url: str, tmp_path: Path, *, rules_dir: Path | None = None,
                  **sections: dict[str, Any]) -> Settings:
    base = Settings().replace(
        gateway={"domain": "mentor.test", "program_name": "Academos Test",
                 "rules_dir": str(rules_dir or ROOT / "relay_rules"),
                 "templates_dir": str(ROOT / "templates"), "instance_name": "test"},
        database={"url": db_url},
        smtp={"host": "127.0.0.1", "port": 0},
        outbound={"mode": "maildir", "maildir": str(tmp_path / "outbox")},
        web={"port": 0},
        # Tests send unsigned mail from example.com addresses and many messages per pair: sender
        # authentication and flood limits are tried in their own tests (test_sender_auth.py,
        # test_floods.py), with a local DNS server and small limits.
        authentication={"mode": "off"},
        limits={"per_participant_hour": 100_000, "per_pair_day": 100_000},
        # Checking workers are tried in their own tests (relay/test_pool.py,
        # e2e/test_checking_workers.py, `make run`'s): a worker process per test costs seconds.
        processing={"workers": 0},
    )
    return base.replace(**sections) if sections else base


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()
