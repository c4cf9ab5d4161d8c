"""Participants, organizations, pairs and their aliases: the services the CLI and web page call."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlmodel import Session, select

from gateway.config import Settings
from gateway.errors import GatewayError
from gateway.mail.alias import new_alias_local_part, normalize_address
from gateway.program import consent_mail, profile
from gateway.program.introductions import queue_introductions
from gateway.store.audit import record
from gateway.store.models import Alias, Organization, Pair, Participant, ParticipantInterest

ROLES = ("mentor", "mentee")
LANGS = ("fr", "en")
PAIR_TRANSITIONS = {
    "pause": ({"active"}, "paused"),
    "resume": ({"paused"}, "active"),
    "close": ({"active", "paused", "awaiting_consent"}, "closed"),
}


class ProgramError(GatewayError):
    """Bad input or a refused operation, phrased for the person at the keyboard."""


@dataclass(frozen=True)
class PairView:
    id: int
    state: str
    mentor_email: str
    mentor_name: str
    mentee_email: str
    mentee_name: str
    mentor_alias: str
    mentee_alias: str
    created_at: datetime
    last_delivered_at: datetime | None
    org: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "state": self.state,
            "mentor": {"email": self.mentor_email, "name": self.mentor_name},
            "mentee": {"email": self.mentee_email, "name": self.mentee_name},
            "mentor_alias": self.mentor_alias,
            "mentee_alias": self.mentee_alias,
            "created_at": self.created_at.isoformat(),
            "last_delivered_at": self.last_delivered_at.isoformat() if self.last_delivered_at else None,
            "organization": self.org,
        }


def checked_email(address: str) -> str:
    try:
        result = validate_email(address.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ProgramError(f"invalid e-mail address {address!r}: {exc}") from exc
    return normalize_address(result.normalized)


def add_organization(session: Session, name: str, *, now: datetime, actor: str = "cli") -> Organization:
    name = name.strip()
    if not name:
        raise ProgramError("an organization needs a name")
    if session.exec(select(Organization).where(Organization.name == name)).first():
        raise ProgramError(f"organization {name!r} already exists")
    org = Organization(name=name, created_at=now)
    session.add(org)
    session.flush()
    record(session, at=now, actor=actor, subject_type="organization", subject_id=org.id, action="create")
    return org


def find_organization(session: Session, name: str | None) -> Organization | None:
    if not name:
        return None
    org = session.exec(select(Organization).where(Organization.name == name)).first()
    if org is None:
        raise ProgramError(f"no organization named {name!r} (add it with: mentor-gateway org add {name!r})")
    return org


def add_participant(
    session: Session,
    *,
    email: str,
    name: str,
    role: str,
    now: datetime,
    lang: str = "fr",
    minor: bool = False,
    org: str | None = None,
    time_zone: str | None = None,
    actor: str = "cli",
    settings: Settings | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    birth_date: date | None = None,
    birth_year: int | None = None,
    school_level: str | None = None,
    bio: str | None = None,
    capacity: int = 1,
    guardian_email: str | None = None,
    interests: Iterable[str] = (),
) -> Participant:
    """One participant. With `settings`, a guardian is asked for consent when the birth date says so."""
    address = checked_email(email)
    if role not in ROLES:
        raise ProgramError(f"role must be mentor or mentee, not {role!r}")
    if lang not in LANGS:
        raise ProgramError(f"language must be fr or en, not {lang!r}")
    if not name.strip() or any(c in name for c in "\r\n<>\"@"):
        raise ProgramError("a display name is required and may not contain line breaks, <, >, \" or @")
    if session.exec(select(Participant).where(Participant.email == address)).first():
        raise ProgramError(f"a participant with address {address} already exists")
    if not 1 <= capacity <= 50:
        raise ProgramError("capacity must be a number from 1 to 50")
    _check_zone(time_zone)
    organization = find_organization(session, org)
    guardian = checked_email(guardian_email) if guardian_email else None
    today = now.date()
    person = Participant(
        email=address, display_name=name.strip(), role=role, lang=lang,
        minor=profile.is_minor(today, birth_date, birth_year, minor),
        org_id=organization.id if organization else None, time_zone=time_zone, created_at=now,
        first_name=first_name or profile.first_name_of(None, name), last_name=last_name,
        birth_date=birth_date, birth_year=birth_year or (birth_date.year if birth_date else None),
        school_level=school_level, bio=bio, capacity=capacity, guardian_email=guardian,
    )
    if settings is not None and profile.needs_consent(today, birth_date, person.birth_year,
                                                      settings.consent.age) and not guardian:
        raise ProgramError(f"{address} is under {settings.consent.age}: a guardian's e-mail is "
                           "required (--guardian)")
    session.add(person)
    session.flush()
    set_interests(session, person, interests)
    record(session, at=now, actor=actor, subject_type="participant", subject_id=person.id,
           action="create", detail=role)
    if settings is not None:
        ensure_consent(session, settings, person, now=now, actor=actor)
    return person


def set_interests(session: Session, person: Participant, interests: Iterable[str]) -> list[str]:
    wanted = profile.normalize_interests(interests)
    for row in session.exec(select(ParticipantInterest)
                            .where(ParticipantInterest.participant_id == person.id)).all():
        session.delete(row)
    session.flush()
    assert person.id is not None
    session.add_all([ParticipantInterest(participant_id=person.id, interest=i) for i in wanted])
    return wanted


def ensure_consent(session: Session, settings: Settings, person: Participant, *, now: datetime,
                   actor: str) -> bool:
    """Asks the guardian when the participant is under the consent age and nobody asked yet."""
    if person.consent_state != "not_needed" or not consent_mail.needs_consent(person, settings, now):
        return False
    if not person.guardian_email:
        raise ProgramError(f"{person.email} is under {settings.consent.age}: record a guardian's "
                           "e-mail first (participant edit --guardian)")
    consent_mail.request_consent(session, settings, person, now=now, actor=actor)
    return True


def _check_zone(zone: str | None) -> None:
    if zone is None:
        return
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ProgramError(f"unknown time zone {zone!r}") from exc


def participant_by_email(session: Session, email: str) -> Participant:
    address = normalize_address(email)
    person = session.exec(select(Participant).where(Participant.email == address)).first()
    if person is None:
        raise ProgramError(f"no participant with address {address}")
    return person


def _new_alias(session: Session, pair_id: int, participant_id: int, now: datetime) -> Alias:
    while True:
        local = new_alias_local_part()
        if not session.exec(select(Alias).where(Alias.local_part == local)).first():
            alias = Alias(local_part=local, pair_id=pair_id, participant_id=participant_id, created_at=now)
            session.add(alias)
            return alias


def create_pair(
    session: Session, settings: Settings, *, mentor: str, mentee: str, now: datetime, actor: str = "cli"
) -> PairView:
    mentor_p = participant_by_email(session, mentor)
    mentee_p = participant_by_email(session, mentee)
    if mentor_p.role != "mentor":
        raise ProgramError(f"{mentor_p.email} is registered as a {mentor_p.role}, not a mentor")
    if mentee_p.role != "mentee":
        raise ProgramError(f"{mentee_p.email} is registered as a {mentee_p.role}, not a mentee")
    for person in (mentor_p, mentee_p):
        if person.blocked_at is not None:
            raise ProgramError(f"{person.email} was blocked from new pairs after a report "
                               f"({person.blocked_at:%Y-%m-%d})")
    existing = session.exec(
        select(Pair).where(Pair.mentor_id == mentor_p.id, Pair.mentee_id == mentee_p.id,
                           Pair.state != "closed")
    ).first()
    if existing:
        raise ProgramError(f"these two are already paired (pair {existing.id})")
    for person in (mentor_p, mentee_p):
        ensure_consent(session, settings, person, now=now, actor=actor)
    waiting = [p for p in (mentor_p, mentee_p) if consent_mail.blocks_pairs(p)]
    assert mentor_p.id is not None and mentee_p.id is not None
    pair = Pair(mentor_id=mentor_p.id, mentee_id=mentee_p.id, org_id=mentee_p.org_id or mentor_p.org_id,
                created_at=now, state="awaiting_consent" if waiting else "active")
    session.add(pair)
    session.flush()
    assert pair.id is not None
    _new_alias(session, pair.id, mentor_p.id, now)
    _new_alias(session, pair.id, mentee_p.id, now)
    session.flush()
    record(session, at=now, actor=actor, subject_type="pair", subject_id=pair.id, action="create",
           to_state=pair.state,
           detail=("waiting for the guardian's consent of " + ", ".join(p.email for p in waiting))
           if waiting else None)
    if not waiting:
        queue_introductions(session, settings, pair, now)
    return pair_view(session, settings, pair.id)


def activate_pair(session: Session, settings: Settings, pair: Pair, *, now: datetime,
                  actor: str) -> None:
    """A pair that waited for consent goes active; only now do both learn the aliases."""
    before = pair.state
    pair.state = "active"
    session.add(pair)
    record(session, at=now, actor=actor, subject_type="pair", subject_id=pair.id, action="activate",
           from_state=before, to_state="active", detail="guardian's consent recorded")
    queue_introductions(session, settings, pair, now)


def pair_view(session: Session, settings: Settings, pair_id: int) -> PairView:
    pair = session.get(Pair, pair_id)
    if pair is None:
        raise ProgramError(f"no pair with id {pair_id}")
    mentor = session.get(Participant, pair.mentor_id)
    mentee = session.get(Participant, pair.mentee_id)
    assert mentor is not None and mentee is not None
    aliases: dict[int | None, str] = {a.participant_id: a.local_part for a in
               session.exec(select(Alias).where(Alias.pair_id == pair_id)).all()}
    org = session.get(Organization, pair.org_id) if pair.org_id else None
    domain = settings.gateway.domain
    assert pair.id is not None
    return PairView(
        id=pair.id, state=pair.state, mentor_email=mentor.email, mentor_name=mentor.display_name,
        mentee_email=mentee.email, mentee_name=mentee.display_name,
        mentor_alias=f"{aliases[mentor.id]}@{domain}", mentee_alias=f"{aliases[mentee.id]}@{domain}",
        created_at=pair.created_at, last_delivered_at=pair.last_delivered_at,
        org=org.name if org else None,
    )


def list_pairs(session: Session, settings: Settings, *, state: str | None = None,
               limit: int = 1000, offset: int = 0) -> list[PairView]:
    query = select(Pair.id).order_by(Pair.id).offset(offset).limit(limit)  # type: ignore[arg-type]
    if state:
        query = query.where(Pair.state == state)
    return [pair_view(session, settings, pid) for pid in session.exec(query).all() if pid is not None]


def change_pair_state(session: Session, pair_id: int, action: str, *, now: datetime,
                      actor: str = "cli", reason: str | None = None) -> Pair:
    pair = session.get(Pair, pair_id)
    if pair is None:
        raise ProgramError(f"no pair with id {pair_id}")
    allowed, target = PAIR_TRANSITIONS[action]
    if pair.state not in allowed:
        raise ProgramError(f"pair {pair_id} is {pair.state}; it cannot be {action}d")
    if target == "active":
        for pid in (pair.mentor_id, pair.mentee_id):
            person = session.get(Participant, pid)
            if person is not None and person.consent_state in ("pending", "withdrawn"):
                raise ProgramError(f"pair {pair_id} cannot be resumed: {person.email}'s guardian "
                                   f"has not consented (consent {person.consent_state})")
    before = pair.state
    pair.state = target
    session.add(pair)
    record(session, at=now, actor=actor, subject_type="pair", subject_id=pair_id, action=action,
           from_state=before, to_state=target, detail=reason)
    return pair
