"""Who may write to which alias: resolve a recipient alias to its pair and check the sender."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from gateway.mail.alias import normalize_address, split_address
from gateway.store.models import Alias, Pair, Participant

RELAY_DENIED = "550 5.7.1 Relaying denied: this gateway only accepts mail for its own addresses"
NO_SUCH_ALIAS = "550 5.1.1 No such mentoring address here (it may have been closed)"
NOT_YOUR_PARTNER = (
    "550 5.7.1 This mentoring address only accepts mail from the partner it was created for;"
    " your message was not delivered"
)


@dataclass(frozen=True)
class Route:
    """A recipient that may receive this sender's mail, and everything needed to store it."""

    pair_id: int
    pair_state: str
    alias_local: str
    sender_id: int
    sender_email: str
    recipient_id: int
    direction: str  # mentor_to_mentee | mentee_to_mentor
    recipient_minor: bool = False


@dataclass(frozen=True)
class Refusal:
    reply: str


def is_local(address: str, domain: str) -> bool:
    _local, addr_domain = split_address(address)
    return addr_domain == domain


def resolve_route(session: Session, *, domain: str, rcpt: str, envelope_from: str) -> Route | Refusal:
    local, addr_domain = split_address(rcpt)
    if addr_domain != domain:
        return Refusal(RELAY_DENIED)
    # One statement: the alias, its pair and the partner allowed to write to it (the other one).
    partner = case((col(Alias.participant_id) == col(Pair.mentor_id), col(Pair.mentee_id)),
                   else_=col(Pair.mentor_id))
    recipient = aliased(Participant)
    query = (
        select(col(Alias.participant_id), col(Pair.id), col(Pair.state), col(Pair.mentor_id), partner,
               col(Participant.email), col(recipient.minor))
        .join(Pair, Pair.id == Alias.pair_id)  # type: ignore[arg-type]
        .outerjoin(Participant, Participant.id == partner)  # type: ignore[arg-type]
        .outerjoin(recipient, recipient.id == Alias.participant_id)  # type: ignore[arg-type]
        .where(col(Alias.local_part) == local)
    )
    row = session.execute(query).first()
    if row is None:
        return Refusal(NO_SUCH_ALIAS)
    recipient_id, pair_id, pair_state, mentor_id, sender_id, sender_email, minor = row
    if pair_state == "closed":
        return Refusal(NO_SUCH_ALIAS)
    if sender_email is None or sender_email != normalize_address(envelope_from or ""):
        return Refusal(NOT_YOUR_PARTNER)
    direction = "mentee_to_mentor" if recipient_id == mentor_id else "mentor_to_mentee"
    return Route(
        pair_id=pair_id, pair_state=pair_state, alias_local=local, sender_id=sender_id,
        sender_email=sender_email, recipient_id=recipient_id, direction=direction,
        recipient_minor=bool(minor),
    )
