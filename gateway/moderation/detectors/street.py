"""Find street addresses in French and English ("1234 rue Sainte-Catherine", "42 Maple Street")."""

from __future__ import annotations

import re

from gateway.moderation.detectors import Finding

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


def find_street_addresses(field: str, text: str, folded: str) -> list[Finding]:
    """Street addresses; `folded` serves the case-insensitive French forms, `text` the English."""
    spans = [m.span() for m in _FRENCH.finditer(folded)]
    spans += [m.span() for m in _FRENCH_AMBIGUOUS.finditer(text)]
    spans += [m.span() for m in _ENGLISH.finditer(text)]
    kept: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if not any(s < end and start < e for s, e in kept):
            kept.append((start, end))
    return [Finding(field, start, end, text[start:end]) for start, end in kept]
