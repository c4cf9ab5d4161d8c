"""A batch's held-back rows (store/deferred.py) on both engines: read by the batch's own queries, written at the commit, dropped by a rollback."""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from gateway.store.db import Database
from gateway.store.deferred import defer, write_deferred
from gateway.store.models import Outbox
from gateway.store.raw import Raw
from tests.unit.conftest import NOW, queue_notices

_OUTBOX = Outbox.__table__  # type: ignore[attr-defined]
_SET_ERROR = Raw(update(_OUTBOX).where(_OUTBOX.c.id == bindparam("row"))
                 .values(last_error=bindparam("error")))
_ERRORS = Raw(sa_select(_OUTBOX.c.id, _OUTBOX.c.last_error).order_by(_OUTBOX.c.id))


def errors(db: Database) -> list[str | None]:
    return db.transaction(lambda s: [row.last_error for row in _ERRORS.rows(s)])


def test_held_rows_are_seen_by_the_batchs_queries_and_written_at_the_commit(
        migrated_db: Database) -> None:
    queue_notices(migrated_db, NOW, 3)

    def batch(session: Session) -> list[str | None]:
        ids = [row.id for row in _ERRORS.rows(session)]
        defer(session, _SET_ERROR, {"row": ids[0], "error": "first"})
        defer(session, _SET_ERROR, {"row": ids[2], "error": "third"})
        # held: a statement on the driver's cursor does not see them yet...
        assert [row.last_error for row in _ERRORS.rows(session)] == [None, None, None]
        # ...an ORM query of the same transaction does
        seen = list(session.exec(select(Outbox.last_error).order_by(col(Outbox.id))).all())
        defer(session, _SET_ERROR, {"row": ids[1], "error": "second"})
        return seen  # the last one is written by the commit alone

    assert migrated_db.transaction(batch) == ["first", None, "third"]
    assert errors(migrated_db) == ["first", "second", "third"]


def test_write_deferred_writes_them_for_statements_on_the_cursor(migrated_db: Database) -> None:
    queue_notices(migrated_db, NOW, 2)

    def batch(session: Session) -> list[str | None]:
        for row in _ERRORS.rows(session):
            defer(session, _SET_ERROR, {"row": row.id, "error": f"e{row.id}"})
        write_deferred(session)
        return [row.last_error for row in _ERRORS.rows(session)]

    written = migrated_db.transaction(batch)
    assert written == errors(migrated_db) and None not in written


def test_a_rollback_drops_the_held_rows(migrated_db: Database) -> None:
    queue_notices(migrated_db, NOW, 2)

    def failing(session: Session) -> None:
        for row in _ERRORS.rows(session):
            defer(session, _SET_ERROR, {"row": row.id, "error": "lost"})
        session.exec(select(Outbox.id)).all()  # some were written before the failure
        raise RuntimeError("the batch failed")

    with pytest.raises(RuntimeError):
        migrated_db.transaction(failing)
    assert errors(migrated_db) == [None, None]

    def rolled_back_then_committed(session: Session) -> None:
        row = _ERRORS.rows(session)[0]
        defer(session, _SET_ERROR, {"row": row.id, "error": "dropped"})
        session.rollback()
        session.commit()  # nothing held any more: nothing written

    migrated_db.transaction(rolled_back_then_committed)
    assert errors(migrated_db) == [None, None]
