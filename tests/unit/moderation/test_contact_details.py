"""The shipped contact-details rule: phones, emails, handles, street addresses, FR and EN."""

from __future__ import annotations

import pytest

from gateway.moderation.detectors import emails
from gateway.moderation.rules import RuleSet
from tests.unit.moderation.conftest import ALIASES, decide, hits_of

PHONES = [
    ("Appelle-moi au cinq un quatre, 555 12 34 ce soir", "cinq un quatre, 555 12 34"),
    ("my number is 5 1 4 5 5 5 1 2 3 4 ok", "5 1 4 5 5 5 1 2 3 4"),
    ("texte-moi: 514.555.1234", "514.555.1234"),
    ("call (514) 555-1234 tonight", "(514) 555-1234"),
    ("mon portable +33 6 12 34 56 78 voilà", "+33 6 12 34 56 78"),
    ("mon portable 06 12 34 56 78 voilà", "06 12 34 56 78"),
    ("call me at +1 514 555 1234", "+1 514 555 1234"),
    ("mon numéro c'est 514 555\n1234 bisous", "514 555\n1234"),
    ("five one four five five five one two three four", "five one four five five five one two three four"),
    ("appelle le 514-555-12O4", "514-555-12O4"),
    ("06.12.34.56.78", "06.12.34.56.78"),
]

NOT_PHONES = [
    "On se parle le 2025-11-03 à 10:30.",
    "Rendez-vous virtuel le 03/11/2025 à 14 h 30.",
    "Le livre coûte 19,99 $ et l'ordi $1,299.00.",
    "Mon école est à H2X 1Y4, la sienne à 75011.",
    "L'année scolaire 2024-2025 commence bientôt.",
    "Installe Python 3.11.7 pour le cours.",
    "Je suis né en 2009, ma sœur en 2012.",
    "Meeting on 2025-11-03, 10 h 30 to 14 h 30.",
    "I have one or two questions, five at most.",
]


@pytest.mark.parametrize(("text", "evidence"), PHONES)
def test_phone_numbers_are_held_with_their_exact_evidence(shipped: RuleSet, text: str,
                                                         evidence: str) -> None:
    decision = decide(shipped, text)
    assert decision.verdict == "hold"
    assert evidence in [h.evidence for h in decision.hits if h.rule == "contact_details"]


@pytest.mark.parametrize("text", NOT_PHONES)
def test_dates_times_prices_codes_years_and_versions_are_not_contact_details(
        shipped: RuleSet, text: str) -> None:
    assert hits_of(shipped, "contact_details", text) == []
    assert decide(shipped, text).verdict == "pass"


@pytest.mark.parametrize(("text", "evidence"), [
    ("écris-moi: jo arobase gmail point com", "jo arobase gmail point com"),
    ("jo (at) gmail (dot) com", "jo (at) gmail (dot) com"),
    ("mail me: jo at gmail dot com", "jo at gmail dot com"),
    ("voici mon courriel Jo.B@Gmail.com", "Jo.B@Gmail.com"),
    ("jo.smith [at] yahoo [dot] fr", "jo.smith [at] yahoo [dot] fr"),
])
def test_email_addresses_even_disguised_are_held(shipped: RuleSet, text: str,
                                                 evidence: str) -> None:
    assert evidence in hits_of(shipped, "contact_details", text)


@pytest.mark.parametrize("text", [
    f"Réponds-moi à {ALIASES[0]} quand tu veux.",
    f"> {ALIASES[1]} a écrit :",
    "Let's meet at school dot point later, look at this point.",
])
def test_the_pairs_own_aliases_and_plain_at_words_are_not_contact_details(
        shipped: RuleSet, text: str) -> None:
    assert hits_of(shipped, "contact_details", text) == []


def test_an_address_after_many_at_words_is_still_found(shipped: RuleSet) -> None:
    """A long letter says "at home." often; the address after them is read all the same."""
    text = "I was at home. " * 300 + "write to jo at gmail dot com please"
    assert "jo at gmail dot com" in hits_of(shipped, "contact_details", text)


@pytest.mark.parametrize("filler", ["at. ", "jo at x. ", "(a) b. "])
def test_more_at_forms_than_can_be_read_hold_the_message(shipped: RuleSet, filler: str) -> None:
    """Each "at" form followed by a word and a dot costs the full address pattern: past
    MAX_AT_FORMS the text is not read on (a megabyte of them took half a minute of a checking
    worker, every message behind it waiting) and the message is held for a moderator."""
    text = filler * (emails.MAX_AT_FORMS + 50)
    decision = decide(shipped, text)
    assert decision.verdict == "hold"
    evidence = [h.evidence for h in decision.hits if h.rule == "contact_details"]
    assert evidence and all(len(e) < 200 for e in evidence)  # a window, not the whole text
    # the hold is the budget's: the same filler read through in full holds no address
    assert hits_of(shipped, "contact_details", filler * (emails.MAX_AT_FORMS - 50)) == []


@pytest.mark.parametrize(("text", "evidence"), [
    ("ajoute-moi sur insta!", "ajoute-moi sur insta"),
    ("add me on Snapchat", "add me on Snapchat"),
    ("mon snap c'est jo.b12", "mon snap c'est jo.b12"),
    ("discord: jojo#1234", "discord: jojo#1234"),
    ("follow @jo_123 !", "@jo_123"),
    ("on se parle sur WhatsApp?", "on se parle sur WhatsApp"),
])
def test_social_handles_and_invitations_are_held(shipped: RuleSet, text: str,
                                                 evidence: str) -> None:
    assert evidence in hits_of(shipped, "contact_details", text)


@pytest.mark.parametrize("text", [
    "J'aime bien Instagram et TikTok, et toi?",
    "I saw a video on YouTube about volcanoes.",
])
def test_naming_an_app_is_not_a_handle(shipped: RuleSet, text: str) -> None:
    assert hits_of(shipped, "contact_details", text) == []


@pytest.mark.parametrize(("text", "evidence"), [
    ("j'habite au 1234 rue Sainte-Catherine", "1234 rue Sainte-Catherine"),
    ("I live at 42 Maple Street now", "42 Maple Street"),
    ("c'est au 12, avenue des Pins", "12, avenue des Pins"),
    ("221B Baker Street", "221B Baker Street"),
    ("2 Place Ville-Marie", "2 Place Ville-Marie"),
])
def test_street_addresses_are_held(shipped: RuleSet, text: str, evidence: str) -> None:
    assert evidence in hits_of(shipped, "contact_details", text)


@pytest.mark.parametrize("text", [
    "Il reste 1 place de libre au cours.", "J'ai 5 cours de maths.", "I have 3 dogs.",
])
def test_numbers_before_ordinary_words_are_not_addresses(shipped: RuleSet, text: str) -> None:
    assert hits_of(shipped, "contact_details", text) == []


def test_evidence_offsets_point_into_the_field(shipped: RuleSet) -> None:
    text = "Salut!\nMon numéro: (514) 555-1234."
    decision = decide(shipped, text, subject="appelle 06 12 34 56 78")
    hits = {h.field: h for h in decision.hits if h.rule == "contact_details"}
    body = hits["text"]
    assert text[body.start:body.end] == body.evidence == "(514) 555-1234"
    subject = hits["subject"]
    assert "appelle 06 12 34 56 78"[subject.start:subject.end] == "06 12 34 56 78"
