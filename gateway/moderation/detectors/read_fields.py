"""The message's fields as rules read them: folded text plus a normalized reading of each."""

from __future__ import annotations

import bisect
import operator
import re
from collections.abc import Iterable

from ahocorasick_rs import BytesAhoCorasick, Implementation

from gateway.moderation.detectors.fields import FieldTexts
from gateway.moderation.detectors.reading import Reading, read
from gateway.moderation.detectors.vocabulary import words_of
from gateway.moderation.facts import MessageFacts

_FIRST = operator.itemgetter(0)
_LOOKED_UP = re.compile(r"[a-z0-9_']*")  # a needle looked up as word beginnings, not searched


def scanned(needle: str) -> bool:
    """Whether `needle` must be searched in the text (it has a non-word character)."""
    return not _LOOKED_UP.fullmatch(needle)


class NeedleScan:
    """Needles of a rule set, all found in one pass over a text (Aho-Corasick) instead of one
    `in` per needle: most needles are absent, and each absent one costs a scan of the text.
    One character needles stay with `in` (memchr is faster, and digits would flood the pass).
    Likewise `pieces`, the word beginnings the rules look up ("parent" of "parent*"), are all
    found in one pass over the text's sorted words instead of one bisection each."""

    def __init__(self, needles: Iterable[str], pieces: Iterable[str] = ()) -> None:
        self.needles = tuple(sorted({n for n in needles if len(n) > 1}))
        # Over UTF-8 bytes, as a DFA: no offsets to convert back to characters (a needle's
        # bytes occur exactly where the needle does: UTF-8 never matches mid-character).
        self._automaton = _automaton(self.needles)
        self.known = frozenset(self.needles)
        self.pieces = tuple(sorted(set(pieces)))
        # "\0piece" found in "\0word\0word…": the piece begins a word (words hold no "\0")
        self._starts = _automaton(["\0" + piece for piece in self.pieces])
        self.known_pieces = frozenset(self.pieces)
        self._covered: dict[frozenset[str], bool] = {}
        self._held: dict[frozenset[str], bool] = {}

    def covers(self, pieces: frozenset[str]) -> bool:
        """Whether all of `pieces` are the scan's (remembered: the rules ask for the same sets
        for every message)."""
        covered = self._covered.get(pieces)
        if covered is None:
            covered = self._covered[pieces] = pieces <= self.known_pieces
        return covered

    def holds(self, needles: frozenset[str]) -> bool:
        """Whether all of `needles` are searched by the scan (remembered, as covers)."""
        held = self._held.get(needles)
        if held is None:
            held = self._held[needles] = needles <= self.known
        return held

    def present(self, text: str) -> frozenset[str]:
        """Which of the needles occur in `text`."""
        if self._automaton is None:
            return frozenset()
        return _named(self.needles, self._automaton.find_matches_as_indexes(
            _utf8(text), overlapping=True))

    def starts(self, words: Iterable[str]) -> frozenset[str]:
        """Which of the pieces begin one of `words`."""
        if self._starts is None:
            return frozenset()
        joined = _utf8("\0" + "\0".join(words))  # no "\0" for no words: pieces are not empty
        return _named(self.pieces, self._starts.find_matches_as_indexes(joined, overlapping=True))


def _named(names: tuple[str, ...], matches: list[tuple[int, int, int]]) -> frozenset[str]:
    """The names of the automaton's matches (index, start, end), looked up in C (map): a
    text holds hundreds of them, and a generator cost ~60 ns each."""
    return frozenset(map(names.__getitem__, map(_FIRST, matches)))


def _automaton(needles: Iterable[str]) -> BytesAhoCorasick | None:
    encoded = [_utf8(n) for n in needles]
    return BytesAhoCorasick(encoded, implementation=Implementation.DFA) if encoded else None


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


class ReadFields(FieldTexts):
    """FieldTexts with, per field, the normalized `reading` and the words of that reading."""

    def __init__(self, facts: MessageFacts, scan: NeedleScan | None = None) -> None:
        super().__init__(facts)
        self._scan = scan
        self._present: dict[str, frozenset[str]] = {}
        self._readings: dict[str, Reading] = {}
        self._reading_words: dict[str, frozenset[str]] = {}
        self._contains: dict[tuple[str, str], bool] = {}
        self._starts: dict[str, frozenset[str]] = {}
        self._word_starts: dict[tuple[str, frozenset[str]], frozenset[str]] = {}
        self._found: dict[tuple[str, frozenset[str]], frozenset[str]] = {}
        self._sorted_words: dict[str, list[str]] = {}

    def reading(self, field: str) -> Reading:
        if field not in self._readings:
            self._readings[field] = read(self.folded(field), self.words(field))
        return self._readings[field]

    def reading_words(self, field: str) -> frozenset[str]:
        if field not in self._reading_words:
            reading = self.reading(field)
            self._reading_words[field] = (words_of(reading.text) if reading.changed
                                          else self.words(field))
        return self._reading_words[field]

    def sorted_words(self, field: str) -> list[str]:
        if field not in self._sorted_words:
            self._sorted_words[field] = sorted(self.reading_words(field))
        return self._sorted_words[field]

    def word_starts(self, field: str, pieces: frozenset[str]) -> frozenset[str]:
        """Which of `pieces` begin a word of the field's reading (no scan of the text). With the
        rule set's scan, all its pieces are found at the first call, in one pass."""
        key = (field, pieces)  # slots ask again for the same pieces (cached frozenset hash)
        found = self._word_starts.get(key)
        if found is None:
            if self._scan is None or not self._scan.covers(pieces):
                ordered = self.sorted_words(field)
                found = frozenset(piece for piece in pieces if _begins_one(ordered, piece))
            else:
                if field not in self._starts:
                    self._starts[field] = self._scan.starts(self.sorted_words(field))
                found = pieces & self._starts[field]
            self._word_starts[key] = found
        return found

    def found(self, field: str, needles: frozenset[str]) -> frozenset[str]:
        """Which of `needles` occur in the field's reading (cached, as word_starts)."""
        key = (field, needles)
        found = self._found.get(key)
        if found is None:
            if self._scan is not None and self._scan.holds(needles):
                if field not in self._present:
                    self._present[field] = self._scan.present(self.reading(field).text)
                found = needles & self._present[field]
            else:
                text = self.reading(field).text
                found = frozenset(needle for needle in needles if needle in text)
            self._found[key] = found
        return found

    def contains(self, field: str, needle: str) -> bool:
        """Whether `needle` occurs in the field's reading (cached: rules share needles)."""
        key = (field, needle)
        if key not in self._contains:
            if self._scan is not None and needle in self._scan.known:
                if field not in self._present:
                    self._present[field] = self._scan.present(self.reading(field).text)
                self._contains[key] = needle in self._present[field]
            else:
                self._contains[key] = needle in self.reading(field).text
        return self._contains[key]


def _begins_one(ordered: list[str], piece: str) -> bool:
    """Whether a word of the sorted list `ordered` begins with `piece`."""
    at = bisect.bisect_left(ordered, piece)
    return at < len(ordered) and ordered[at].startswith(piece)


def as_read(fields: FieldTexts) -> ReadFields:
    """`fields` with readings (the engine always passes ReadFields; tests may not)."""
    return fields if isinstance(fields, ReadFields) else ReadFields(fields.facts)
