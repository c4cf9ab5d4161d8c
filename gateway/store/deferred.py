"""A batch's row writes held back in its session and sent as one executemany per statement, before anything can read them.

The relay's write step forwards a batch of messages; each forward updates its message row and
adds a thread-id map row. One statement per row cost a round trip each on PostgreSQL (two per
message, about as many as the rest of the batch together). Held here, they go as one
executemany per statement (one round trip), and they are still written before anything could
miss them:
- before every ORM statement of the session (`do_orm_execute`: a query reads what the batch
  wrote, as the ORM's autoflush would let it);
- before the commit (nothing held is ever dropped by a commit);
- when the caller asks (`write_deferred`: statements run on the driver's cursor, store/raw.py,
  bypass the ORM's events; the thread-id look-ups call it).
A rollback of the session's outer transaction drops them with the rest. Code that defers rows
opens no savepoint while they are held.
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, SessionTransaction
from sqlmodel import Session

from gateway.store.raw import Params, Raw

_KEY = "gateway.deferred_rows"


def defer(session: Session, statement: Raw, row: Params) -> None:
    """Run `statement` with `row` later in this transaction (before any read or the commit)."""
    held: dict[Raw, list[Params]] = session.info.setdefault(_KEY, {})
    held.setdefault(statement, []).append(row)


def write_deferred(session: Session) -> None:
    """Write the held rows now, each statement's rows as one executemany, in the order the
    statements were first deferred."""
    held: dict[Raw, list[Params]] | None = session.info.pop(_KEY, None)
    if held:
        for statement, rows in held.items():
            statement.many(session, rows)


@event.listens_for(Session, "do_orm_execute")
def _before_orm_statement(state: ORMExecuteState) -> None:
    if _KEY in state.session.info:
        write_deferred(state.session)  # type: ignore[arg-type]  # SQLModel's sessions


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    write_deferred(session)


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, previous: SessionTransaction) -> None:
    if not previous.nested:
        session.info.pop(_KEY, None)

