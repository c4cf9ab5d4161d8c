"""Who may write to which alias: resolve a recipient alias to its pair and check the sender."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

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
    alias = session.exec(select(Alias).where(Alias.local_part == local)).first()
    if alias is None:
        return Refusal(NO_SUCH_ALIAS)
    pair = session.get(Pair, alias.pair_id)
    if pair is None or pair.state == "closed":
        return Refusal(NO_SUCH_ALIAS)
    # The alias stands for one participant; only the other one may write to it.
    sender_id = pair.mentee_id if alias.participant_id == pair.mentor_id else pair.mentor_id
    sender = session.get(Participant, sender_id)
    if sender is None or sender.email != normalize_address(envelope_from or ""):
        return Refusal(NOT_YOUR_PARTNER)
    assert pair.id is not None
    direction = "mentee_to_mentor" if alias.participant_id == pair.mentor_id else "mentor_to_mentee"
    return Route(
        pair_id=pair.id, pair_state=pair.state, alias_local=local, sender_id=sender_id,
        sender_email=sender.email, recipient_id=alias.participant_id, direction=direction,
    )
