"""Who may write to which alias (real database): the partner only, our domain only, open pairs only."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from gateway.ingress.accept import special_handler
from gateway.ingress.routing import (
    NO_SUCH_ALIAS,
    NOT_YOUR_PARTNER,
    RELAY_DENIED,
    Refusal,
    Route,
    resolve_route,
)
from gateway.program.service import change_pair_state
from tests.unit.conftest import NOW, Program


def route(program: Program, rcpt: str, sender: str) -> Route | Refusal:
    return program.db.transaction(lambda s: resolve_route(
        s, domain="mentor.test", rcpt=rcpt, envelope_from=sender), read_only=True)


def test_each_partner_reaches_the_other_through_the_alias(program: Program) -> None:
    to_mentee = route(program, program.pair.mentee_alias, "MENTOR@example.org")
    to_mentor = route(program, program.pair.mentor_alias, "lea@example.net")
    assert isinstance(to_mentee, Route) and to_mentee.direction == "mentor_to_mentee"
    assert isinstance(to_mentor, Route) and to_mentor.direction == "mentee_to_mentor"
    assert to_mentee.sender_email == "mentor@example.org"


@pytest.mark.parametrize(("rcpt", "sender", "reply"), [
    ("{mentee_alias}", "stranger@example.com", NOT_YOUR_PARTNER),
    ("{mentee_alias}", "lea@example.net", NOT_YOUR_PARTNER),  # writing to one's own alias
    ("nobody@mentor.test", "mentor@example.org", NO_SUCH_ALIAS),
    ("lea@example.net", "mentor@example.org", RELAY_DENIED),
])
def test_everyone_else_is_refused_with_the_right_reply(program: Program, rcpt: str, sender: str,
                                                       reply: str) -> None:
    found = route(program, rcpt.format(mentee_alias=program.pair.mentee_alias), sender)
    assert found == Refusal(reply)


def test_a_closed_pair_has_no_alias_any_more(program: Program) -> None:
    def close(session: Session) -> None:
        change_pair_state(session, program.pair.id, "close", now=NOW)

    program.db.transaction(close)
    assert route(program, program.pair.mentee_alias, "mentor@example.org") == Refusal(NO_SUCH_ALIAS)


async def _handler(mail_from: str, rcpt: str, raw: bytes) -> str:
    return "250 2.0.0 OK"


def test_special_addresses_match_by_local_part_before_plus_at_our_domain_only() -> None:
    special = {"moderate": _handler}
    assert special_handler(special, "moderate+a.b.c@mentor.test", "mentor.test") is _handler
    assert special_handler(special, "moderate@mentor.test", "mentor.test") is _handler
    assert special_handler(special, "moderate+x@elsewhere.test", "mentor.test") is None
    assert special_handler(special, "moderator@mentor.test", "mentor.test") is None
