"""Find phone numbers (North American, French, international), also spelled out or split up."""

from __future__ import annotations

import bisect
import functools
import itertools
import re
from typing import NamedTuple

import phonenumbers

from gateway.moderation.detectors import Finding
from gateway.moderation.detectors.lookalikes import mask
from gateway.moderation.detectors.number_runs import stretches
from gateway.moderation.detectors.vocabulary import letter_words, words_of

SPOKEN_DIGITS = {
    "zero": "0", "un": "1", "une": "1", "deux": "2", "trois": "3", "quatre": "4", "cinq": "5",
    "six": "6", "sept": "7", "huit": "8", "neuf": "9",
    "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "seven": "7",
    "eight": "8", "nine": "9",
}
_WORDS = "|".join(sorted(SPOKEN_DIGITS, key=len, reverse=True))
# A digit group (the letter o may stand for a zero inside it) or a spelled-out digit.
_TOKEN = re.compile(rf"(?<![^\W\d_])(?:[0-9o]*[0-9][0-9o]*|{_WORDS})(?![^\W\d_])")
# What may sit between two pieces of one number: spaces, one line break, . - ( ) / , _
_GAP = re.compile(r"[ \t.\-_()/,]{0,4}(?:\r?\n[ \t>]*)?[ \t.\-_()/,]{0,4}")
# A whole run of pieces in one regex pass, so ordinary text costs no Python per word.
_RUN = re.compile(rf"{_TOKEN.pattern}(?:{_GAP.pattern}{_TOKEN.pattern})*")
_MAX_DIGITS = 15
_CONTEXT = 24  # characters around a run that decide whether it is a date, a price…
# Toll-free numbers belong to organizations (help lines such as Tel-jeunes, companies), never to
# a participant: sharing one is not sharing contact details.
_TOLL_FREE = ("800", "833", "844", "855", "866", "877", "888")
# Public help lines named just before a number ("Tel-jeunes ... par texto au 514 600-1002").
_HELP_LINE = re.compile(
    r"tel-?\s?jeunes|jeunesse,? j'ecoute|kids help phone|info-?sante|info-?social|suicide|"
    r"ligne d'ecoute|ligne d'aide|help ?line|crisis line|ligne de crise|sos violence|interligne|"
    r"drogue:? aide|jeu: aide|allo prof|alloprof|centre antipoison|poison control")
_HELP_LINE_BEFORE = 80
_ISBN = re.compile(r"isbn(?:-1[03])?\W{0,3}$")

class _Piece(NamedTuple):
    start: int
    end: int
    digits: str
    plus: bool  # a "+" (international prefix) comes right before this piece
    spoken: bool  # a spelled-out digit ("cinq", "five")


def _mask(folded: str) -> str:
    """Dates, times, school years, versions and prices blanked out before the search."""
    return mask(folded)


def _pieces(masked: str, offset: int = 0) -> list[list[_Piece]]:
    """Runs of consecutive number pieces separated only by small gaps; `masked` is a window of
    the text that starts at `offset` (nothing before it counts, as if it were blanked)."""
    runs: list[list[_Piece]] = []
    previous_end = -1
    for match in _TOKEN.finditer(masked):
        word = match.group()
        digits = SPOKEN_DIGITS.get(word) or word.replace("o", "0")
        before = masked[max(0, match.start() - 2):match.start()]
        piece = _Piece(offset + match.start(), offset + match.end(), digits, "+" in before,
                       word in SPOKEN_DIGITS)
        gap = masked[previous_end:match.start()] if previous_end >= 0 else None
        if gap is not None and "+" not in gap and _GAP.fullmatch(gap):
            runs[-1].append(piece)
        else:
            runs.append([piece])
        previous_end = match.end()
    return runs


def _is_phone(digits: str, plus: bool) -> bool:
    if plus or digits.startswith("00"):
        national = digits[2:] if not plus else digits
        if not 8 <= len(national) <= _MAX_DIGITS:
            return False
        return _possible_international(national)
    if len(digits) == 11 and digits[0] == "1":
        digits = digits[1:]
    if len(digits) != 10:
        return False
    north_american = (digits[0] in "23456789" and digits[3] in "23456789"
                      and digits[:3] not in _TOLL_FREE)
    french = digits[0] == "0" and digits[1] in "123456789"
    return north_american or french


@functools.lru_cache(maxsize=4096)
def _possible_international(number: str) -> bool:
    """`number` after the "+" (or "00") is a possible phone number. A run is tried from each of
    its digits and at each length (a line of "0"s asked phonenumbers about 80,000 times for
    20 KB: 48 µs a character), so the answers are kept, and no country code starts with 0."""
    if number.startswith("0"):
        return False
    try:
        return phonenumbers.is_possible_number(phonenumbers.parse("+" + number))
    except phonenumbers.NumberParseException:
        return False


def _longest_phone_from(run: list[_Piece], first: int, ends: list[int],
                        joined: str) -> int | None:
    """The last piece of the longest phone number starting at `first` (`joined`: the run's
    digits, `ends[i]` the length of run[:i + 1]'s, so that a national number, 10 or 11 digits,
    is found without walking: a run of single digits walked every length from every digit)."""
    plus = run[first].plus
    before = ends[first - 1] if first else 0
    if not plus and not joined.startswith("00", before):
        for size in (11, 10):
            last = bisect.bisect_right(ends, before + size, first) - 1
            if last >= first and ends[last] == before + size and _is_phone(
                    joined[before:before + size], plus):
                return last
        return None
    national = before if plus else before + 2  # after the "+" or the "00"
    if national >= len(joined) or joined.startswith("0", national):
        return None  # no country code starts with 0 (_possible_international)
    digits = ""
    found = None
    for last in range(first, len(run)):
        digits += run[last].digits
        if len(digits) > _MAX_DIGITS + 2:
            break
        if _is_phone(digits, plus):
            found = last
    return found


def _is_isbn(run: list[_Piece], folded: str) -> bool:
    """A book number: "ISBN" just before, or 13 digits starting 978/979."""
    digits = "".join(p.digits for p in run)
    return (bool(_ISBN.search(folded[max(0, run[0].start - 12):run[0].start]))
            or (len(digits) == 13 and digits[:3] in ("978", "979")))


def _phones_in_run(run: list[_Piece]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    joined = "".join(p.digits for p in run)
    ends = list(itertools.accumulate(len(p.digits) for p in run))
    first = 0
    while first < len(run):
        last = _longest_phone_from(run, first, ends, joined)
        if last is None:
            first += 1
            continue
        # "un 514 555 1234": leave a leading spelled-out article out of the evidence.
        if run[first].spoken and _is_phone("".join(p.digits for p in run[first + 1:last + 1]),
                                           run[first + 1].plus if first < last else False):
            first += 1
        spans.append((run[first].start, run[last].end))
        first = last + 1
    return spans


def _candidate_runs(folded: str, words: frozenset[str]) -> list[list[_Piece]]:
    """Runs long enough to hold a number, re-read with look-alikes blanked around them only."""
    runs: list[list[_Piece]] = []
    spoken = letter_words(words).intersection(SPOKEN_DIGITS)  # walks the 20 keys, not the words
    for stretch_start, stretch_end in stretches(folded, frozenset(spoken), _CONTEXT):
        for rough in _RUN.finditer(folded, stretch_start, stretch_end):
            if rough.end() - rough.start() < 8:  # eight digits need at least eight characters
                continue
            start = max(0, rough.start() - _CONTEXT)
            masked = _mask(folded[start:rough.end() + _CONTEXT])
            runs += [run for run in _pieces(masked, start)
                     if sum(len(p.digits) for p in run) >= 8]
    return runs


def find_phones(field: str, text: str, folded: str,
                words: frozenset[str] | None = None) -> list[Finding]:
    """Phone numbers in `text` (`folded` is its same-length folded copy, `words` its words_of)."""
    findings = []
    for run in _candidate_runs(folded, words_of(folded) if words is None else words):
        if _is_isbn(run, folded) or _HELP_LINE.search(
                folded, max(0, run[0].start - _HELP_LINE_BEFORE), run[0].start):
            continue
        for start, end in _phones_in_run(run):
            while start >= 1 and folded[start - 1] in "+(":
                start -= 1
            findings.append(Finding(field, start, end, text[start:end]))
    return findings
