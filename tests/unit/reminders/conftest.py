"""Builders for pair activity facts and a whole-week 08:00-20:00 window, shared by the reminder tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.reminders.policy import PairActivity, Person
from gateway.reminders.rules import DEFAULT_RULES, ReminderRule, SendWindow, parse_send_window

TORONTO = "America/Toronto"
# Wednesday 2026-01-14 12:00 in Toronto (EST, UTC-5): inside the default window.
NOON = datetime(2026, 1, 14, 17, 0, tzinfo=UTC)
ALL_WEEK = parse_send_window("08:00-20:00", ["mon", "tue", "wed", "thu", "fri", "sat", "sun"])
ALWAYS = parse_send_window("00:00-24:00", ["mon", "tue", "wed", "thu", "fri", "sat", "sun"])


def rule(name: str) -> ReminderRule:
    return next(r for r in DEFAULT_RULES if r.name == name)


def person(role: str, **changes: Any) -> Person:
    base = Person(participant_id=1 if role == "mentor" else 2, role=role,  # type: ignore[arg-type]
                  lang="fr" if role == "mentee" else "en", tz=TORONTO, reminders_opt_out=False)
    return replace(base, **changes)


def pair(*, pair_id: int = 7, created_at: datetime = NOON - timedelta(days=30),
         last_at: datetime | None = None, last_from: str | None = "mentor",
         message_id: int | None = 100, sent: frozenset[str] = frozenset(),
         state: str = "active", mentor: Person | None = None, mentee: Person | None = None) -> PairActivity:
    """A pair whose last delivered message (if last_at is given) went from last_from."""
    return PairActivity(
        pair_id=pair_id, state=state, created_at=created_at,  # type: ignore[arg-type]
        mentor=mentor or person("mentor"), mentee=mentee or person("mentee"),
        last_delivered_at=last_at, last_delivered_from=last_from if last_at else None,  # type: ignore[arg-type]
        last_delivered_message_id=message_id if last_at else None, sent_keys=sent,
    )


def window(text: str = "08:00-20:00", days: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")) -> SendWindow:
    return parse_send_window(text, list(days))
