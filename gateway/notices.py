"""Gateway-generated mail (introductions, notices, reminders): render a template, queue it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session

from gateway.config import Settings
from gateway.mail.compose import compose
from gateway.mail.threading import new_message_id
from gateway.store.lifecycle import enqueue
from gateway.store.models import Outbox
from gateway.templating import render_email


def program_address(settings: Settings) -> str:
    return f"{settings.gateway.program_address}@{settings.gateway.domain}"


def bounce_address(settings: Settings) -> str:
    return f"{settings.gateway.bounce_address}@{settings.gateway.domain}"


def build_program_mail(
    settings: Settings,
    *,
    to_address: str,
    to_name: str,
    template: str,
    lang: str,
    context: Mapping[str, Any],
    now: datetime,
    reply_to: str | None = None,
    auto_submitted: str | None = "auto-generated",
    extra_headers: Mapping[str, str] | None = None,
) -> bytes:
    rendered = render_email(
        Path(settings.gateway.templates_dir), template, lang,
        program_name=settings.gateway.program_name, **context,
    )
    return compose(
        from_address=program_address(settings),
        from_name=settings.gateway.program_name,
        to_address=to_address,
        to_name=to_name,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        message_id=new_message_id(settings.gateway.domain),
        date=now,
        reply_to=reply_to,
        auto_submitted=auto_submitted,
        extra_headers=extra_headers,
    )


def queue_program_mail(
    session: Session,
    settings: Settings,
    *,
    kind: str,
    to_address: str,
    to_name: str,
    template: str,
    lang: str,
    context: Mapping[str, Any],
    now: datetime,
    pair_id: int | None = None,
    recipient_participant_id: int | None = None,
    reply_to: str | None = None,
    auto_submitted: str | None = "auto-generated",
    extra_headers: Mapping[str, str] | None = None,
    dedup_key: str | None = None,
) -> Outbox:
    data = build_program_mail(
        settings, to_address=to_address, to_name=to_name, template=template, lang=lang,
        context=context, now=now, reply_to=reply_to, auto_submitted=auto_submitted,
        extra_headers=extra_headers,
    )
    row = enqueue(
        session, kind=kind, envelope_from=bounce_address(settings), recipient=to_address,
        data=data, now=now, pair_id=pair_id, recipient_participant_id=recipient_participant_id,
        dedup_key=dedup_key,
    )
    assert row is not None  # written now: no batch was given
    return row
