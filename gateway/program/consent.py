"""A guardian's consent for a participant under the consent age: ask, record, withdraw, remind.

Until consent is recorded none of the participant's pairs is active (state `awaiting_consent`,
no introductions, so nobody knows the aliases); consent activates them and sends the
introductions; withdrawal pauses them at once. The guardian answers through a signed link
(`/consent/<token>`) or by replying OUI/YES to the signed reply address `consent+<token>@domain`.
Who, when and how is in the audit trail.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from sqlmodel import Session, col, select

from gateway.config import Settings
from gateway.durations import parse_duration
from gateway.notices import queue_program_mail
from gateway.program import profile
from gateway.program.consent_mail import (
    LOCAL_PART,
    PURPOSE,
    WITHDRAW_PURPOSE,
    ConsentError,
    blocks_pairs,
    links,
    mail_guardian,
    needs_consent,
    request_consent,
)
from gateway.program.service import activate_pair, change_pair_state
from gateway.store.audit import record
from gateway.store.models import ConsentRequest, Pair, Participant, Staff, UsedToken
from gateway.tokens import signing_secret, verify

__all__ = ["LOCAL_PART", "ConsentError", "blocks_pairs", "links", "needs_consent", "request_consent"]


def request_from_token(session: Session, settings: Settings, token: str,
                       now: datetime) -> ConsentRequest:
    parts = verify(signing_secret(session, settings.web.secret_env), PURPOSE, token)
    if parts is None or len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise ConsentError("invalid")
    request = session.get(ConsentRequest, int(parts[0]))
    if request is None:
        raise ConsentError("invalid")
    if now > datetime.fromtimestamp(int(parts[1]) * 60, UTC):
        raise ConsentError("expired")
    if request.state != "pending":
        raise ConsentError("used" if request.state == "given" else "replaced")
    return request


def first_name_for_token(session: Session, settings: Settings, token: str, now: datetime) -> str:
    """Whose consent a valid, unused link asks for (first name only: the page is public)."""
    request = request_from_token(session, settings, token, now)
    person = session.get(Participant, request.participant_id)
    return profile.first_name_of(person.first_name, person.display_name) if person else ""


def give_with_token(session: Session, settings: Settings, token: str, *, method: str,
                    actor: str | None, now: datetime) -> Participant:
    """Records consent; `actor` None means the guardian the request was sent to."""
    request = request_from_token(session, settings, token, now)
    actor = actor or request.guardian_email
    token_id = hashlib.sha256(token.encode()).hexdigest()
    if session.exec(select(UsedToken).where(UsedToken.token_id == token_id)).first():
        raise ConsentError("used")
    session.add(UsedToken(token_id=token_id, used_at=now, used_by=actor))
    return record_consent(session, settings, request, method=method, actor=actor, now=now)


def record_consent(session: Session, settings: Settings, request: ConsentRequest, *, method: str,
                   actor: str, now: datetime) -> Participant:
    person = session.get(Participant, request.participant_id)
    assert person is not None
    request.state, request.decided_at, request.method = "given", now, method
    person.consent_state = "given"
    session.add_all([request, person])
    record(session, at=now, actor=actor, subject_type="participant", subject_id=person.id,
           action="consent_given", detail=f"guardian {request.guardian_email} by {method}")
    activate_ready_pairs(session, settings, person, now=now, actor=actor)
    return person


def give_by_staff(session: Session, settings: Settings, person: Participant, *, actor: str,
                  method: str, now: datetime) -> Participant:
    """A coordinator records a consent received on paper."""
    request = session.exec(select(ConsentRequest).where(
        ConsentRequest.participant_id == person.id, ConsentRequest.state == "pending")).first()
    if request is None:
        assert person.id is not None
        request = ConsentRequest(participant_id=person.id, guardian_email=person.guardian_email or "",
                                 requested_at=now)
        session.add(request)
        session.flush()
    return record_consent(session, settings, request, method=method, actor=actor, now=now)


def activate_ready_pairs(session: Session, settings: Settings, person: Participant, *,
                         now: datetime, actor: str) -> int:
    """Pairs waiting for this person's consent whose partner blocks nothing either go active."""
    count = 0
    for pair in session.exec(select(Pair).where(
            (col(Pair.mentor_id) == person.id) | (col(Pair.mentee_id) == person.id),
            Pair.state == "awaiting_consent")).all():
        partner = session.get(Participant, pair.mentor_id if pair.mentee_id == person.id else pair.mentee_id)
        if partner is not None and not blocks_pairs(partner):
            activate_pair(session, settings, pair, now=now, actor=actor)
            count += 1
    return count


def withdraw_with_token(session: Session, settings: Settings, token: str, *, method: str,
                        actor: str, now: datetime) -> Participant:
    parts = verify(signing_secret(session, settings.web.secret_env), WITHDRAW_PURPOSE, token)
    person = session.get(Participant, int(parts[0])) if parts and parts[0].isdigit() else None
    if person is None:
        raise ConsentError("invalid")
    return withdraw(session, person, method=method, actor=actor, now=now)


def withdraw(session: Session, person: Participant, *, method: str, actor: str,
             now: datetime) -> Participant:
    """Pauses every active pair of theirs at once; nothing flows until consent is given again."""
    person.consent_state = "withdrawn"
    session.add(person)
    for request in session.exec(select(ConsentRequest).where(
            ConsentRequest.participant_id == person.id,
            col(ConsentRequest.state).in_(("pending", "given")))).all():
        request.state, request.decided_at, request.method = "withdrawn", now, method
        session.add(request)
    record(session, at=now, actor=actor, subject_type="participant", subject_id=person.id,
           action="consent_withdrawn", detail=f"by {method}")
    for pair in session.exec(select(Pair).where(
            (col(Pair.mentor_id) == person.id) | (col(Pair.mentee_id) == person.id),
            Pair.state == "active")).all():
        change_pair_state(session, pair.id or 0, "pause", now=now, actor=actor,
                          reason="guardian's consent withdrawn")
    return person


def send_reminders(session: Session, settings: Settings, now: datetime) -> int:
    """Remind guardians who have not answered; past the last step, tell the coordinators once."""
    steps = [parse_duration(d) for d in settings.consent.remind_after]
    tell_after = parse_duration(settings.consent.tell_coordinator_after)
    sent = 0
    pending = session.exec(select(ConsentRequest).where(ConsentRequest.state == "pending")
                           .order_by(col(ConsentRequest.id))).all()
    for request in pending:
        person = session.get(Participant, request.participant_id)
        if person is None:
            continue
        waited = now - request.requested_at.replace(tzinfo=request.requested_at.tzinfo or UTC)
        due = sum(1 for step in steps if waited >= step)
        if request.reminders_sent < due:
            request.reminders_sent = due
            request.last_reminded_at = now
            session.add(request)
            mail_guardian(session, settings, person, request, "consent_reminder", now)
            record(session, at=now, actor="system", subject_type="participant", subject_id=person.id,
                   action="consent_reminded", detail=f"reminder {due}")
            sent += 1
        elif waited >= tell_after and request.coordinator_told_at is None:
            request.coordinator_told_at = now
            session.add(request)
            sent += _tell_coordinators(session, settings, person, request, now)
    return sent


def _tell_coordinators(session: Session, settings: Settings, person: Participant,
                       request: ConsentRequest, now: datetime) -> int:
    staff = session.exec(select(Staff).where(Staff.active == True, Staff.org_id == person.org_id,  # noqa: E712
                                             Staff.role == "coordinator")).all()
    if not staff:  # no coordinator for that school: the program's moderators hear of it
        staff = session.exec(select(Staff).where(Staff.active == True,  # noqa: E712
                                                 Staff.role == "moderator")).all()
    for member in staff:
        queue_program_mail(
            session, settings, kind="notice", to_address=member.email, to_name=member.display_name,
            template="consent_coordinator", lang=member.lang,
            context={"recipient_name": member.display_name, "participant_name": person.display_name,
                     "participant_email": person.email, "guardian_email": request.guardian_email,
                     "requested_on": request.requested_at.date().isoformat()},
            now=now)
    record(session, at=now, actor="system", subject_type="participant", subject_id=person.id,
           action="consent_coordinator_told", detail=f"{len(staff)} staff member(s)")
    return len(staff)
