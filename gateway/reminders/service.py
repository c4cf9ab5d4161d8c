"""Reminders at the edge: load pair activity with indexed queries, apply the policy, queue mail once."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, String, and_, case, cast, literal, not_, or_, text
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from gateway.clock import as_utc
from gateway.config import Settings
from gateway.notices import bounce_address, queue_program_mail
from gateway.reminders.policy import DueReminder, PairActivity, Person, due_reminders
from gateway.reminders.rules import (
    DEFAULT_RULES,
    ReminderRule,
    SendWindow,
    parse_reminder_rules,
    parse_send_window,
)
from gateway.reminders.unsubscribe import unsubscribe_headers
from gateway.store.audit import record
from gateway.store.db import Database
from gateway.store.models import Alias, Outbox, Pair, Participant, Staff

log = logging.getLogger("gateway.reminders")
KEY_PREFIX = "reminder:"
# Steps can be held back by the send window (a weekend, a night): look a little past the last step.
GRACE = timedelta(days=3)
CHUNK = 5000


def reminder_rules(settings: Settings) -> tuple[ReminderRule, ...]:
    raw = settings.reminders.rules
    return parse_reminder_rules(raw) if raw else DEFAULT_RULES


def send_window(settings: Settings) -> SendWindow:
    return parse_send_window(settings.reminders.send_window, settings.reminders.weekdays)


def _bounds(rules: Sequence[ReminderRule]) -> tuple[timedelta, timedelta]:
    delays = [step.after for rule in rules for step in rule.steps]
    return min(delays), max(delays) + GRACE


def candidate_rows(session: Session, now: datetime, rules: Sequence[ReminderRule]) -> list[Any]:
    """Active pairs quiet for long enough that some step can be due, minus those owed nothing new."""
    earliest, latest = _bounds(rules)
    quiet = and_(col(Pair.last_delivered_at) <= now - earliest,
                 col(Pair.last_delivered_at) >= now - latest)
    never = and_(col(Pair.last_delivered_at).is_(None), col(Pair.created_at) <= now - earliest,
                 col(Pair.created_at) >= now - latest)
    query = (
        sa_select(*[col(c) for c in (
            Pair.id, Pair.state, Pair.created_at, Pair.last_delivered_at, Pair.last_delivered_from,
            Pair.last_delivered_message_id, Pair.mentor_id, Pair.mentee_id)])
        .where(col(Pair.state) == "active", or_(quiet, never),
               not_(and_(*[_nothing_new(rule, now) for rule in rules])))
    )
    if session.get_bind().dialect.name == "postgresql":
        # The many cheap index probes look expensive to the planner, which then spends far longer
        # JIT-compiling the query than running it.
        session.execute(text("SET LOCAL jit = off"))
    return list(session.execute(query).all())


def _nothing_new(rule: ReminderRule, now: datetime) -> ColumnElement[bool]:
    """SQL: the rule owes this pair nothing new, because no step is due or the latest due step's keys
    are already in the outbox (probes of its unique dedup_key index). A pre-filter only: it never
    drops a pair the policy would remind, and the policy still makes every decision.
    """
    at: Any
    anchor: ColumnElement[str]
    if rule.kind == "never_started":
        at, anchor = col(Pair.created_at), literal("start")
        applies: ColumnElement[bool] = col(Pair.last_delivered_at).is_(None)
    else:
        at, anchor = col(Pair.last_delivered_at), cast(col(Pair.last_delivered_message_id), String)
        applies = and_(col(Pair.last_delivered_at).is_not(None),
                       col(Pair.last_delivered_message_id).is_not(None))
    awaited = case((col(Pair.last_delivered_from) == "mentor", "mentee"), else_="mentor")
    latest_sent = []
    for index, step in enumerate(rule.steps):
        due = [at <= now - step.after]
        if index + 1 < len(rule.steps):
            due.append(at > now - rule.steps[index + 1].after)
        roles: list[ColumnElement[str]] = (
            [awaited] if step.to == "awaited"
            else [literal("mentor"), literal("mentee")] if step.to == "both" else [literal(step.to)])
        prefix = literal(KEY_PREFIX) + cast(col(Pair.id), String) + literal(f":{rule.name}:{index}:")
        sent = [sa_select(literal(1)).where(col(Outbox.dedup_key) == prefix + anchor + literal(":") + role)
                .exists() for role in roles]
        latest_sent.append(and_(*due, *sent))
    return or_(not_(applies), at > now - rule.steps[0].after, *latest_sent)


def _sent_keys(session: Session, pair_ids: Sequence[int]) -> dict[int, set[str]]:
    """Reminder keys already queued for these pairs (through the outbox pair_id index)."""
    keys: dict[int, set[str]] = {}
    for start in range(0, len(pair_ids), CHUNK):
        chunk = pair_ids[start:start + CHUNK]
        rows = session.execute(
            sa_select(col(Outbox.pair_id), col(Outbox.dedup_key))
            .where(col(Outbox.pair_id).in_(chunk), col(Outbox.kind) == "reminder")
        ).all()
        for pair_id, key in rows:
            if key:
                keys.setdefault(pair_id, set()).add(key.removeprefix(KEY_PREFIX))
    return keys


def _people(session: Session, ids: Sequence[int]) -> dict[int, tuple[str, str | None, bool]]:
    """lang, time zone and opt-out of these participants, by primary key."""
    found: dict[int, tuple[str, str | None, bool]] = {}
    for start in range(0, len(ids), CHUNK):
        rows = session.execute(
            sa_select(col(Participant.id), col(Participant.lang), col(Participant.time_zone),
                      col(Participant.reminders_opt_out))
            .where(col(Participant.id).in_(ids[start:start + CHUNK]))
        ).all()
        found.update({r[0]: (r[1], r[2], bool(r[3])) for r in rows})
    return found


def _activity(row: Any, sent: dict[int, set[str]], people: dict[int, tuple[str, str | None, bool]],
              default_tz: str) -> PairActivity:
    def person(participant_id: int, role: Literal["mentor", "mentee"]) -> Person:
        lang, tz, opt_out = people.get(participant_id, ("fr", None, False))
        return Person(participant_id, role, lang, tz or default_tz, opt_out)

    return PairActivity(
        pair_id=row[0], state=row[1], created_at=as_utc(row[2]),
        last_delivered_at=as_utc(row[3]) if row[3] else None, last_delivered_from=row[4],
        last_delivered_message_id=row[5], mentor=person(row[6], "mentor"),
        mentee=person(row[7], "mentee"), sent_keys=frozenset(sent.get(row[0], ())),
    )


def find_due(session: Session, settings: Settings, now: datetime) -> list[DueReminder]:
    """Pairs that may owe something (indexed SQL), their sent keys and people, then the pure policy."""
    rules = reminder_rules(settings)
    default_tz = settings.gateway.time_zone
    rows = candidate_rows(session, now, rules)
    sent = _sent_keys(session, [r[0] for r in rows])
    people = _people(session, sorted({pid for r in rows for pid in (r[6], r[7])}))
    activity = [_activity(r, sent, people, default_tz) for r in rows]
    return due_reminders(activity, rules, send_window(settings), default_tz, now)


def queue_reminders(session: Session, settings: Settings, due: Iterable[DueReminder],
                    now: datetime) -> int:
    """Each reminder is an outbox row with a unique key: a second instance's insert fails, harmlessly."""
    queued = 0
    for reminder in due:
        savepoint = session.begin_nested()
        try:
            if _queue_one(session, settings, reminder, now):
                queued += 1
            savepoint.commit()
        except IntegrityError:
            savepoint.rollback()  # another instance queued this one first
    return queued


def _queue_one(session: Session, settings: Settings, reminder: DueReminder, now: datetime) -> bool:
    pair = session.get(Pair, reminder.pair_id)
    if pair is None or pair.state != "active":
        return False
    people = {p.role: p for p in (session.get(Participant, pair.mentor_id),
                                  session.get(Participant, pair.mentee_id)) if p is not None}
    aliases: dict[int | None, str] = {a.participant_id: f"{a.local_part}@{settings.gateway.domain}"
               for a in session.exec(select(Alias).where(Alias.pair_id == pair.id)).all()}
    days = _silent_days(pair, now)
    if reminder.to_role == "coordinator":
        return _queue_escalation(session, settings, reminder, pair, people, days, now)
    recipient = people[reminder.to_role]
    partner = people["mentee" if reminder.to_role == "mentor" else "mentor"]
    headers = unsubscribe_headers(settings, recipient.id or 0, session)
    queue_program_mail(
        session, settings, kind="reminder", to_address=recipient.email,
        to_name=recipient.display_name, template=reminder.template, lang=recipient.lang,
        context={"recipient_name": recipient.display_name, "partner_name": settings.privacy.shown_name(partner.display_name, partner.role),
                 "partner_alias": aliases[partner.id], "days": days,
                 "unsubscribe_url": headers["url"]},
        now=now, pair_id=pair.id, recipient_participant_id=recipient.id,
        reply_to=aliases[partner.id], extra_headers=headers["headers"],
        dedup_key=KEY_PREFIX + reminder.key,
    )
    session.flush()
    return True


def _queue_escalation(session: Session, settings: Settings, reminder: DueReminder, pair: Pair,
                      people: dict[str, Participant], days: int, now: datetime) -> bool:
    staff = coordinators_for(session, pair.org_id)
    if not staff:
        _nobody_to_tell(session, settings, reminder, pair, now)
        return False
    for index, person in enumerate(staff):
        queue_program_mail(
            session, settings, kind="reminder", to_address=person.email,
            to_name=person.display_name, template="reminder_escalation", lang=person.lang,
            context={"recipient_name": person.display_name, "pair_id": pair.id,
                     "mentor_name": people["mentor"].display_name,
                     "mentee_name": people["mentee"].display_name, "days": days,
                     "partner_name": "", "partner_alias": "", "unsubscribe_url": ""},
            now=now, pair_id=pair.id,
            dedup_key=KEY_PREFIX + reminder.key + ("" if index == 0 else f":{person.id}"),
        )
    session.flush()
    return bool(staff)


def _nobody_to_tell(session: Session, settings: Settings, reminder: DueReminder, pair: Pair,
                    now: datetime) -> None:
    """No coordinator and no moderator: say so once in the audit trail, and keep the key taken.

    A failed outbox row holds the reminder's unique key, so later checks (and other instances)
    see this step as done instead of deciding it again every check_every, forever.
    """
    problem = "nobody to tell: no coordinator for the pair's organization and no active moderator"
    session.add(Outbox(kind="reminder", envelope_from=bounce_address(settings), recipient="", data=b"",
                       state="failed", created_at=now, next_attempt_at=now, pair_id=pair.id,
                       last_error=problem, dedup_key=KEY_PREFIX + reminder.key))
    session.flush()
    record(session, at=now, actor="system", subject_type="pair", subject_id=pair.id,
           action="reminder_escalation_unsent", detail=f"{reminder.rule} step {reminder.step}: {problem}")
    log.warning("pair %s: reminder escalation not sent, %s", pair.id, problem)


def coordinators_for(session: Session, org_id: int | None) -> list[Staff]:
    """The pair's coordinators; the moderators when the organization has none."""
    active = Staff.active == True  # noqa: E712
    if org_id is not None:
        found = session.exec(select(Staff).where(Staff.role == "coordinator", Staff.org_id == org_id,
                                                 active)).all()
        if found:
            return list(found)
    return list(session.exec(select(Staff).where(Staff.role == "moderator", active)
                             .order_by(col(Staff.id))).all())


def _silent_days(pair: Pair, now: datetime) -> int:
    since = pair.last_delivered_at or pair.created_at
    return max(0, (now - as_utc(since)).days)


async def run_reminders(db: Database, settings: Settings, now: datetime) -> int:
    due = await db.read(lambda s: find_due(s, settings, now))
    if not due:
        return 0
    return await db.write(lambda s: queue_reminders(s, settings, due, now))
