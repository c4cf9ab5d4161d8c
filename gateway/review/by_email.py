"""Moderation by e-mail: signed, single-use, expiring reply addresses that approve or reject.

The notice's Reply-To is the "decide" address: the moderator presses Reply and writes `oui` or
`non : raison` (review/reply_words.py reads it). The older approve / reject addresses stay."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from gateway.clock import Clock
from gateway.config import Settings
from gateway.durations import parse_duration
from gateway.mail.alias import split_address
from gateway.mail.parse import address_of, parse
from gateway.mail.text import HEAD_CHARS, text_of
from gateway.notices import queue_program_mail
from gateway.program.staff import org_scope
from gateway.relay.forward import PreparedForward
from gateway.review import held
from gateway.review.notify import ModeratorActions
from gateway.review.reply_words import read_decision, written_part
from gateway.store.audit import record
from gateway.store.db import Database
from gateway.store.models import Message, Staff, UsedToken
from gateway.tokens import BadToken, read_action_token, sign, signing_secret

log = logging.getLogger("gateway.moderation.email")
LOCAL_PART = "moderate"
PURPOSE = "moderate"
ACTIONS = {"a": "approve", "r": "reject", "d": "decide"}


def reply_addresses(session: Session, settings: Settings, moderator: Staff, message: Message,
                    now: datetime) -> dict[str, str]:
    secret = signing_secret(session, settings.web.secret_env)
    expires = int((now + parse_duration(settings.moderation.token_valid_for)).timestamp() // 60)
    domain = settings.gateway.domain
    return {
        name: f"{LOCAL_PART}+{sign(secret, PURPOSE, str(message.id), code, str(moderator.id), str(expires))}@{domain}"
        for code, name in ACTIONS.items()
    }


def reply_text(raw: bytes) -> str:
    """What the moderator typed above the quoted notice."""
    return written_part(text_of(parse(raw), head=HEAD_CHARS))


class Refused(Exception):
    """Nothing happened to the message; the text goes back to the moderator."""


def _checked_token(session: Session, settings: Settings, token: str, now: datetime) -> tuple[int, str, int]:
    try:
        return read_action_token(signing_secret(session, settings.web.secret_env), PURPOSE, token,
                                 ACTIONS, now)
    except BadToken as bad:
        raise Refused(bad.reason) from None


def _use_token(session: Session, token: str, now: datetime, actor: str) -> None:
    token_id = hashlib.sha256(token.encode()).hexdigest()
    if session.exec(select(UsedToken).where(UsedToken.token_id == token_id)).first():
        raise Refused("used")
    session.add(UsedToken(token_id=token_id, used_at=now, used_by=actor))
    session.flush()


# A forward rendered before the write (held.render_for_approval), for the message it is of.
Rendered = tuple[int, PreparedForward]


def render_if_approving(session: Session, settings: Settings, *, rcpt: str, raw: bytes,
                        now: datetime) -> Rendered | None:
    """In a read transaction, before act_on_reply: the forward of the message a valid reply
    would approve (nothing is decided or used here; act_on_reply checks everything again)."""
    token = split_address(rcpt)[0].partition("+")[2]
    try:
        message_id, action, _moderator = _checked_token(session, settings, token, now)
    except Refused:
        return None
    if action == "decide" and read_decision(
            text_of(parse(raw), head=HEAD_CHARS)).action != "approve":
        return None
    if action not in ("approve", "decide"):
        return None
    prepared = held.render_for_approval(session, settings, message_id)
    return None if prepared is None else (message_id, prepared)


def act_on_reply(session: Session, settings: Settings, *, sender: str, rcpt: str, raw: bytes,
                 now: datetime, rendered: Rendered | None = None) -> str:
    """Returns the SMTP reply. Only a registered, active moderator's mail is obeyed."""
    from_header = address_of(str(parse(raw).get("From", "")))
    moderator = session.exec(select(Staff).where(Staff.email == (sender or "").lower())).first()
    if moderator is None or not moderator.active or moderator.role != "moderator" or from_header != moderator.email:
        record(session, at=now, actor=sender or "<>", subject_type="message", subject_id=None,
               action="moderation_reply_refused", detail="not a registered moderator")
        return "550 5.7.1 Only the program's moderators may use this address"
    token = split_address(rcpt)[0].partition("+")[2]
    try:
        message_id, action, moderator_id = _checked_token(session, settings, token, now)
        if moderator_id != moderator.id:
            raise Refused("forged")
        prepared = rendered[1] if rendered is not None and rendered[0] == message_id else None
        _apply(session, settings, moderator, message_id, action, raw, token, now, prepared)
    except (Refused, held.QueueError) as exc:
        # The service's wording is English and for the CLI; the moderator reads a template.
        problem = "not_held" if isinstance(exc, held.QueueError) else str(exc)
        _explain(session, settings, moderator, problem, now)
        record(session, at=now, actor=moderator.email, subject_type="message", subject_id=None,
               action="moderation_reply_refused", detail=str(exc))
        return "250 2.0.0 Reply received; nothing was changed (see our explanation)"
    return "250 2.0.0 Decision recorded"


def _apply(session: Session, settings: Settings, moderator: Staff, message_id: int, action: str,
           raw: bytes, token: str, now: datetime, prepared: PreparedForward | None) -> None:
    scope = org_scope(moderator)
    if action == "decide":
        decision = read_decision(text_of(parse(raw), head=HEAD_CHARS))
        if decision.action == "unclear":
            raise Refused("unclear")
        action, reason = decision.action, decision.text
    else:
        reason = reply_text(raw)
    if action == "reject" and not reason:
        raise Refused("no_reason")
    _use_token(session, token, now, moderator.email)
    if action == "approve":
        held.approve(session, settings, message_id, actor=moderator.email, now=now,
                     note=reason or "approved by e-mail", org_ids=scope, prepared=prepared)
    else:
        held.reject(session, settings, message_id, actor=moderator.email, now=now, reason=reason,
                    org_ids=scope)


def _explain(session: Session, settings: Settings, moderator: Staff, problem: str, now: datetime) -> None:
    queue_program_mail(
        session, settings, kind="moderation", to_address=moderator.email,
        to_name=moderator.display_name, template="moderation_reply_refused", lang=moderator.lang,
        context={"recipient_name": moderator.display_name, "problem": problem}, now=now,
        auto_submitted="auto-replied",
    )


def moderator_actions(settings: Settings) -> ModeratorActions:
    """The decide (Reply-To), approve and reject addresses every moderator's notice carries."""
    return lambda session, moderator, message, now: reply_addresses(
        session, settings, moderator, message, now)


def reply_handler(db: Database, clock: Clock, settings: Settings,
                  wake_delivery: Callable[[], None]) -> Callable[[str, str, bytes], Awaitable[str]]:
    """The special recipient `moderate+<token>@domain`: mail to it is a moderator's decision."""

    async def handle(mail_from: str, rcpt: str, raw: bytes) -> str:
        now = clock.now()
        try:  # rendered outside the single writer (see held.render_for_approval)
            rendered = await db.read(lambda s: render_if_approving(
                s, settings, rcpt=rcpt, raw=raw, now=now))
        except Exception:  # noqa: BLE001 - act_on_reply decides, and explains, what fails
            rendered = None
        try:
            reply = await db.write(lambda s: act_on_reply(
                s, settings, sender=mail_from, rcpt=rcpt, raw=raw, now=now, rendered=rendered))
        except IntegrityError:  # the same token used at the same moment by two deliveries
            return "250 2.0.0 Reply received; nothing was changed"
        wake_delivery()
        return reply

    return handle
