"""Choosing a mentor by email: offers to choisir@/choose@ and signed, single-use 1/2/3 replies."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from gateway.clock import Clock
from gateway.config import Settings
from gateway.durations import parse_duration
from gateway.mail.alias import split_address
from gateway.mail.autoreply import is_auto_reply, is_bounce
from gateway.mail.parse import address_of, parse
from gateway.mail.text import HEAD_CHARS, text_of
from gateway.matching import service
from gateway.matching.choose import own_text, parse_choice
from gateway.matching.model import Mentee
from gateway.matching.scoring import best_mentors, field_weights
from gateway.notices import queue_program_mail
from gateway.program.service import ProgramError, create_pair
from gateway.store.audit import record
from gateway.store.db import Database
from gateway.store.models import MatchOffer, MatchSuggestion, Pair, Participant, UsedToken
from gateway.tokens import sign, signing_secret, verify

PURPOSE = "choose"
OFFERED = 3
BIO_CHARS = 300


def local_parts(settings: Settings) -> tuple[str, ...]:
    names = (settings.matching.choose_local_part, settings.matching.choose_local_part_en)
    return tuple(dict.fromkeys(n for n in names if n))


def handle(session: Session, settings: Settings, *, sender: str, rcpt: str, raw: bytes,
           now: datetime) -> str:
    """The SMTP answer for mail to choisir@ (a request) or choisir+TOKEN@ (a reply with 1/2/3)."""
    message = parse(raw)
    mentee = session.exec(select(Participant).where(
        Participant.email == (sender or "").lower())).first()
    if mentee is None or mentee.role != "mentee" or \
            address_of(str(message.get("From", ""))) != mentee.email:
        record(session, at=now, actor=sender or "<>", subject_type="matching", subject_id=None,
               action="choose_refused", detail="not a registered mentee")
        return "550 5.7.1 Only the program's mentees may write to this address"
    if is_auto_reply(message) or is_bounce(message, sender or ""):
        # An out-of-office answer to an offer must not become a choice, nor start a mail loop.
        record(session, at=now, actor=mentee.email, subject_type="matching", subject_id=None,
               action="choose_ignored", detail="automatic reply")
        return "250 2.0.0 Automatic reply ignored"
    token = split_address(rcpt)[0].partition("+")[2]
    text = own_text(text_of(message, head=HEAD_CHARS))
    if token:
        _reply(session, settings, mentee, token, text, now)
    else:
        _offer(session, settings, mentee, f"{message.get('Subject', '')}\n{text}", now)
    return "250 2.0.0 Received; our answer is on its way"


def _offer(session: Session, settings: Settings, mentee: Participant, text: str,
           now: datetime) -> None:
    taxonomy, mapper = service.vocabulary(settings.matching.taxonomy_file)
    if _has_pair(session, mentee):
        _explain(session, settings, mentee, "already_paired", now)
        return
    mapped = mapper.map(text)
    program = service.read_program(session, mapper, mentee_ids=[mentee.id or 0])
    stored = program.mentees[0].fields if program.mentees else frozenset()
    fields = frozenset(mapped.fields) or stored
    if not fields:
        _explain(session, settings, mentee, "no_fields", now, unmapped=mapped.unmapped)
        return
    me = Mentee(mentee.id or 0, mentee.lang, fields,
                str(mentee.org_id) if mentee.org_id is not None else None)
    weights = field_weights(program.mentors, [])
    picks = best_mentors(me, program.mentors, program.rules, weights, count=OFFERED)
    if not picks:
        _explain(session, settings, mentee, "none_available", now, unmapped=mapped.unmapped)
        return
    valid_for = parse_duration(settings.matching.choice_valid_for)
    offer = MatchOffer(mentee_id=mentee.id or 0, mentor_ids=",".join(str(p.mentor) for p in picks),
                       created_at=now, expires_at=now + valid_for)
    session.add(offer)
    session.flush()
    expires = int(offer.expires_at.timestamp() // 60)
    secret = signing_secret(session, settings.web.secret_env)
    reply_to = (f"{local_parts(settings)[0]}+{sign(secret, PURPOSE, str(offer.id), str(expires))}"
                f"@{settings.gateway.domain}")
    lang = mentee.lang if mentee.lang in ("fr", "en") else "fr"
    profiles = []
    for number, pick in enumerate(picks, start=1):
        mentor = session.get(Participant, pick.mentor)
        assert mentor is not None
        profiles.append({"number": number, "first_name": _first_name(mentor),
                         "fields": ", ".join(taxonomy.label(f, lang) for f in pick.reasons),
                         "bio": _short_bio(mentor)})
    queue_program_mail(session, settings, kind="matching", to_address=mentee.email,
                       to_name=mentee.display_name, template="match_offer", lang=lang,
                       context={"recipient_name": _first_name(mentee), "profiles": profiles,
                                "unmapped": list(mapped.unmapped),
                                "valid_days": max(1, valid_for.days)},
                       now=now, recipient_participant_id=mentee.id, reply_to=reply_to,
                       auto_submitted="auto-replied")
    record(session, at=now, actor=mentee.email, subject_type="matching", subject_id=offer.id,
           action="choose_offer", detail=f"mentors {offer.mentor_ids}")


def _reply(session: Session, settings: Settings, mentee: Participant, token: str, text: str,
           now: datetime) -> None:
    parts = verify(signing_secret(session, settings.web.secret_env), PURPOSE, token)
    offer = session.get(MatchOffer, int(parts[0])) if parts and len(parts) == 2 else None
    if offer is None or parts is None or offer.mentee_id != mentee.id:
        _explain(session, settings, mentee, "forged", now)
        return
    if now > datetime.fromtimestamp(int(parts[1]) * 60, UTC):
        _explain(session, settings, mentee, "expired", now)
        return
    token_id = hashlib.sha256(f"{PURPOSE}:{token.lower()}".encode()).hexdigest()
    if offer.chosen is not None or session.exec(
            select(UsedToken).where(UsedToken.token_id == token_id)).first():
        _explain(session, settings, mentee, "used", now)
        return
    mentor_ids = [int(i) for i in offer.mentor_ids.split(",") if i]
    choice = parse_choice(text, len(mentor_ids))
    if choice is None:  # nothing used up: the mentee can answer again
        _explain(session, settings, mentee, "unclear", now, offered=len(mentor_ids))
        return
    if _has_pair(session, mentee):
        _explain(session, settings, mentee, "already_paired", now)
        return
    mentor = session.get(Participant, mentor_ids[choice - 1])
    if mentor is None or not _has_room(session, mentor):
        _explain(session, settings, mentee, "full", now)
        return
    session.add(UsedToken(token_id=token_id, used_at=now, used_by=mentee.email))
    row = MatchSuggestion(mentee_id=mentee.id or 0, mentor_id=mentor.id or 0,
                          org_id=mentee.org_id, score=0.0, reasons="", source="email",
                          state="proposed", created_at=now)
    session.add(row)
    session.flush()
    offer.chosen, offer.suggestion_id = choice, row.id
    session.add(offer)
    record(session, at=now, actor=mentee.email, subject_type="matching", subject_id=offer.id,
           action="choose_reply", detail=f"chose {choice}: participant {mentor.id}")
    if settings.matching.require_approval:
        _explain(session, settings, mentee, "pending", now, mentor_name=_first_name(mentor))
        return
    try:
        with session.begin_nested():
            pair = create_pair(session, settings, mentor=mentor.email, mentee=mentee.email,
                               now=now, actor=mentee.email)
    except ProgramError:
        _explain(session, settings, mentee, "full", now)
        return
    row.state, row.decided_at, row.decided_by, row.pair_id = "accepted", now, mentee.email, pair.id
    session.add(row)


def _has_pair(session: Session, person: Participant) -> bool:
    return session.exec(select(Pair.id).where(Pair.mentee_id == person.id,
                                              col(Pair.state).in_(service.BUSY))).first() is not None


def _has_room(session: Session, mentor: Participant) -> bool:
    return service.places_taken(session, mentor.id or 0) < service.capacity_of(mentor)


def _first_name(person: Participant) -> str:
    # Never the surname: the enrolment profile's first name, else the display name's first word.
    first = getattr(person, "first_name", None) or (person.display_name or "").split(" ")[0]
    return str(first)


def _short_bio(person: Participant) -> str:
    bio = " ".join(str(getattr(person, "bio", None) or "").split())
    return bio if len(bio) <= BIO_CHARS else bio[:BIO_CHARS].rsplit(" ", 1)[0] + "…"


def _explain(session: Session, settings: Settings, mentee: Participant, problem: str,
             now: datetime, **context: object) -> None:
    queue_program_mail(session, settings, kind="matching", to_address=mentee.email,
                       to_name=mentee.display_name, template="match_answer",
                       lang=mentee.lang if mentee.lang in ("fr", "en") else "fr",
                       context={"recipient_name": _first_name(mentee), "problem": problem,
                                "choose_address": f"{local_parts(settings)[0]}@"
                                                  f"{settings.gateway.domain}", **context},
                       now=now, recipient_participant_id=mentee.id, auto_submitted="auto-replied")
    record(session, at=now, actor=mentee.email, subject_type="matching", subject_id=None,
           action="choose_answer", detail=problem)


def choose_handlers(db: Database, clock: Clock, settings: Settings,
                    wake_delivery: Callable[[], None],
                    ) -> dict[str, Callable[[str, str, bytes], Awaitable[str]]]:
    """choisir@ and choose@ (and their +TOKEN replies) answer inside the SMTP transaction."""

    async def handle_mail(mail_from: str, rcpt: str, raw: bytes) -> str:
        now = clock.now()
        try:
            reply = await db.write(lambda s: handle(s, settings, sender=mail_from, rcpt=rcpt,
                                                    raw=raw, now=now))
        except IntegrityError:  # the same reply delivered twice at the same moment
            return "250 2.0.0 Reply received; nothing was changed"
        wake_delivery()
        return reply

    return {local: handle_mail for local in local_parts(settings)}
