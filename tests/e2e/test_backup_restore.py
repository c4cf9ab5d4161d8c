"""`mentor-gateway backup` while the gateway runs, `restore` into a fresh instance: same queue, and the
restored gateway can act on it (SQLite online backup API; pg_dump / pg_restore on PostgreSQL)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from gateway.cli import main
from gateway.clock import MovableClock
from gateway.review.held import HeldFilter, approve, list_held
from tests.conftest import make_settings
from tests.e2e.harness import PHONE_RULE, Harness, simple_message, write_rules
from tests.e2e.test_cli_program import write_config

pytestmark = pytest.mark.e2e


@pytest.fixture
def fresh_url(db_url: str, tmp_path: Path) -> Iterator[str]:
    """Where the fresh instance keeps its data: a new SQLite file, or a new PostgreSQL database."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored' / 'gateway.db'}"
        return
    base = make_url(db_url)
    name = f"restore_{secrets.token_hex(4)}"
    admin = create_engine(base.set(query={}), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
        admin.dispose()


async def test_a_backup_taken_while_serving_restores_the_same_queue(
        db_url: str, fresh_url: str, tmp_path: Path, clock: MovableClock, smarthost: Any) -> None:
    rules = write_rules(tmp_path / "rules", {"phone.toml": PHONE_RULE})
    harness = Harness(make_settings(db_url, tmp_path, rules_dir=rules), clock, smarthost.port)
    await harness.start()
    try:
        pair = await harness.make_pair()
        for n in range(3):
            body = f"Question {n}, mon numéro : 514-555-123{n}\n"
            data = simple_message(pair.mentee_email, pair.mentor_alias, f"Sujet {n}", body)
            assert (await harness.send(pair.mentee_email, [pair.mentor_alias], data)).code == 250
        await harness.pump()
        before = await harness.db.read(lambda s: list_held(s, HeldFilter()))
        assert len(before) == 3
        backup = tmp_path / "backups" / "gateway.backup"
        # Taken from the command line while this gateway is still running.
        assert main(["-c", str(write_config(tmp_path, db_url)), "backup", str(backup)]) == 0
        assert main(["-c", str(write_config(tmp_path, db_url)), "backup", str(backup)]) == 2, \
            "an existing backup is never overwritten"
    finally:
        await harness.stop()

    restored_dir = tmp_path / "fresh"
    restored_dir.mkdir()
    config = write_config(restored_dir, fresh_url)
    assert main(["-c", str(config), "restore", str(backup)]) == 0
    assert main(["-c", str(config), "restore", str(backup)]) == 2, "never over a database in use"

    fresh = Harness(make_settings(fresh_url, restored_dir, rules_dir=rules), clock, smarthost.port)
    await fresh.start()
    try:
        after = await fresh.db.read(lambda s: list_held(s, HeldFilter()))
        assert [(m.id, m.subject, m.pair_id) for m in after] == \
            [(m.id, m.subject, m.pair_id) for m in before]
        before_count = len(smarthost.messages)
        await fresh.db.write(lambda s: approve(s, fresh.settings, after[0].id, actor="mod",
                                               now=clock.now()))
        await fresh.pump()
        assert len(smarthost.messages) == before_count + 1
    finally:
        await fresh.stop()
