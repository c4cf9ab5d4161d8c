"""The program service on a real database: who may be paired, pair transitions, a coordinator's scope."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from gateway.program.queries import search_pairs
from gateway.program.service import ProgramError, add_participant, change_pair_state, create_pair
from tests.unit.conftest import NOW, Program


def test_the_same_two_people_cannot_be_paired_twice(program: Program) -> None:
    with pytest.raises(ProgramError, match="already paired"):
        program.db.transaction(lambda s: create_pair(
            s, program.settings, mentor="mentor@example.org", mentee="lea@example.net", now=NOW))


def test_roles_are_checked_when_pairing(program: Program) -> None:
    def pair_two_mentees(session: Session) -> None:
        add_participant(session, email="sam@example.net", name="Sam", role="mentee", now=NOW)
        create_pair(session, program.settings, mentor="lea@example.net", mentee="sam@example.net",
                    now=NOW)

    with pytest.raises(ProgramError, match="not a mentor"):
        program.db.transaction(pair_two_mentees)


def test_a_closed_pair_cannot_be_resumed(program: Program) -> None:
    program.db.transaction(lambda s: change_pair_state(s, program.pair.id, "close", now=NOW))
    with pytest.raises(ProgramError, match="closed"):
        program.db.transaction(lambda s: change_pair_state(s, program.pair.id, "resume", now=NOW))


def test_pair_search_respects_the_viewers_organizations(program: Program) -> None:
    def search(scope: tuple[int, ...] | None, text: str) -> list[int]:
        pairs, _total = program.db.transaction(
            lambda s: search_pairs(s, program.settings, scope, search=text), read_only=True)
        return [p.id for p in pairs]

    assert search(None, "léa") == [program.pair.id]
    assert search(None, "nobody") == []
    assert search((), "léa") == []  # a coordinator of no organization sees no pair
