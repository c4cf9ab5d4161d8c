"""Notices about a participant's message: held for review, refused, undeliverable; moderators' alerts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, func, or_, select

from gateway.config import Settings
from gateway.moderation.chain import Hit
from gateway.notices import queue_program_mail
from gateway.relay.forward import PairPeople
from gateway.store.models import Message, Outbox, Staff

# Issue 4 plugs signed reply addresses into moderator notices through this hook.
ModeratorActions = Callable[[Session, Staff, Message, datetime], dict[str, str]]
_moderator_actions: list[ModeratorActions] = []


def register_moderator_actions(hook: ModeratorActions) -> None:
    _moderator_actions.clear()
    _moderator_actions.append(hook)


def _already_queued(session: Session, key: str) -> bool:
    return session.exec(select(Outbox.id).where(Outbox.dedup_key == key)).first() is not None


def sender_reasons(hits: Sequence[Hit], lang: str, actions: Sequence[str]) -> list[str]:
    """The participant-facing reasons only: never rule names or evidence."""
    reasons: list[str] = []
    for hit in hits:
        if hit.action not in actions:
            continue
        reason = hit.reason_en if lang == "en" else hit.reason_fr
        if reason and reason not in reasons:
            reasons.append(reason)
    return reasons


def notify_rejection(session: Session, settings: Settings, message: Message, people: PairPeople,
                     hits: Sequence[Hit], now: datetime, *, reason: str | None = None) -> None:
    sender = people.sender
    reasons = [reason] if reason else sender_reasons(hits, sender.lang, ("reject",))
    queue_program_mail(
        session, settings, kind="notice", to_address=sender.email, to_name=sender.display_name,
        template="message_rejected", lang=sender.lang,
        context={"recipient_name": sender.display_name, "partner_name": people.recipient.display_name,
                 "subject": message.subject or "", "reasons": reasons},
        now=now, pair_id=people.pair.id, recipient_participant_id=sender.id,
        auto_submitted="auto-replied",
    )


def notify_hold(session: Session, settings: Settings, message: Message, people: PairPeople,
                now: datetime) -> None:
    sender = people.sender
    # "At most one a day" means the sender's day: an evening's messages get one notice.
    local_day = now.astimezone(ZoneInfo(sender.time_zone or settings.gateway.time_zone)).date()
    key = f"held-notice:{sender.id}:{local_day.isoformat()}"
    if settings.moderation.notify_sender_on_hold and not _already_queued(session, key):
        queue_program_mail(
            session, settings, kind="notice", to_address=sender.email, to_name=sender.display_name,
            template="message_held", lang=sender.lang,
            context={"recipient_name": sender.display_name,
                     "partner_name": people.recipient.display_name,
                     "subject": message.subject or ""},
            now=now, pair_id=people.pair.id, recipient_participant_id=sender.id,
            auto_submitted="auto-replied", dedup_key=key,
        )
    if settings.moderation.moderator_notices == "each":
        for moderator in moderators_for(session, people.pair.org_id):
            if not over_notice_limit(session, settings, moderator, now):
                notify_moderator(session, settings, moderator, message, people, now,
                                 "moderator_hold")


def over_notice_limit(session: Session, settings: Settings, moderator: Staff, now: datetime) -> bool:
    """A burst of holds must not flood a moderator's inbox: past the hourly limit, the digest."""
    sent = session.exec(
        select(func.count()).select_from(Outbox)
        .where(col(Outbox.recipient) == moderator.email, col(Outbox.kind) == "moderation",
               col(Outbox.created_at) > now - timedelta(hours=1))
    ).one()
    return sent >= settings.moderation.max_notices_per_hour


def moderators_for(session: Session, org_id: int | None) -> list[Staff]:
    query = select(Staff).where(Staff.role == "moderator", Staff.active == True)  # noqa: E712
    if org_id is not None:
        query = query.where(or_(col(Staff.org_id).is_(None), Staff.org_id == org_id))
    return list(session.exec(query).all())


def notify_moderator(session: Session, settings: Settings, moderator: Staff, message: Message,
                     people: PairPeople, now: datetime, template: str) -> None:
    import json

    actions: dict[str, str] = {}
    for hook in _moderator_actions:
        actions = hook(session, moderator, message, now)
    hits = json.loads(message.hits_json or "[]")
    queue_program_mail(
        session, settings, kind="moderation", to_address=moderator.email,
        to_name=moderator.display_name, template=template, lang=moderator.lang,
        context={"recipient_name": moderator.display_name, "message_id": message.id,
                 "pair_id": people.pair.id, "direction": message.direction,
                 "sender_name": people.sender.display_name,
                 "recipient_name_pair": people.recipient.display_name,
                 "subject": message.subject or "", "hits": hits, "actions": actions},
        now=now, dedup_key=f"{template}:{message.id}:{moderator.id}",
    )


def notify_delivery_failure(session: Session, settings: Settings, message: Message,
                            people: PairPeople, now: datetime) -> None:
    sender = people.sender
    queue_program_mail(
        session, settings, kind="notice", to_address=sender.email, to_name=sender.display_name,
        template="delivery_failed", lang=sender.lang,
        context={"recipient_name": sender.display_name, "partner_name": people.recipient.display_name,
                 "subject": message.subject or ""},
        now=now, pair_id=people.pair.id, recipient_participant_id=sender.id,
        auto_submitted="auto-replied", dedup_key=f"delivery-failed:{message.id}",
    )
