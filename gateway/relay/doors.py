"""What the processor does with reasons found at the door (flood, unauthenticated sender) and with
auto-replies: hold with one notice per flood, and at most one forwarded auto-reply a day (RFC 3834)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from gateway.config import Settings
from gateway.mail.rewrite import PLACEHOLDER_SUBJECT, PLACEHOLDER_TEXT
from gateway.moderation.chain import Hit
from gateway.notices import queue_program_mail
from gateway.relay.forward import PairPeople
from gateway.store.models import Message, Outbox

AUTO_REPLY_WINDOW = timedelta(hours=24)
AUTO_REPLY_REPEAT = Hit(rule="auto_reply_repeat", action="reject",
                        reason_fr="Réponse automatique déjà transmise dans les dernières 24 h.",
                        reason_en="An automatic reply was already forwarded in the last 24 hours.",
                        field="message", evidence="", start=0, end=0)


UNRENDERABLE = Hit(rule="unrenderable", action="hold",
                   reason_fr="Le message n'a pas pu être mis en forme pour le destinataire.",
                   reason_en="The message could not be rendered for its recipient.",
                   field="message", evidence="", start=0, end=0)
_PLACEHOLDER_SUBJECT = f"Subject: {PLACEHOLDER_SUBJECT}\r\n".encode()
_PLACEHOLDER_LINE = PLACEHOLDER_TEXT.splitlines()[-1].encode()


def is_placeholder(data: bytes) -> bool:
    """True when the rewrite gave up and produced its bilingual placeholder: such a message is
    held for a moderator (and its sender told), never delivered as a silent stand-in."""
    end = data.find(b"\r\n\r\n")
    return _PLACEHOLDER_SUBJECT in data[:end + 2] and _PLACEHOLDER_LINE in data[end:]


def door_hits(message: Message) -> tuple[Hit, ...]:
    """Reasons stored with a RECEIVED message by the ingress (see ingress/writer.py)."""
    if message.state != "received" or not message.hits_json:
        return ()
    try:
        return tuple(Hit(**item) for item in json.loads(message.hits_json))
    except (TypeError, ValueError):  # unreadable: still a reason to look
        return (Hit(rule="door", action="hold", reason_fr="Message à vérifier.",
                    reason_en="Message needs a check.", field="message", evidence="",
                    start=0, end=0),)


def auto_reply_already_forwarded(session: Session, message: Message, now: datetime) -> bool:
    """RFC 3834: one automatic reply per sender per pair per day is enough to say "I'm away"."""
    return session.exec(
        select(Message.id).where(
            Message.pair_id == message.pair_id, Message.sender_id == message.sender_id,
            Message.auto_reply == True,  # noqa: E712
            col(Message.gateway_message_id).is_not(None),
            col(Message.received_at) > now - AUTO_REPLY_WINDOW, Message.id != message.id)
    ).first() is not None


def notify_flood(session: Session, settings: Settings, message: Message, people: PairPeople,
                 now: datetime) -> bool:
    """One notice to the sender per flood (per sender's day), not one per message: a thousand held
    messages must not become a thousand notices. True when the moderators should hear of it too
    (the first message held as flood from this sender in a day)."""
    sender = people.sender
    day = now.astimezone(ZoneInfo(sender.time_zone or settings.gateway.time_zone)).date()
    key = f"flood-notice:{sender.id}:{day.isoformat()}"
    if session.exec(select(Outbox.id).where(Outbox.dedup_key == key)).first() is None:
        queue_program_mail(
            session, settings, kind="notice", to_address=sender.email,
            to_name=sender.display_name, template="message_flood", lang=sender.lang,
            context={"recipient_name": sender.display_name,
                     "partner_name": people.recipient.display_name,
                     "per_hour": settings.limits.per_participant_hour,
                     "per_day": settings.limits.per_pair_day},
            now=now, pair_id=people.pair.id, recipient_participant_id=sender.id,
            auto_submitted="auto-replied", dedup_key=key,
        )
    earlier = session.exec(
        select(Message.id).where(
            Message.sender_id == message.sender_id, Message.state == "held",
            col(Message.hits_json).contains('"rule": "flood"'),
            col(Message.received_at) > now - timedelta(days=1), Message.id != message.id)
    ).first()
    return earlier is None
