"""Reports and contact mail arriving by e-mail: the report address, the program address, staff replies."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from gateway.clock import Clock
from gateway.config import Settings
from gateway.durations import parse_duration
from gateway.mail.alias import normalize_address, split_address
from gateway.mail.autoreply import is_auto_reply, is_bounce
from gateway.mail.parse import address_of, parse
from gateway.mail.text import text_of
from gateway.mail.threading import reference_ids
from gateway.program.staff import org_scope
from gateway.relay.forward import PairPeople
from gateway.review import reports
from gateway.review.by_email import reply_text
from gateway.review.report_notices import StaffActions
from gateway.safeguarding.forwarded import aliases_in, gateway_ids_in
from gateway.store.audit import record
from gateway.store.db import Database
from gateway.store.models import (
    Alias,
    Message,
    MessageIdMap,
    Pair,
    Participant,
    Report,
    Staff,
    UsedToken,
)
from gateway.tokens import BadToken, read_action_token, sign, signing_secret

log = logging.getLogger("gateway.reports")
DECIDE_LOCAL_PART = "decide"
PURPOSE = "report"
CODES = {"1": "resume", "2": "close", "3": "block"}
Handler = Callable[[str, str, bytes], Awaitable[str]]


def report_local_parts(settings: Settings) -> tuple[str, ...]:
    return tuple(dict.fromkeys((settings.safety.report_local_part, "report")))


def staff_actions(settings: Settings) -> StaffActions:
    """Signed single-use reply addresses (resume / close / block) for one staff member and report."""

    def addresses(session: Session, staff: Staff, report: Report, now: datetime) -> dict[str, str]:
        secret = signing_secret(session, settings.web.secret_env)
        expires = int((now + parse_duration(settings.moderation.token_valid_for)).timestamp() // 60)
        domain = settings.gateway.domain
        return {name: f"{DECIDE_LOCAL_PART}+"
                      f"{sign(secret, PURPOSE, str(report.id), code, str(staff.id), str(expires))}@{domain}"
                for code, name in CODES.items()}

    return addresses


def report_from_relay(session: Session, settings: Settings, message: Message, people: PairPeople,
                      now: datetime, actions: StaffActions | None) -> None:
    """A message to the partner's alias that starts with SIGNALER/REPORT: kept, never forwarded.
    The reported message is the one it answers (In-Reply-To), else the last one received."""
    answered = None
    for gateway_id in reference_ids(parse(message.raw)):
        answered = session.exec(select(Message).where(
            Message.pair_id == message.pair_id, Message.gateway_message_id == gateway_id,
            Message.recipient_id == people.sender.id)).first()
        if answered is not None:
            break
    reports.open_report(session, settings, pair=people.pair, reporter=people.sender,
                        source="keyword", now=now, from_address=people.sender.email,
                        message=answered, report_message=message, subject=message.subject,
                        actions=actions)


def pairs_named(session: Session, settings: Settings, reporter: Participant,
                raw: bytes) -> list[tuple[Pair, Message | None]]:
    """The pair (and message) a forwarded report is about: a Message-ID we minted for the
    reporter's copy, else an alias of the reporter's pairs in the text, else every open pair."""
    domain = settings.gateway.domain
    for gateway_id in gateway_ids_in(raw, domain):
        # The id we gave the reporter's copy (unique, indexed), then that copy's message.
        mapped = session.exec(select(MessageIdMap).where(MessageIdMap.gateway_id == gateway_id)).first()
        found = session.exec(select(Message).where(
            Message.pair_id == mapped.pair_id, Message.gateway_message_id == gateway_id,
            Message.recipient_id == reporter.id)).first() if mapped is not None else None
        pair = session.get(Pair, found.pair_id) if found is not None else None
        if pair is not None and pair.state != "closed":
            return [(pair, found)]
    mine = [p for p in session.exec(select(Pair).where(
        (Pair.mentor_id == reporter.id) | (Pair.mentee_id == reporter.id))).all() if p.state != "closed"]
    try:
        text = text_of(parse(raw)) + "\n" + raw.decode("utf-8", errors="replace")
    except Exception:  # unreadable: the raw bytes are searched only
        text = raw.decode("utf-8", errors="replace")
    locals_named = set(aliases_in(text, domain))
    named = {a.pair_id for a in session.exec(select(Alias).where(
        col(Alias.local_part).in_(locals_named))).all()} if locals_named else set()
    chosen = [p for p in mine if p.id in named] or mine
    return [(p, None) for p in chosen]


def receive_report(session: Session, settings: Settings, *, mail_from: str, raw: bytes,
                   now: datetime, actions: StaffActions | None) -> str:
    parsed = parse(raw)
    if is_bounce(parsed, mail_from) or is_auto_reply(parsed):
        record(session, at=now, actor=mail_from or "<>", subject_type="report", subject_id=None,
               action="report_ignored", detail="automatic mail to the report address")
        return "250 2.0.0 Automatic mail recorded"
    sender = normalize_address(mail_from)
    reporter = session.exec(select(Participant).where(Participant.email == sender)).first()
    from_header = address_of(str(parsed.get("From", "")))
    subject = str(parsed.get("Subject") or "")
    targets = pairs_named(session, settings, reporter, raw) if reporter is not None else []
    if reporter is None or from_header != reporter.email or not targets:
        # Not a participant with an open pair (a parent, a teacher, a spoofed From): it still
        # reaches staff, as contact mail.
        reports.open_contact(session, settings, from_address=sender, raw=raw, subject=subject,
                             now=now, answer=True, actions=actions)
        return "250 2.0.0 Message received; the program's staff will read it"
    for pair, message in targets:
        reports.open_report(session, settings, pair=pair, reporter=reporter, source="forward",
                            now=now, from_address=sender, message=message, raw=raw,
                            subject=subject, actions=actions)
    return "250 2.0.0 Report received; the program's staff have been alerted"


def receive_contact(session: Session, settings: Settings, *, mail_from: str, raw: bytes,
                    now: datetime, actions: StaffActions | None) -> str:
    parsed = parse(raw)
    machine = is_bounce(parsed, mail_from) or is_auto_reply(parsed)
    reports.open_contact(session, settings, from_address=normalize_address(mail_from or ""),
                         raw=raw, subject=str(parsed.get("Subject") or ""), now=now,
                         answer=not machine, actions=actions)
    return "250 2.0.0 Message received; the program's staff will read it"


class Refused(Exception):
    """Nothing changed; the reason is recorded."""


def _checked(session: Session, settings: Settings, token: str, now: datetime) -> tuple[int, str, int]:
    try:
        return read_action_token(signing_secret(session, settings.web.secret_env), PURPOSE, token,
                                 CODES, now)
    except BadToken as bad:
        raise Refused(bad.reason) from None


def receive_decision(session: Session, settings: Settings, *, mail_from: str, rcpt: str, raw: bytes,
                     now: datetime) -> str:
    """`decide+<token>`: a staff member's resume / close / block, obeyed once, from them only."""
    staff = session.exec(select(Staff).where(Staff.email == normalize_address(mail_from or ""))).first()
    from_header = address_of(str(parse(raw).get("From", "")))
    if staff is None or not staff.active or staff.role != "moderator" or from_header != staff.email:
        record(session, at=now, actor=mail_from or "<>", subject_type="report", subject_id=None,
               action="report_reply_refused", detail="not a registered staff member")
        return "550 5.7.1 Only the program's moderators may use this address"
    token = split_address(rcpt)[0].partition("+")[2]
    try:
        report_id, action, staff_id = _checked(session, settings, token, now)
        if staff_id != staff.id:
            raise Refused("forged")
        token_id = hashlib.sha256(token.encode()).hexdigest()
        if session.exec(select(UsedToken).where(UsedToken.token_id == token_id)).first():
            raise Refused("used")
        session.add(UsedToken(token_id=token_id, used_at=now, used_by=staff.email))
        reports.decide(session, settings, report_id, action, actor=staff.email, now=now,
                       note=reply_text(raw) or "decided by e-mail", org_ids=org_scope(staff))
    except (Refused, reports.ReportError) as exc:
        record(session, at=now, actor=staff.email, subject_type="report", subject_id=None,
               action="report_reply_refused", detail=str(exc))
        return f"550 5.7.1 Nothing was changed: {exc}"
    return "250 2.0.0 Decision recorded"


def handlers(db: Database, clock: Clock, settings: Settings, wake_delivery: Callable[[], None],
             actions: StaffActions) -> dict[str, Handler]:
    """The special recipients of this room, by local part (app.py adds them to the table)."""

    def handler(work: Callable[[Session, str, str, bytes, datetime], str]) -> Handler:
        async def handle(mail_from: str, rcpt: str, raw: bytes) -> str:
            now = clock.now()
            try:
                reply = await db.write(lambda s: work(s, mail_from, rcpt, raw, now))
            except IntegrityError:  # the same token used at the same moment by two deliveries
                return "250 2.0.0 Reply received; nothing was changed"
            wake_delivery()
            return reply
        return handle

    report = handler(lambda s, f, _r, raw, now: receive_report(
        s, settings, mail_from=f, raw=raw, now=now, actions=actions))
    table: dict[str, Handler] = {local: report for local in report_local_parts(settings)}
    table[settings.gateway.program_address] = handler(lambda s, f, _r, raw, now: receive_contact(
        s, settings, mail_from=f, raw=raw, now=now, actions=actions))
    table[DECIDE_LOCAL_PART] = handler(lambda s, f, r, raw, now: receive_decision(
        s, settings, mail_from=f, rcpt=r, raw=raw, now=now))
    return table
