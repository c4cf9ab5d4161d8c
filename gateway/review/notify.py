"""Moderators' notices: who moderates a pair, the hourly limit, one notice per held message."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, func, or_, select

from gateway.config import Settings
from gateway.notices import queue_program_mail
from gateway.relay.forward import PairPeople
from gateway.review.excerpt import excerpt_parts, excerpt_text
from gateway.review.labels import rule_label
from gateway.store.models import Message, Outbox, Staff

# Extra links in a moderator's notice (moderation by e-mail: signed reply addresses); app.py
# passes the real one, so this room keeps no module-global hook.
ModeratorActions = Callable[[Session, Staff, Message, datetime], dict[str, str]]


def notify_moderators_of_hold(session: Session, settings: Settings, message: Message,
                              people: PairPeople, now: datetime,
                              actions: ModeratorActions | None = None) -> None:
    """In "each" mode, every moderator of the pair hears of a new hold (up to the hourly limit)."""
    if settings.moderation.moderator_notices == "each":
        for moderator in moderators_for(session, people.pair.org_id):
            if not over_notice_limit(session, settings, moderator, now):
                notify_moderator(session, settings, moderator, message, people, now,
                                 "moderator_hold", actions)


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
                     people: PairPeople, now: datetime, template: str,
                     actions: ModeratorActions | None = None) -> None:
    links = actions(session, moderator, message, now) if actions is not None else {}
    hits = json.loads(message.hits_json or "[]")
    extra = notice_content(settings, moderator.lang, message, hits)
    queue_program_mail(
        session, settings, kind="moderation", to_address=moderator.email,
        to_name=moderator.display_name, template=template, lang=moderator.lang,
        context={"recipient_name": moderator.display_name, "message_id": message.id,
                 "pair_id": people.pair.id, "direction": message.direction,
                 "sender_name": people.sender.display_name,
                 "recipient_name_pair": people.recipient.display_name,
                 "subject": message.subject or "", "actions": links, **extra},
        now=now, dedup_key=f"{template}:{message.id}:{moderator.id}",
        # Pressing Reply decides: the signed, single-use address of this moderator and message.
        reply_to=links.get("decide"),
    )


def item_link(settings: Settings, message_id: int | None) -> str:
    base = settings.web.public_url or f"http://{settings.web.host}:{settings.web.port}"
    return f"{base.rstrip('/')}/messages/{message_id}"


def notice_content(settings: Settings, lang: str, message: Message,
                   hits: list[dict[str, Any]]) -> dict[str, Any]:
    """What a moderator reads in the notice before deciding: labels, an excerpt with the evidence
    marked, the direction in words and a link to the item on the review page."""
    from gateway.moderation.facts import facts_from_message

    try:
        text = facts_from_message(message.raw, direction=message.direction).text  # type: ignore[arg-type]
    except Exception:  # an unreadable message still gets its notice, without an excerpt
        text = ""
    parts = excerpt_parts(text, hits)
    arrow = {"mentor_to_mentee": ("mentor → jeune", "mentor → mentee"),
             "mentee_to_mentor": ("jeune → mentor", "mentee → mentor")}.get(message.direction)
    return {"hits": [{**hit, "label": rule_label(lang, str(hit.get("rule", "?")))} for hit in hits],
            "excerpt_parts": parts, "excerpt_text": excerpt_text(parts),
            "direction_label": (arrow[1] if lang == "en" else arrow[0]) if arrow else message.direction,
            "link": item_link(settings, message.id) if settings.web.enabled else ""}
