"""Periodic moderation chores: escalate holds past review_within, and the moderators' digest."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from gateway.clock import as_utc
from gateway.config import Settings
from gateway.durations import parse_duration
from gateway.notices import queue_program_mail
from gateway.program.staff import org_scope
from gateway.relay.forward import load_people
from gateway.review.held import HeldFilter, count_held, list_held
from gateway.review.notify import (
    ModeratorActions,
    moderators_for,
    notify_moderator,
    over_notice_limit,
)
from gateway.store.audit import record
from gateway.store.models import Message, Outbox, Staff


def escalate_overdue(session: Session, settings: Settings, now: datetime, *, postgres: bool,
                     actions: ModeratorActions | None = None) -> int:
    """Every hold older than review_within goes to all moderators, once."""
    cutoff = now - parse_duration(settings.moderation.review_within)
    query = (sa_select(Message).where(col(Message.state) == "held", col(Message.escalated).is_(False),
                                      col(Message.received_at) < cutoff).order_by(col(Message.id)).limit(500))
    if postgres:
        query = query.with_for_update(skip_locked=True)
    messages = list(session.execute(query).scalars().all())
    for message in messages:
        people = load_people(session, settings, message)
        for moderator in moderators_for(session, None):
            notify_moderator(session, settings, moderator, message, people, now, "moderator_escalation",
                             actions)
        message.escalated = True
        session.add(message)
        record(session, at=now, actor="system", subject_type="message", subject_id=message.id,
               action="escalate", detail=f"held since {as_utc(message.received_at):%Y-%m-%d %H:%M}")
    return len(messages)


def send_digest(session: Session, settings: Settings, now: datetime) -> int:
    """One summary per moderator of what waits in their organizations: every moderator in digest
    mode; in "each" mode only those whose notices are held back by the hourly limit."""
    mode = settings.moderation.moderator_notices
    if mode == "none":
        return 0
    sent = 0
    slot = int(now.timestamp() // parse_duration(settings.moderation.digest_every).total_seconds())
    for moderator in session.exec(select(Staff).where(Staff.role == "moderator", Staff.active == True)).all():  # noqa: E712
        key = f"digest:{moderator.id}:{slot}"
        if session.exec(select(Outbox.id).where(Outbox.dedup_key == key)).first() is not None:
            continue  # this period's digest is out; the chore runs more often than digest_every
        if mode == "each" and not over_notice_limit(session, settings, moderator, now):
            continue
        where = HeldFilter(org_ids=org_scope(moderator))
        waiting = count_held(session, where)
        if not waiting:
            continue
        oldest = list_held(session, where, limit=10)
        queue_program_mail(
            session, settings, kind="moderation", to_address=moderator.email,
            to_name=moderator.display_name, template="moderator_digest", lang=moderator.lang,
            context={"recipient_name": moderator.display_name, "waiting": waiting,
                     "items": [i.to_json() for i in oldest]},
            now=now, dedup_key=key,
        )
        sent += 1
    return sent
