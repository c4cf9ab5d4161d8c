"""A guardian's reply to the consent e-mail: "OUI"/"YES" above the quote records the consent."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from gateway.config import Settings
from gateway.mail.alias import normalize_address, split_address
from gateway.mail.parse import address_of, parse
from gateway.mail.text import HEAD_CHARS, text_of
from gateway.program import consent
from gateway.store.audit import record

LOCAL_PART = consent.LOCAL_PART

if TYPE_CHECKING:
    from datetime import datetime

    from gateway.clock import Clock
    from gateway.store.db import Database

YES = re.compile(r"^\W*(oui|yes|o|y|j'accepte|i agree|i consent|je consens)\b", re.IGNORECASE)
QUOTE_START = re.compile(r"^(>|On .+ wrote:|Le .+ a écrit\s*:|-----Original Message-----|De\s*:|"
                         r"From\s*:|_{5,})", re.IGNORECASE)


def first_words(raw: bytes) -> str:
    """The first non-empty line the guardian typed above the quoted e-mail."""
    for line in text_of(parse(raw), head=HEAD_CHARS).splitlines():
        if QUOTE_START.match(line.strip()):
            break
        if line.strip():
            return line.strip()
    return ""


def act_on_reply(session: Session, settings: Settings, *, sender: str, rcpt: str, raw: bytes,
                 now: datetime) -> str:
    token = split_address(rcpt)[0].partition("+")[2]
    try:
        request = consent.request_from_token(session, settings, token, now)
    except consent.ConsentError as exc:
        if exc.code == "used":
            return "250 2.0.0 Consent was already recorded, thank you"
        return "550 5.7.1 This consent address is not valid (any more)"
    from_header = address_of(str(parse(raw).get("From", "")))
    guardian = normalize_address(request.guardian_email)
    if normalize_address(sender or "") != guardian or normalize_address(from_header or "") != guardian:
        record(session, at=now, actor=sender or "<>", subject_type="participant",
               subject_id=request.participant_id, action="consent_reply_refused",
               detail="not the guardian's address")
        return "550 5.7.1 Only the guardian this e-mail was sent to may answer it"
    if not YES.match(first_words(raw)):
        record(session, at=now, actor=guardian, subject_type="participant",
               subject_id=request.participant_id, action="consent_reply_refused",
               detail="no OUI/YES in the reply")
        return ("250 2.0.0 Reply received, but no consent was recorded: answer OUI or YES "
                "on the first line, or use the link")
    consent.give_with_token(session, settings, token, method="reply", actor=guardian, now=now)
    return "250 2.0.0 Consent recorded, thank you"


def reply_handler(db: Database, clock: Clock, settings: Settings,
                  wake_delivery: Callable[[], None]) -> Callable[[str, str, bytes], Awaitable[str]]:
    """The special recipient `consent+<token>@domain`: a guardian's answer to the consent e-mail."""

    async def handle(mail_from: str, rcpt: str, raw: bytes) -> str:
        now = clock.now()
        try:
            reply = await db.write(lambda s: act_on_reply(
                s, settings, sender=mail_from, rcpt=rcpt, raw=raw, now=now))
        except IntegrityError:  # the same token used at the same moment twice
            return "250 2.0.0 Consent was already recorded, thank you"
        wake_delivery()
        return reply

    return handle
