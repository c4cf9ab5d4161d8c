"""The introduction e-mails of a new pair: what each side may know of the other, and nothing more.

The mentee learns the mentor's first name, field and short bio; the mentor learns the mentee's
first name, school level and interests. Never a surname, an address, a school or a birth date.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from gateway.config import Settings
from gateway.notices import queue_program_mail
from gateway.program.profile import first_name_of
from gateway.store.models import Alias, Pair, Participant, ParticipantInterest

QUESTIONS = {
    # A first question to break the ice, for the side that writes first.
    "mentee": {"fr": "Qu'est-ce qui t'a donné envie de faire ce métier, et à quoi ressemble une "
                     "journée typique pour toi ?",
               "en": "What made you choose this career, and what does a typical day look like "
                     "for you?"},
    "mentor": {"fr": "Qu'est-ce qui t'intéresse le plus dans ce domaine, et qu'aimerais-tu "
                     "découvrir en premier ?",
               "en": "What interests you most in this field, and what would you like to discover "
                     "first?"},
}


def interests_of(session: Session, participant_id: int | None) -> list[str]:
    return list(session.exec(select(ParticipantInterest.interest)
                             .where(ParticipantInterest.participant_id == participant_id)
                             .order_by(col(ParticipantInterest.id))).all())


def shown_name(settings: Settings, person: Participant) -> str:
    """The first name, unless the operator chose full names for that role ([privacy])."""
    if settings.privacy.name_shown_for(person.role) == "full":
        return person.display_name
    return first_name_of(person.first_name, person.display_name)


def partner_profile(session: Session, settings: Settings, partner: Participant) -> dict[str, object]:
    """The partner as the recipient may see them: first name and program facts, nothing personal."""
    interests = interests_of(session, partner.id)
    if partner.role == "mentor":
        return {"partner_name": shown_name(settings, partner),
                "partner_field": ", ".join(interests[:3]), "partner_bio": (partner.bio or "").strip(),
                "partner_school_level": "", "partner_interests": ""}
    return {"partner_name": shown_name(settings, partner),
            "partner_field": "", "partner_bio": "",
            "partner_school_level": partner.school_level or "",
            "partner_interests": ", ".join(interests)}


def queue_introductions(session: Session, settings: Settings, pair: Pair, now: datetime) -> None:
    aliases: dict[int | None, str] = {a.participant_id: a.local_part for a in
               session.exec(select(Alias).where(Alias.pair_id == pair.id)).all()}
    mentor = session.get(Participant, pair.mentor_id)
    mentee = session.get(Participant, pair.mentee_id)
    assert mentor is not None and mentee is not None
    domain = settings.gateway.domain
    for person, partner in ((mentor, mentee), (mentee, mentor)):
        partner_alias = f"{aliases[partner.id]}@{domain}"
        queue_program_mail(
            session, settings, kind="introduction", to_address=person.email,
            to_name=person.display_name, template="introduction", lang=person.lang,
            context={"recipient_name": first_name_of(person.first_name, person.display_name),
                     "partner_alias": partner_alias, "role": person.role,
                     "first_question": QUESTIONS[person.role][person.lang if person.lang in ("fr", "en") else "fr"],
                     **partner_profile(session, settings, partner)},
            now=now, pair_id=pair.id, recipient_participant_id=person.id, reply_to=partner_alias,
        )
