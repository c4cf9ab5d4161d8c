"""Reading a mentee's reply to the three offers: a clear 1/2/3, or nothing changes."""

from __future__ import annotations

import pytest

from gateway.matching.choose import parse_choice

QUOTED = "\n\nLe lun. 30 nov. 2026, Mentor Gateway a écrit :\n> 1. Julie, Nursing\n> 2. Marc\n> 3. Li"


@pytest.mark.parametrize(("reply", "choice"), [
    ("2", 2), ("#3", 3), ("  1.  ", 1), ("Le 2 svp", 2), ("je choisis le numéro 3", 3),
    ("Deux!", 2), ("the second one please", 2), ("Premier", 1), ("3" + QUOTED, 3),
    ("Option 1\n\n-- \nJulie\n2", 1), ("un", 1), ("the first one", 1), ("1\r\n\r\nOn Mon, Nov 30, 2026 Program wrote:\n> 2. Marc", 1),
])
def test_clear_choices(reply: str, choice: int) -> None:
    assert parse_choice(reply, offered=3) == choice


@pytest.mark.parametrize("reply", [
    "", "je ne sais pas", "1 ou 2", "2, no wait, 3", "4", "0", "2 offered" "10",
    "Can I have someone in law instead?", QUOTED, "12", "une autre personne",
])
def test_unclear_replies_change_nothing(reply: str) -> None:
    assert parse_choice(reply, offered=3) is None


def test_a_choice_beyond_what_was_offered_is_unclear() -> None:
    assert parse_choice("3", offered=2) is None
    assert parse_choice("2", offered=2) == 2
