"""Decide which reminders are owed right now, given each pair's delivered-mail facts, the rules and `now`.

Only messages actually delivered to the other participant count. The caller builds PairActivity
from delivered mail alone: held, rejected and failed messages, auto-replies, bounces and the
gateway's own notices never move `last_delivered_*`. Any new delivered message (from either
side) is a new anchor, so pending reminders for the old anchor stop and the clock restarts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from gateway.clock import as_utc
from gateway.reminders.rules import ReminderRule, SendWindow, Step
from gateway.reminders.window import in_send_window, resolve_zone

Role = Literal["mentor", "mentee"]
Recipient = Literal["mentor", "mentee", "coordinator"]
ESCALATION_TEMPLATE = "reminder_escalation"
START_ANCHOR = "start"


@dataclass(frozen=True)
class Person:
    participant_id: int
    role: Role
    lang: str
    tz: str
    reminders_opt_out: bool


@dataclass(frozen=True)
class PairActivity:
    pair_id: int
    state: Literal["active", "paused", "closed"]
    created_at: datetime
    mentor: Person
    mentee: Person
    last_delivered_at: datetime | None
    last_delivered_from: Role | None
    last_delivered_message_id: int | None
    sent_keys: frozenset[str]  # keys of reminders already sent (or being sent) for this pair


@dataclass(frozen=True)
class DueReminder:
    key: str
    pair_id: int
    rule: str
    step: int
    to_role: Recipient
    template: str
    lang: str | None  # recipient language (None for coordinator)
    partner_role: Role | None  # whose alias goes in Reply-To (the partner of the recipient)
    reason: str  # human sentence for `reminders preview`
    due_at: datetime  # when the step fell due (anchor + delay); sending may wait for the window


@dataclass(frozen=True)
class _Anchor:
    """What a rule's delays count from: one delivered message, or the pair's creation."""

    label: str
    at: datetime
    awaited: Role | None  # who owes an answer (awaiting_reply only)


def reminder_key(pair_id: int, rule: str, step: int, anchor: str, to_role: str) -> str:
    return f"{pair_id}:{rule}:{step}:{anchor}:{to_role}"


def due_reminders(pairs: Iterable[PairActivity], rules: Sequence[ReminderRule], window: SendWindow,
                  default_tz: str, now: datetime) -> list[DueReminder]:
    """Every reminder to send now: latest due step only, once per key, inside the recipient's hours."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (UTC)")
    due: list[DueReminder] = []
    for pair in pairs:
        if pair.state != "active":
            continue
        for rule in rules:
            for reminder in _owed(pair, rule, now):
                if in_send_window(now, _zone_for(reminder.to_role, pair, default_tz), window):
                    due.append(reminder)
    return due


def earliest_delay(rules: Sequence[ReminderRule]) -> timedelta:
    """The shortest delay of any step: a pair quiet for less than this is owed nothing."""
    delays = [step.after for rule in rules for step in rule.steps]
    if not delays:
        raise ValueError("no reminder rule has a step")
    return min(delays)


def _owed(pair: PairActivity, rule: ReminderRule, now: datetime) -> Iterator[DueReminder]:
    anchor = _anchor(pair, rule)
    if anchor is None:
        return
    step_index = _latest_due_step(rule.steps, anchor.at, now)
    if step_index is None:
        return
    sent_steps = _sent_steps(pair, rule.name, anchor.label)
    if sent_steps and max(sent_steps) > step_index:
        return  # a later step already went out (rules changed?): never go backwards
    if step_index not in sent_steps and len(sent_steps) >= rule.max_reminders:
        return
    step = rule.steps[step_index]
    for to_role in _recipients(step, anchor, pair):
        key = reminder_key(pair.pair_id, rule.name, step_index, anchor.label, to_role)
        if key in pair.sent_keys:
            continue
        yield _reminder(pair, rule, step_index, anchor, to_role, key, now)


def _anchor(pair: PairActivity, rule: ReminderRule) -> _Anchor | None:
    delivered = pair.last_delivered_at is not None and pair.last_delivered_message_id is not None
    if rule.kind == "never_started":
        if pair.last_delivered_at is not None or pair.last_delivered_message_id is not None:
            return None
        return _Anchor(START_ANCHOR, as_utc(pair.created_at), None)
    if not delivered:
        return None
    assert pair.last_delivered_at is not None  # narrowed by `delivered`
    label, at = str(pair.last_delivered_message_id), as_utc(pair.last_delivered_at)
    if rule.kind == "silent_pair":
        return _Anchor(label, at, None)
    if pair.last_delivered_from not in ("mentor", "mentee"):
        return None  # cannot tell who is awaited: better silent than wrong
    awaited: Role = "mentee" if pair.last_delivered_from == "mentor" else "mentor"
    return _Anchor(label, at, awaited)


def _latest_due_step(steps: Sequence[Step], anchor_at: datetime, now: datetime) -> int | None:
    """Earlier due steps are superseded by the latest one: a late reminder is worse than none."""
    latest: int | None = None
    for index, step in enumerate(steps):
        if anchor_at + step.after <= now:
            latest = index
    return latest


def _sent_steps(pair: PairActivity, rule: str, anchor: str) -> set[int]:
    steps: set[int] = set()
    for key in pair.sent_keys:
        parts = key.split(":")
        if len(parts) < 5 or parts[0] != str(pair.pair_id) or parts[1] != rule or parts[3] != anchor:
            continue
        if parts[2].isdigit():
            steps.add(int(parts[2]))
    return steps


def _recipients(step: Step, anchor: _Anchor, pair: PairActivity) -> list[Recipient]:
    if step.to == "coordinator":
        return ["coordinator"]  # escalations go out even when participants opted out
    if step.to == "awaited":
        roles: list[Role] = [anchor.awaited] if anchor.awaited else []
    elif step.to == "both":
        roles = ["mentor", "mentee"]
    else:
        roles = [step.to]
    return [role for role in roles if not _person(pair, role).reminders_opt_out]


def _reminder(pair: PairActivity, rule: ReminderRule, step_index: int, anchor: _Anchor,
              to_role: Recipient, key: str, now: datetime) -> DueReminder:
    coordinator = to_role == "coordinator"
    return DueReminder(
        key=key, pair_id=pair.pair_id, rule=rule.name, step=step_index, to_role=to_role,
        template=ESCALATION_TEMPLATE if coordinator else rule.template,
        lang=None if coordinator else _person(pair, to_role).lang,  # type: ignore[arg-type]
        partner_role=None if coordinator else _partner(to_role),  # type: ignore[arg-type]
        reason=_reason(rule, anchor, to_role, now - anchor.at),
        due_at=anchor.at + rule.steps[step_index].after,
    )


def _reason(rule: ReminderRule, anchor: _Anchor, to_role: Recipient, quiet: timedelta) -> str:
    if rule.kind == "awaiting_reply" and anchor.awaited:
        sentence = f"{anchor.awaited} has not answered the {_partner(anchor.awaited)} for {_span(quiet)}"
    elif rule.kind == "silent_pair":
        sentence = f"no message either way for {_span(quiet)}"
    else:
        sentence = f"no message since the pair was created {_span(quiet)} ago"
    return sentence + ("; telling the coordinator" if to_role == "coordinator" else "")


def _span(delta: timedelta) -> str:
    if delta >= timedelta(days=1):
        amount, unit = delta.days, "day"
    elif delta >= timedelta(hours=1):
        amount, unit = int(delta.total_seconds() // 3600), "hour"
    else:
        amount, unit = max(0, int(delta.total_seconds() // 60)), "minute"
    return f"{amount} {unit}{'' if amount == 1 else 's'}"


def _zone_for(to_role: Recipient, pair: PairActivity, default_tz: str) -> str:
    """Participants get their own hours; coordinators get the program's."""
    if to_role == "coordinator":
        return resolve_zone(default_tz, default_tz)
    return resolve_zone(_person(pair, to_role).tz, default_tz)


def _person(pair: PairActivity, role: Role) -> Person:
    return pair.mentor if role == "mentor" else pair.mentee


def _partner(role: Role) -> Role:
    return "mentee" if role == "mentor" else "mentor"
