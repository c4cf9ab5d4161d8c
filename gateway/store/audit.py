"""The audit trail: every state change and staff action is one row (who, when, what, why)."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import insert
from sqlmodel import Session

from gateway.store.db import Executes
from gateway.store.models import AuditEvent
from gateway.store.raw import Raw

log = logging.getLogger("gateway.audit")


def record(
    session: Session,
    *,
    at: datetime,
    actor: str,
    subject_type: str,
    subject_id: int | None,
    action: str,
    from_state: str | None = None,
    to_state: str | None = None,
    detail: str | None = None,
) -> None:
    session.add(AuditEvent(at=at, actor=actor, subject_type=subject_type, subject_id=subject_id,
                           action=action, from_state=from_state, to_state=to_state,
                           detail=detail))
    _log(actor, subject_type, subject_id, action, from_state, to_state, detail)


def event(*, at: datetime, actor: str, subject_type: str, subject_id: int | None, action: str,
          from_state: str | None = None, to_state: str | None = None,
          detail: str | None = None) -> dict[str, object]:
    """One audit row as plain values, for record_many."""
    return {"at": at, "actor": actor, "subject_type": subject_type, "subject_id": subject_id,
            "action": action, "from_state": from_state, "to_state": to_state, "detail": detail}


_INSERT = Raw(insert(AuditEvent.__table__))  # type: ignore[attr-defined]  # no ORM objects


def record_many(session: Executes, events: list[dict[str, object]]) -> None:
    """Several rows (made by event()) in one statement, without ORM objects: the relay's hot
    path writes 4-5 per message, and an ORM row costs ~10x a row of a bulk insert."""
    if not events:
        return
    _INSERT.many(session, events)
    for row in events:
        _log(str(row["actor"]), str(row["subject_type"]), row["subject_id"], str(row["action"]),
             row["from_state"], row["to_state"], row["detail"])


def _log(actor: str, subject_type: str, subject_id: object, action: str, from_state: object,
         to_state: object, detail: object) -> None:
    # DEBUG: a message makes several events; INFO has one line per message handled (gateway.metrics).
    # Formatted only when enabled: building the line cost about a third of the ORM row itself.
    if log.isEnabledFor(logging.DEBUG):
        arrow = f" {from_state or '-'} -> {to_state}" if to_state else ""
        log.debug("%s %s#%s%s by %s%s", action, subject_type, subject_id, arrow, actor,
                  f" ({detail})" if detail else "")
