"""Find street addresses in French and English ("1234 rue Sainte-Catherine", "42 Maple Street")."""

from __future__ import annotations

import re

from gateway.moderation.detectors import Finding, Taken
from gateway.moderation.detectors.vocabulary import words_of

_NUMBER = r"\d(?<![\w.,]\d)\d{0,4}(?:\s?(?:bis|ter|[a-dA-D]))?(?:\s*,)?\s+"
_FRENCH_TYPES = (r"rue|avenue|av\.|boulevard|boul\.|bd|chemin|ch\.|allee|impasse|rang|montee|"
                 r"quai|promenade|croissant|terrasse|ruelle|sentier|voie|cite")
_FRENCH_LINK = r"(?:de\s+la\s+|de\s+l'|du\s+|des\s+|de\s+|d'|la\s+|le\s+|l')?"
_FRENCH = re.compile(rf"{_NUMBER}(?:{_FRENCH_TYPES})\s+{_FRENCH_LINK}[^\W\d_][\w'-]+")
# "place", "route", "cote" are common words: only with a capitalized name after them.
_FRENCH_AMBIGUOUS = re.compile(
    rf"{_NUMBER}(?i:place|route|c[oô]te)\s+{_FRENCH_LINK}[A-ZÀ-Ý][\w'-]+")
_ENGLISH_TYPES = (r"street|st|avenue|ave|road|rd|boulevard|blvd|drive|dr|lane|ln|court|ct|"
                  r"crescent|cres|way|place|pl|terrace|circle|parkway|highway|hwy|square|sq")
_ENGLISH = re.compile(
    rf"{_NUMBER}(?:[A-Z][\w'.-]*\s+){{1,3}}(?i:{_ENGLISH_TYPES})\b\.?")


def _type_words(types: str) -> frozenset[str]:
    return frozenset(name.rstrip("\\.").replace("[oô]", "o") for name in types.split("|"))


# A street type is a whole word: without one of a pattern's types, that pattern cannot match.
_SEARCHES = (
    (_FRENCH, True, _type_words(_FRENCH_TYPES)),
    (_FRENCH_AMBIGUOUS, False, _type_words("place|route|c[oô]te")),
    (_ENGLISH, False, _type_words(_ENGLISH_TYPES)),
)
# Under IGNORECASE these also match ASCII letters of the types (s, k, i) but fold does not map
# them: with one of them in the text, the word test would not be safe.
_CASE_ODDITIES = ("\u017f", "\u212a", "\u0131", "\u0130")


# A public place's address ("le cégep est au 255, rue Ontario", "Dawson College, 3040 Sherbrooke")
# is not a participant's: an institution named just before, and no "I live" there, is no hit.
_INSTITUTION = re.compile(
    r"\b(?:cegep|college|ecole|school|universite|university|campus|bibliotheque|library|musee|"
    r"museum|centre|center|palais|clsc|hopital|hospital|clinique|clinic|spca|bureau|office|"
    r"salon|foire|fair|competition|concours|portes ouvertes|open house|pavillon|institut|"
    r"institute|stade|stadium|arena|theatre|theater|cinema|organisme|organization|"
    r"benevolat|volunteer|polyvalente|academie|academy|fondation|foundation|mairie|city hall|"
    r"hotel de ville|gare|station|eglise|church|piscine|pool|maison des jeunes|"
    r"uqam|ets|mcgill|concordia|dawson|vanier|marianopolis|ahuntsic|maisonneuve|montpetit|"
    r"adresse du|address of)\b")
_HOME = re.compile(r"\b(?:j'habite|je reste|je demeure|j'suis|je suis|chez moi|chez nous|"
                   r"ma maison|mon appart\w*|mon adresse|i live|i'm at|i am at|my place|"
                   r"my house|my home|my address|my apartment|come to|viens|vient)\b")
_BEFORE_ADDRESS = 80


def _public_place(folded: str, start: int) -> bool:
    before = folded[max(0, start - _BEFORE_ADDRESS):start]
    return bool(_INSTITUTION.search(before)) and not _HOME.search(before)


def find_street_addresses(field: str, text: str, folded: str,
                          words: frozenset[str] | None = None) -> list[Finding]:
    """Street addresses; `folded` serves the case-insensitive French forms, `text` the English.

    `words` is `words_of(folded)` when the caller already has it."""
    if words is None:
        words = words_of(folded)
    trust_words = text.isascii() or not any(odd in text for odd in _CASE_ODDITIES)
    spans: list[tuple[int, int]] = []
    for pattern, on_folded, types in _SEARCHES:
        if trust_words and words.isdisjoint(types):
            continue
        spans += [m.span() for m in pattern.finditer(folded if on_folded else text)]
    kept: list[tuple[int, int]] = []
    taken = Taken()
    for start, end in sorted(spans):
        if _public_place(folded, start):
            continue
        if not taken.overlaps(start, end):
            kept.append((start, end))
            taken.add(start, end)
    return [Finding(field, start, end, text[start:end]) for start, end in kept]
