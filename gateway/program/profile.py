"""Pure profile rules: folding text, interests, role words, dates of birth, age and consent age."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import date
from functools import lru_cache

ROLE_WORDS: dict[str, str] = {
    # Folded (lower-case, no accents) spellings a school spreadsheet uses for each role.
    "mentor": "mentor", "mentore": "mentor", "mentors": "mentor", "mentores": "mentor",
    "mentor/mentore": "mentor", "benevole": "mentor", "volunteer": "mentor",
    "mentee": "mentee", "mentees": "mentee", "mentoree": "mentee",
    "mentorees": "mentee", "mentore/mentoree": "mentee", "jeune": "mentee", "jeunes": "mentee",
    "eleve": "mentee", "eleves": "mentee", "etudiant": "mentee", "etudiante": "mentee",
    "etudiant(e)": "mentee", "youth": "mentee", "student": "mentee", "protege": "mentee",
    "protegee": "mentee",
}
LANG_WORDS: dict[str, str] = {
    "fr": "fr", "francais": "fr", "french": "fr", "fr-ca": "fr", "fra": "fr",
    "en": "en", "anglais": "en", "english": "en", "en-ca": "en", "eng": "en",
}
INTEREST_SPLIT = re.compile(r"[;,|\n]+")
MAX_INTEREST = 100
ADULT_AGE = 18


@lru_cache(maxsize=8192)  # a spreadsheet repeats its schools, roles and fields thousands of times
def fold(text: str) -> str:
    """Lower-case, accents removed, inner spaces collapsed: 'Génie  Civil ' -> 'genie civil'."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.lower().split())


def normalize_interests(values: Iterable[str]) -> list[str]:
    """Each interest folded, empty ones dropped, duplicates removed (first order kept)."""
    seen: dict[str, None] = {}
    for value in values:
        for piece in INTEREST_SPLIT.split(value):
            folded = fold(piece).strip(" .-/")[:MAX_INTEREST]
            if folded:
                seen.setdefault(folded, None)
    return list(seen)


# Folding would turn the mentee "mentoré(e)" into the (female) mentor "mentore": accents first.
ACCENTED_ROLES = {"mentoré": "mentee", "mentorée": "mentee", "mentorés": "mentee",
                  "mentorées": "mentee", "mentoré(e)": "mentee", "mentoré.e": "mentee"}


def role_of(word: str) -> str | None:
    """'Mentorée' -> 'mentee', 'Mentore' -> 'mentor'; None when the word names no role we know."""
    lowered = unicodedata.normalize("NFC", word).strip().lower().replace(" ", "")
    if lowered in ACCENTED_ROLES:
        return ACCENTED_ROLES[lowered]
    return ROLE_WORDS.get(fold(word).replace(" ", ""))


def lang_of(word: str) -> str | None:
    return LANG_WORDS.get(fold(word))


_DATE_PATTERNS = (
    (re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$"), ("y", "m", "d")),
    (re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$"), ("d", "m", "y")),
)


class BadDate(ValueError):
    """A birth date nobody could read unambiguously."""


def parse_birth(text: str, today: date) -> tuple[date | None, int]:
    """(full date or None, year) from '2010-03-14', '14/03/2010', '2010/03/14' or '2010'.

    Day-first like Québec writes it; month-first only when the day-first reading is impossible
    (03/14/2010). Refuses future dates and ages over 120."""
    value = text.strip()
    if re.fullmatch(r"\d{4}", value):
        year = int(value)
        _check_year(year, today)
        return None, year
    for pattern, order in _DATE_PATTERNS:
        match = pattern.match(value)
        if match is None:
            continue
        parts = dict(zip(order, (int(g) for g in match.groups()), strict=True))
        day, month = parts["d"], parts["m"]
        if month > 12 and day <= 12 and order[0] == "d":
            day, month = month, day
        try:
            born = date(parts["y"], month, day)
        except ValueError as exc:
            raise BadDate(str(exc)) from exc
        _check_year(born.year, today)
        if born > today:
            raise BadDate("in the future")
        return born, born.year
    raise BadDate("not a date")


def _check_year(year: int, today: date) -> None:
    if year > today.year or year < today.year - 120:
        raise BadDate("year out of range")


def age_on(today: date, birth_date: date | None, birth_year: int | None) -> int | None:
    """Whole years; with only a year, the youngest the person can be (born Dec 31)."""
    if birth_date is None and birth_year is None:
        return None
    born = birth_date or date(birth_year or today.year, 12, 31)
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def needs_consent(today: date, birth_date: date | None, birth_year: int | None,
                  consent_age: int) -> bool:
    age = age_on(today, birth_date, birth_year)
    return age is not None and age < consent_age


def is_minor(today: date, birth_date: date | None, birth_year: int | None, flag: bool) -> bool:
    """The birth date decides when there is one; otherwise the --minor flag."""
    age = age_on(today, birth_date, birth_year)
    return flag if age is None else age < ADULT_AGE


def first_name_of(first_name: str | None, display_name: str) -> str:
    """What a partner may see of a name: the first name, never the surname."""
    if first_name and first_name.strip():
        return first_name.strip()
    parts = display_name.split()
    return parts[0] if parts else display_name
