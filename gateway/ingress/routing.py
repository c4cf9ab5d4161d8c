"""Who may write to which alias: resolve a recipient alias to its pair and check the sender."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, case, select

from gateway.mail.alias import normalize_address, split_address
from gateway.store.db import Executes
from gateway.store.models import Alias, Pair, Participant
from gateway.store.raw import Raw

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


def _route_query() -> Select[Any]:
    """One statement: the alias, its pair and the partner allowed to write to it (the other
    one). Built once: on SQLite, building it cost as much as running it, at every RCPT."""
    alias, pair = Alias.__table__, Pair.__table__  # type: ignore[attr-defined]
    sender, recipient = Participant.__table__.alias(), Participant.__table__.alias()  # type: ignore[attr-defined]
    partner = case((alias.c.participant_id == pair.c.mentor_id, pair.c.mentee_id),
                   else_=pair.c.mentor_id)
    return (select(alias.c.participant_id, pair.c.id, pair.c.state, pair.c.mentor_id, partner,
                   sender.c.email, recipient.c.minor)
            .join(pair, pair.c.id == alias.c.pair_id)
            .outerjoin(sender, sender.c.id == partner)
            .outerjoin(recipient, recipient.c.id == alias.c.participant_id)
            .where(alias.c.local_part == bindparam("local")))


_ROUTE = Raw(_route_query())


def resolve_route(session: Executes, *, domain: str, rcpt: str,
                  envelope_from: str) -> Route | Refusal:
    local, addr_domain = split_address(rcpt)
    if addr_domain != domain:
        return Refusal(RELAY_DENIED)
    rows = _ROUTE.rows(session, {"local": local})
    if not rows:
        return Refusal(NO_SUCH_ALIAS)
    recipient_id, pair_id, pair_state, mentor_id, sender_id, sender_email, minor = rows[0]
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
