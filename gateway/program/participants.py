"""Looking after enrolled participants and organizations: list, show, edit (CLI and web pages)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from gateway.config import Settings
from gateway.program import profile
from gateway.program.service import (
    LANGS,
    ProgramError,
    _check_zone,
    checked_email,
    ensure_consent,
    find_organization,
    participant_by_email,
    set_interests,
)
from gateway.store.audit import record
from gateway.store.models import Organization, Pair, Participant, ParticipantInterest

Scope = tuple[int, ...] | None


@dataclass(frozen=True)
class ParticipantView:
    id: int
    email: str
    display_name: str
    first_name: str | None
    last_name: str | None
    role: str
    lang: str
    org: str | None
    time_zone: str | None
    birth_date: str | None
    birth_year: int | None
    minor: bool
    school_level: str | None
    bio: str | None
    capacity: int
    guardian_email: str | None
    consent_state: str
    interests: tuple[str, ...]
    pairs: tuple[tuple[int, str], ...]  # (pair id, state)

    def to_json(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["interests"] = list(self.interests)
        data["pairs"] = [{"id": pid, "state": state} for pid, state in self.pairs]
        return data


def view(session: Session, person: Participant) -> ParticipantView:
    assert person.id is not None
    org = session.get(Organization, person.org_id) if person.org_id else None
    interests = session.exec(select(ParticipantInterest.interest)
                             .where(ParticipantInterest.participant_id == person.id)
                             .order_by(col(ParticipantInterest.id))).all()
    pairs = session.exec(select(Pair.id, Pair.state).where(
        (col(Pair.mentor_id) == person.id) | (col(Pair.mentee_id) == person.id))
        .order_by(col(Pair.id))).all()
    return ParticipantView(
        id=person.id, email=person.email, display_name=person.display_name,
        first_name=person.first_name, last_name=person.last_name, role=person.role,
        lang=person.lang, org=org.name if org else None, time_zone=person.time_zone,
        birth_date=person.birth_date.isoformat() if person.birth_date else None,
        birth_year=person.birth_year, minor=person.minor, school_level=person.school_level,
        bio=person.bio, capacity=person.capacity, guardian_email=person.guardian_email,
        consent_state=person.consent_state, interests=tuple(interests),
        pairs=tuple((pid, state) for pid, state in pairs if pid is not None))


def search(session: Session, *, scope: Scope = None, org: str | None = None,
           role: str | None = None, text: str = "", limit: int = 1000,
           offset: int = 0) -> tuple[list[Participant], int]:
    query = select(Participant)
    if scope is not None:
        query = query.where(col(Participant.org_id).in_(scope))
    if org:
        found = find_organization(session, org)
        query = query.where(Participant.org_id == (found.id if found else None))
    if role:
        query = query.where(Participant.role == role)
    text = text.strip().lower()
    if text:
        like = f"%{text}%"
        query = query.where(or_(func.lower(Participant.display_name).like(like),
                                func.lower(Participant.email).like(like)))
    total = int(session.exec(select(func.count()).select_from(query.subquery())).one())
    people = session.exec(query.order_by(col(Participant.display_name), col(Participant.id))
                          .offset(offset).limit(limit)).all()
    return list(people), total


EDITABLE = ("name", "first_name", "last_name", "lang", "org", "time_zone", "birth", "school_level",
            "bio", "capacity", "guardian_email", "interests")


def edit(session: Session, settings: Settings, email: str, changes: dict[str, Any], *,
         now: datetime, actor: str = "cli") -> Participant:
    """Change what is given (None = unchanged; "" clears an optional text)."""
    person = participant_by_email(session, email)
    changed: list[str] = []

    def put(attr: str, value: Any) -> None:
        if getattr(person, attr) != value:
            setattr(person, attr, value)
            changed.append(attr)

    for key, value in changes.items():
        if value is None:
            continue
        if key == "name":
            if not value.strip() or any(c in value for c in "\r\n<>\"@"):
                raise ProgramError("a display name may not be empty or contain line breaks, <, >, \" or @")
            put("display_name", value.strip())
        elif key in ("first_name", "last_name", "school_level", "bio"):
            put(key, value.strip() or None)
        elif key == "lang":
            if value not in LANGS:
                raise ProgramError(f"language must be fr or en, not {value!r}")
            put("lang", value)
        elif key == "org":
            found = find_organization(session, value) if value else None
            put("org_id", found.id if found else None)
        elif key == "time_zone":
            _check_zone(value or None)
            put("time_zone", value or None)
        elif key == "birth":
            _edit_birth(person, value, now, put)
        elif key == "capacity":
            if not 1 <= int(value) <= 50:
                raise ProgramError("capacity must be a number from 1 to 50")
            put("capacity", int(value))
        elif key == "guardian_email":
            put("guardian_email", checked_email(value) if value else None)
        elif key == "interests":
            before = view(session, person).interests
            if tuple(set_interests(session, person, [value])) != before:
                changed.append("interests")
        else:
            raise ProgramError(f"{key} cannot be edited")
    if changed:
        person.updated_at = now
        session.add(person)
        session.flush()
        record(session, at=now, actor=actor, subject_type="participant", subject_id=person.id,
               action="update", detail=", ".join(changed))
        ensure_consent(session, settings, person, now=now, actor=actor)
    return person


def _edit_birth(person: Participant, value: str, now: datetime, put: Any) -> None:
    if not value:
        born, year = None, None
    else:
        try:
            born, year = profile.parse_birth(value, now.date())
        except profile.BadDate as exc:
            raise ProgramError(f"unreadable birth date {value!r} (e.g. 2010-03-14, 14/03/2010, 2010)") from exc
    put("birth_date", born)
    put("birth_year", year)
    put("minor", profile.is_minor(now.date(), born, year, person.minor))


def list_organizations(session: Session, scope: Scope = None) -> list[dict[str, Any]]:
    counts = dict(session.exec(select(Participant.org_id, func.count())
                               .group_by(col(Participant.org_id))).all())
    query = select(Organization).order_by(col(Organization.name))
    if scope is not None:
        query = query.where(col(Organization.id).in_(scope))
    return [{"id": o.id, "name": o.name, "participants": int(counts.get(o.id, 0))}
            for o in session.exec(query).all()]


def rename_organization(session: Session, name: str, new_name: str, *, now: datetime,
                        actor: str = "cli") -> Organization:
    org = find_organization(session, name)
    assert org is not None
    new_name = new_name.strip()
    if not new_name:
        raise ProgramError("an organization needs a name")
    if new_name != org.name and session.exec(select(Organization)
                                             .where(Organization.name == new_name)).first():
        raise ProgramError(f"organization {new_name!r} already exists")
    before = org.name
    org.name = new_name
    session.add(org)
    record(session, at=now, actor=actor, subject_type="organization", subject_id=org.id,
           action="rename", detail=f"{before} -> {new_name}")
    return org
