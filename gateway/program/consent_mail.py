"""Asking a guardian for consent: the signed link and reply address, and the e-mail itself.

Below `service.py` (which asks when a young participant is enrolled or paired) and `consent.py`
(which records the answer), so neither imports the other in a circle.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from gateway.config import Settings
from gateway.durations import parse_duration
from gateway.errors import GatewayError
from gateway.notices import queue_program_mail
from gateway.program import profile
from gateway.store.audit import record
from gateway.store.models import ConsentRequest, Organization, Participant
from gateway.tokens import sign, signing_secret

LOCAL_PART = "consent"
PURPOSE = "consent"
WITHDRAW_PURPOSE = "consent-withdraw"
BLOCKING = ("pending", "withdrawn")  # consent states that keep a participant's pairs inactive


class ConsentError(GatewayError):
    """A consent link or reply that cannot be used; `code` picks the page's or CLI's words."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class ConsentLinks:
    consent_url: str
    withdraw_url: str
    reply_address: str


def link_base(settings: Settings) -> str:
    return settings.web.public_url.rstrip("/") or f"http://{settings.web.host}:{settings.web.port}"


def needs_consent(person: Participant, settings: Settings, now: datetime) -> bool:
    return profile.needs_consent(now.date(), person.birth_date, person.birth_year, settings.consent.age)


def blocks_pairs(person: Participant) -> bool:
    return person.consent_state in BLOCKING


def links(session: Session, settings: Settings, request: ConsentRequest, now: datetime) -> ConsentLinks:
    secret = signing_secret(session, settings.web.secret_env)
    expires = int((now + parse_duration(settings.consent.link_valid_for)).timestamp() // 60)
    token = sign(secret, PURPOSE, str(request.id), str(expires))
    withdraw = sign(secret, WITHDRAW_PURPOSE, str(request.participant_id))
    base = link_base(settings)
    return ConsentLinks(f"{base}/consent/{token}", f"{base}/consent/withdraw/{withdraw}",
                        f"{LOCAL_PART}+{token}@{settings.gateway.domain}")


def request_consent(session: Session, settings: Settings, person: Participant, *, now: datetime,
                    actor: str = "cli") -> ConsentRequest:
    """A new request (an earlier pending one is replaced) and the guardian's e-mail."""
    if not person.guardian_email:
        raise ConsentError("no_guardian")
    for old in session.exec(select(ConsentRequest).where(
            ConsentRequest.participant_id == person.id, ConsentRequest.state == "pending")).all():
        old.state = "replaced"
        session.add(old)
    assert person.id is not None
    request = ConsentRequest(participant_id=person.id, guardian_email=person.guardian_email,
                             requested_at=now)
    session.add(request)
    if person.consent_state != "withdrawn":
        person.consent_state = "pending"
    session.add(person)
    session.flush()
    record(session, at=now, actor=actor, subject_type="participant", subject_id=person.id,
           action="consent_requested", detail=f"guardian {person.guardian_email}")
    mail_guardian(session, settings, person, request, "consent_request", now)
    return request


def mail_guardian(session: Session, settings: Settings, person: Participant,
                   request: ConsentRequest, template: str, now: datetime) -> None:
    found = links(session, settings, request, now)
    org = session.get(Organization, person.org_id) if person.org_id else None
    queue_program_mail(
        session, settings, kind="notice", to_address=request.guardian_email,
        to_name="", template=template, lang=person.lang,
        context={"first_name": profile.first_name_of(person.first_name, person.display_name),
                 "organization": org.name if org else "", "consent_url": found.consent_url,
                 "withdraw_url": found.withdraw_url, "reply_address": found.reply_address,
                 "valid_days": parse_duration(settings.consent.link_valid_for).days,
                 "consent_age": settings.consent.age},
        now=now, reply_to=found.reply_address, recipient_participant_id=person.id,
    )
