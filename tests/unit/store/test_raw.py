"""Statements run on the driver's cursor (store/raw.py) read and write exactly what SQLAlchemy
would, on SQLite and PostgreSQL: the same rows, the same stored values, the same errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import bindparam, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from gateway.delivery.results import _BOOKKEEPING
from gateway.ingress.writer import _INSERT_ONE as _INSERT_MESSAGE_ONE
from gateway.store.db import Database
from gateway.store.lifecycle import (
    _CLAIM_DUE,
    _CLAIM_DUE_SQLITE,
    _INSERT_OUTBOX_ONE,
    enqueue,
    still_received,
)
from gateway.store.models import AuditEvent, Organization
from gateway.store.raw import Raw, insert_returning_ids

# Whole seconds: a datetime without microseconds is where a naive text format would differ.
AT = datetime(2026, 11, 30, 23, 0, 0, tzinfo=UTC)
_AUDIT = AuditEvent.__table__  # type: ignore[attr-defined]
_ORG = Organization.__table__  # type: ignore[attr-defined]


def _event(actor: str, at: datetime = AT, detail: str | None = None) -> dict[str, object]:
    return {"at": at, "actor": actor, "subject_type": "message", "subject_id": 7,
            "action": "receive", "from_state": None, "to_state": "received", "detail": detail}


def test_values_are_stored_as_sqlalchemy_stores_them(migrated_db: Database) -> None:
    db = migrated_db
    events = [_event("raw", AT, "é ünïcode"), _event("raw", AT + timedelta(microseconds=5))]

    def write(session: Session) -> None:
        Raw(insert(_AUDIT)).many(session, events)
        session.connection().execute(insert(_AUDIT), [{**e, "actor": "core"} for e in events])

    db.transaction(write)
    stored = db.transaction(lambda s: s.connection().execute(text(
        "SELECT actor, at, detail FROM auditevent ORDER BY id")).all())
    by_actor = {actor: [(at, detail) for a, at, detail in stored if a == actor]
                for actor in ("raw", "core")}
    assert by_actor["raw"] == by_actor["core"]  # as stored: SQLite's text, byte for byte
    assert len(by_actor["raw"]) == 2
    # and compared as SQLAlchemy compares them (a due time against now, say)
    later = db.transaction(lambda s: s.connection().execute(
        select(_AUDIT.c.actor).where(_AUDIT.c.at > AT)).scalars().all())
    assert sorted(later) == ["core", "raw"]


def test_rows_read_are_sqlalchemys_rows(migrated_db: Database) -> None:
    db = migrated_db
    def setup(session: Session) -> list[int]:
        rows = [enqueue(session, kind="notice", envelope_from="", recipient=f"p{n}@example.org",
                        data=bytes([n, 0, 255]), now=AT + timedelta(seconds=n)) for n in range(3)]
        return [row.id for row in rows if row is not None and row.id is not None]

    ids = db.transaction(setup)
    def both(chosen: list[int]) -> tuple[list[Any], list[Any]]:
        raw = db.transaction(lambda s: _BOOKKEEPING.rows(s, {"ids": chosen}))
        core = db.transaction(lambda s: list(s.connection().execute(
            _BOOKKEEPING.statement, {"ids": chosen}).all()))
        return raw, core

    for chosen in (ids, ids[:1], ids[1:], ids):  # IN lists of several lengths, each its own SQL
        raw, core = both(chosen)
        assert sorted(tuple(r) for r in raw) == sorted(tuple(r) for r in core)
        assert {r.id for r in raw} == set(chosen)  # columns by name, as a Row's
        assert all(isinstance(r.next_attempt_at, datetime) for r in raw)


def test_an_empty_in_list_matches_nothing(migrated_db: Database) -> None:
    db = migrated_db
    assert db.transaction(lambda s: still_received(s, [], postgres=not db.is_sqlite)) == set()


def test_inserted_ids_come_back_in_the_order_of_the_rows(migrated_db: Database) -> None:
    db = migrated_db
    names = [f"org {n}" for n in (3, 1, 2)]
    rows = [{"name": name, "created_at": AT} for name in names]
    one = Raw(insert(_ORG).returning(_ORG.c.id))
    many = insert(_ORG).returning(_ORG.c.id, sort_by_parameter_order=True)
    ids = db.transaction(lambda s: insert_returning_ids(s, many, one, rows))
    stored: dict[int, str] = dict(db.transaction(lambda s: [tuple(row) for row in s.connection()
                                                           .execute(select(_ORG.c.id, _ORG.c.name))]))
    assert [stored[i] for i in ids] == names


def test_errors_are_sqlalchemys_and_the_next_transaction_works(migrated_db: Database) -> None:
    db = migrated_db
    by_id = Raw(insert(_AUDIT).values(id=bindparam("id")))
    db.transaction(lambda s: by_id.many(s, [{**_event("first"), "id": 1}]))
    with pytest.raises(IntegrityError):
        db.transaction(lambda s: by_id.many(s, [{**_event("again"), "id": 1}]))
    db.transaction(lambda s: by_id.many(s, [{**_event("next"), "id": 2}]))
    actors = db.transaction(lambda s: s.connection().execute(
        select(_AUDIT.c.actor).order_by(_AUDIT.c.id)).scalars().all())
    assert actors == ["first", "next"]


def _kept(session: Session) -> Any:
    return session.connection().connection.info["raw cursor"][1]


def test_statements_run_on_a_cursor_kept_with_their_connection(migrated_db: Database) -> None:
    """psycopg finds each parameter type's dumper once per cursor: the hot statements share one
    per connection instead of paying that at each statement, and the rows read are the same."""
    audit = Raw(insert(_AUDIT))
    actors = Raw(select(_AUDIT.c.actor).where(_AUDIT.c.actor == bindparam("actor")))

    def run(session: Session) -> list[Any]:
        audit.many(session, [_event("one")])
        kept = _kept(session)
        audit.many(session, [_event("two"), _event("three")])
        found = actors.rows(session, {"actor": "three"})
        assert _kept(session) is kept
        return [row.actor for row in found]

    assert migrated_db.transaction(run) == ["three"]


def test_a_statement_carrying_message_bodies_runs_on_a_cursor_of_its_own(migrated_db: Database) -> None:
    """A kept cursor holds its last parameters and result until the connection's next
    statement: one that writes or reads bodies (up to the size limit each) must not use it."""
    dialect = migrated_db.engine.dialect
    for statement in (_INSERT_OUTBOX_ONE, _CLAIM_DUE, _CLAIM_DUE_SQLITE, _INSERT_MESSAGE_ONE):
        plan = statement._plan(dialect, {})
        assert plan is not None and not plan.keep_cursor
    for statement in (_BOOKKEEPING, Raw(insert(_AUDIT))):
        plan = statement._plan(dialect, {})
        assert plan is not None and plan.keep_cursor

    def run(session: Session) -> None:
        Raw(insert(_AUDIT)).many(session, [_event("before")])
        kept = _kept(session)
        enqueue(session, kind="notice", envelope_from="", recipient="p@example.org",
                data=b"Subject: x\r\n\r\n" + b"x" * 200_000, now=AT)
        assert _kept(session) is kept  # the body went through another cursor

    migrated_db.transaction(run)
