"""The cheap tests that let long messages skip most regex work never hide a hit.

Each detector first asks "can anything match here?" (words present, chains of eight number
pieces, a ".tld" of a listed domain…) and reads only where the answer is yes. These tests put
each kind of evidence at the far end of a long, clean, digit-heavy text, next to the dates,
times, prices and school years that are skipped, and check the very same evidence comes out.
"""

from __future__ import annotations

import re
import time

import pytest

from gateway.moderation.detectors.fold import fold
from gateway.moderation.detectors.lookalikes import mask
from gateway.moderation.rules import RuleSet
from tests.unit.moderation.conftest import decide, hits_of

PROSE = (
    "Bonjour Léa! J'ai bien reçu ton exposé sur les volcans, il est vraiment réussi. "
    "Relis la partie sur le magma le 2025-11-03 à 14 h 30. Le livre coûte 19,99 $ à la "
    "librairie de l'école (H2X 1Y4), édition 2024-2025.\n"
    "Hi Sam, great job on the science fair poster! The kit costs $1,299.00 at the store; "
    "version 3.11.7 of the app works. We can talk again on Tuesday at 10:30 about the "
    "school year 2024-2025 and the 03/11/2025 deadline.\n"
)
LONG = PROSE * 120  # about 50 KB

EVIDENCE = [
    ("contact_details", "Appelle-moi au cinq un quatre, 555 12 34 ce soir", "cinq un quatre, 555 12 34"),
    ("contact_details", "call (514) 555-1234 tonight", "(514) 555-1234"),
    ("contact_details", "mon numéro c'est 514 555\n> 1234 bisous", "514 555\n> 1234"),
    ("contact_details", "le 2025-11-03, appelle le 514 555 1234", "514 555 1234"),
    ("contact_details", "appelle le 514-555-12O4", "514-555-12O4"),
    ("contact_details", "five one four five five five one two three four",
     "five one four five five five one two three four"),
    ("contact_details", "mon portable +33 6 12 34 56 78 voilà", "+33 6 12 34 56 78"),
    ("contact_details", "écris à jo arobase gmail point com", "jo arobase gmail point com"),
    ("contact_details", "write to jo (at) gmail (dot) com", "jo (at) gmail (dot) com"),
    ("contact_details", "ajoute-moi sur insta", "ajoute-moi sur insta"),
    ("contact_details", "my snap: jo.b", "my snap: jo.b"),
    ("contact_details", "j'habite au 1234 rue Sainte-Catherine", "1234 rue Sainte-Catherine"),
    ("contact_details", "I live at 42 Maple Street", "42 Maple Street"),
    # "ſ" (long s) is shown as "s" (the rules read the NFKC form a client draws): never skipped.
    ("contact_details", "I live at 42 Maple ſtreet", "42 Maple street"),
    ("safety_secrecy", "ne le dis pas à tes parents", "ne le dis pas à tes parents"),
    ("safety_secrecy", "cest notre secret", "notre secret"),
    ("safety_secrecy", "NE LE DIS PAS À TES PARENTS", "NE LE DIS PAS À TES PARENTS"),
    ("safety_meeting", "je peux passer te chercher", "passer te chercher"),
    ("profanity", "ferme ta gueule", "ferme ta gueule"),
    ("safety_contact", "regarde https://maps.app.goo.gl/Qw12Er34", "https://maps.app.goo.gl/Qw12Er34"),
    ("safety_contact", "écris à oli sur hotmail", "sur hotmail"),
    ("safety_channel", "ajoute OliG#0418 ce soir", "OliG#0418"),
    ("safety_personal", "t'as 13 ou 14?", "t'as 13 ou 14"),
    ("profanity", "what the fucking hell", "fucking"),
    ("social_links", "see instagram.com/jo", "instagram.com/jo"),
]


def test_the_long_prose_alone_is_clean(shipped: RuleSet) -> None:
    assert decide(shipped, LONG).hits == ()


@pytest.mark.parametrize(("rule", "snippet", "evidence"), EVIDENCE)
def test_evidence_at_the_end_of_a_long_text_is_found_as_in_a_short_one(
        shipped: RuleSet, rule: str, snippet: str, evidence: str) -> None:
    alone = hits_of(shipped, rule, snippet)
    assert evidence in alone
    assert hits_of(shipped, rule, f"{LONG}Bonjour.\n{snippet}\nMerci.\n") == alone


@pytest.mark.parametrize(("rule", "snippet", "evidence"), EVIDENCE[:7])
def test_a_number_right_after_a_skipped_date_is_found(
        shipped: RuleSet, rule: str, snippet: str, evidence: str) -> None:
    assert evidence in hits_of(shipped, rule, f"{LONG}le 2025-11-03 {snippet}")


@pytest.mark.parametrize(("text", "folded"), [
    # Few distinct accented characters: one replacement each.
    ("Élève à l’école — Ne le dis PAS", "eleve a l'ecole - ne le dis pas"),
    # More distinct ones than that: one regex pass; same result.
    ("àâäçéèêëîïôöùûüÿœ ÀÂÄÇÉÈÊËÎÏÔÖÙÛÜŸ ’–\u00a0x",
     "aaaceeeeiioouuuyœ aaaceeeeiioouuuy '- x"),
])
def test_folding_keeps_every_offset(text: str, folded: str) -> None:
    assert fold(text * 40) == folded * 40


# The look-alike blanking as one alternation, the way re.sub reads it (quadratic on long runs).
REFERENCE_LOOKALIKES = re.compile(
    r"""
    \b\d{4}-\d{1,2}-\d{1,2}\b
    | (?<![\d./])\d{1,2}[/.]\d{1,2}[/.](?:\d{4}|\d{2})\b(?![./]\d)
    | \b\d{1,2}\s?(?::|h)\s?\d{2}\b
    | \b(?:19|20)\d\d\s?[-/]\s?(?:19|20)?\d\d\b
    | (?<![\d.])v?\d{1,2}\.\d{1,2}\.\d{1,3}(?![\d.])
    | [$€£]\s?\d[\d\s,.']*
    | \d[\d\s,.']*\s?(?:[$€£]|euros?\b|dollars?\b|cad\b|usd\b)
    """,
    re.VERBOSE,
)


@pytest.mark.parametrize("text", [
    "le livre coûte 19,99 $ et 1 299 euros, pas 1 299 eurosx; le 2025-11-03 à 14 h 30",
    "2024-2025 5 $ 3.11.7 $1,299.00 12 dollars 7 cad 8 usd 9 usdx 10:30 03/11/2025",
    "appelle le 514 555 1234 puis paie 20 euros, 514 555 1234 20 $ et 1 2 3 £",
    "",
])
def test_look_alike_blanking_is_the_single_alternation(text: str) -> None:
    expected = REFERENCE_LOOKALIKES.sub(lambda m: "#" * len(m.group()), text)
    assert mask(text) == expected


def test_a_long_run_of_numbers_is_judged_quickly(shipped: RuleSet) -> None:
    # 50 KB of "1 1 1 …": the price form used to re-read the run from every digit (17 s).
    started = time.thread_time()
    decision = decide(shipped, "1 " * 25_000 + "et 20 $ \n")
    assert decision.verdict == "pass"
    assert time.thread_time() - started < 2.0
