"""Notices to a participant about their own message: held for review, refused, undeliverable."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from gateway.config import Settings
from gateway.moderation.chain import Hit
from gateway.notices import queue_program_mail
from gateway.relay.forward import PairPeople, load_people
from gateway.store.models import Message, Outbox, Participant


def _already_queued(session: Session, key: str) -> bool:
    return session.exec(select(Outbox.id).where(Outbox.dedup_key == key)).first() is not None


def _shown(settings: Settings, person: Participant) -> str:
    return settings.privacy.shown_name(person.display_name, person.role)


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
        context={"recipient_name": sender.display_name,
                 "partner_name": _shown(settings, people.recipient),
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
                     "partner_name": _shown(settings, people.recipient),
                     "subject": message.subject or ""},
            now=now, pair_id=people.pair.id, recipient_participant_id=sender.id,
            auto_submitted="auto-replied", dedup_key=key,
        )


def notify_delivery_failure(session: Session, settings: Settings, message: Message,
                            people: PairPeople, now: datetime) -> None:
    sender = people.sender
    queue_program_mail(
        session, settings, kind="notice", to_address=sender.email, to_name=sender.display_name,
        template="delivery_failed", lang=sender.lang,
        context={"recipient_name": sender.display_name,
                 "partner_name": _shown(settings, people.recipient),
                 "subject": message.subject or ""},
        now=now, pair_id=people.pair.id, recipient_participant_id=sender.id,
        auto_submitted="auto-replied", dedup_key=f"delivery-failed:{message.id}",
    )


def forward_failed(session: Session, settings: Settings, row: Outbox, now: datetime) -> None:
    """The delivery worker's outcome callback: a forward that failed for good marks its message
    FAILED and tells the sender (other kinds of mail have no participant's message behind them)."""
    if row.kind != "forward" or row.message_id is None:
        return
    message = session.get(Message, row.message_id)
    if message is None:
        return
    message.state, message.updated_at = "failed", now
    session.add(message)
    notify_delivery_failure(session, settings, message, load_people(session, settings, message), now)
