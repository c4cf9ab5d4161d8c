"""The rules read at most a budget of characters of a message; the rest is reported unchecked.

Checking runs one message after another, and the rules cost up to a few µs a character: a
20 MB text read in full held everyone else's mail for minutes. What is not read must still
stop the message (the brief: what cannot be read is held), whatever hides behind the filler.
"""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest

from gateway.mail.canonical import MAX_CHECKED_CHARS, read
from gateway.mail.text import parse_bytes
from gateway.moderation.chain import evaluate
from gateway.moderation.facts import facts_from_message
from gateway.moderation.rules import RuleSet, load_rules

SHIPPED = Path(__file__).resolve().parents[3] / "relay_rules"
FILLER = "Le stage à l'hôpital m'a appris beaucoup de choses sur le métier. "
CONTACT = "Écris-moi à lea.tremblay2009@gmail.com ou au 514 555 0199."


@pytest.fixture(scope="module")
def shipped() -> RuleSet:
    return load_rules(SHIPPED)


def _mail(*bodies: tuple[str, str], subject: str = "Mon stage") -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "a@example.org", "b@example.org", subject
    first, *rest = bodies
    msg.set_content(first[1], subtype=first[0])
    for subtype, body in rest:
        msg.add_attachment(body, subtype=subtype, filename=f"notes.{subtype[:4]}")
    return msg.as_bytes()


def _filler(chars: int) -> str:
    return (FILLER * (chars // len(FILLER) + 1))[:chars]


def _unchecked(raw: bytes, budget: int | None = MAX_CHECKED_CHARS) -> list[str]:
    return [u.where for u in read(parse_bytes(raw), budget).unreadable if u.kind == "unchecked"]


def test_a_text_within_the_budget_is_read_whole() -> None:
    raw = _mail(("plain", _filler(MAX_CHECKED_CHARS - 2_000) + CONTACT))
    reading = read(parse_bytes(raw))
    assert _unchecked(raw) == []
    assert "lea.tremblay2009@gmail.com" in reading.shown("body")


def test_a_text_past_the_budget_is_cut_and_reported_with_its_part() -> None:
    raw = _mail(("plain", _filler(MAX_CHECKED_CHARS + 50_000) + CONTACT))
    reading = read(parse_bytes(raw))
    assert sum(len(seen.text) for seen in reading.texts) <= MAX_CHECKED_CHARS
    [unchecked] = [u for u in reading.unreadable if u.kind == "unchecked"]
    assert unchecked.where == "part 1" and "200,000" in unchecked.why
    assert "gmail" not in reading.shown("body")


def test_the_budget_is_shared_by_every_part_of_the_message() -> None:
    half = MAX_CHECKED_CHARS * 6 // 10
    raw = _mail(("plain", _filler(half)), ("plain", _filler(half)), ("html", "<p>hi</p>"))
    # once it is spent, even a file name is not read (the rules still see the file itself)
    assert _unchecked(raw) == ["part 2", "part 3 file name", "part 3"]
    assert _unchecked(raw, budget=None) == []


def test_invisible_padding_does_not_hide_what_comes_after_it() -> None:
    # Zero-width characters show nothing, but reading them is work: they count too.
    raw = _mail(("plain", "Bonjour !\n" + "\u200b" * (3 * MAX_CHECKED_CHARS) + CONTACT))
    assert _unchecked(raw) == ["part 1"]


def test_html_markup_is_read_up_to_a_multiple_of_the_budget() -> None:
    markup = '<div style="margin:0"><span>a</span></div>' * (6 * MAX_CHECKED_CHARS // 40)
    raw = _mail(("html", markup + f"<p>{CONTACT}</p>"))
    reading = read(parse_bytes(raw))
    assert _unchecked(raw) == ["part 1"]
    assert "gmail" not in reading.shown("body") and "gmail" not in reading.html


def test_a_long_subject_spends_the_budget_too() -> None:
    raw = _mail(("plain", CONTACT * 300), subject="a " * (MAX_CHECKED_CHARS // 2 - 5_000))
    assert _unchecked(raw) == ["part 1"]


@pytest.mark.parametrize("minor", [True, False], ids=["minor", "adults"])
def test_contact_details_behind_a_hundred_pages_of_filler_are_held(
        shipped: RuleSet, minor: bool) -> None:
    raw = _mail(("plain", _filler(MAX_CHECKED_CHARS + 1_000) + CONTACT))
    decision = evaluate(shipped, facts_from_message(raw, direction="mentor_to_mentee",
                                                    recipient_is_minor=minor))
    assert decision.verdict == "hold"
    assert [h.rule for h in decision.hits] == ["unchecked_text"]
    assert "part 1" in decision.hits[0].evidence


def test_within_the_budget_the_rules_still_find_what_is_at_the_end(shipped: RuleSet) -> None:
    raw = _mail(("plain", _filler(MAX_CHECKED_CHARS - 1_000) + CONTACT))
    decision = evaluate(shipped, facts_from_message(raw, direction="mentor_to_mentee"))
    assert decision.verdict == "hold"
    assert "contact_details" in {h.rule for h in decision.hits}
    assert "unchecked_text" not in {h.rule for h in decision.hits}
