"""The message's fields as rules read them: folded text plus a normalized reading of each."""

from __future__ import annotations

import bisect
import re

from gateway.moderation.detectors.fields import FieldTexts
from gateway.moderation.detectors.reading import Reading, read
from gateway.moderation.detectors.vocabulary import words_of

_WORD_PIECE = re.compile(r"[a-z0-9_]+")


class ReadFields(FieldTexts):
    """FieldTexts with, per field, the normalized `reading` and the words of that reading."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._readings: dict[str, Reading] = {}
        self._reading_words: dict[str, frozenset[str]] = {}
        self._counts: dict[tuple[str, str], int] = {}
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

    def may_contain(self, field: str, needle: str) -> bool:
        """False when `needle` surely does not occur: each of its pieces between apostrophes
        must begin a word of the reading (a sorted-list lookup, no scan of the text)."""
        pieces = needle.split("'")
        if not all(_WORD_PIECE.fullmatch(p) for p in pieces if p):
            return self.count(field, needle) > 0
        ordered = self.sorted_words(field)
        for piece in filter(None, pieces):
            at = bisect.bisect_left(ordered, piece)
            if at == len(ordered) or not ordered[at].startswith(piece):
                return False
        return True

    def count(self, field: str, needle: str) -> int:
        """How often `needle` occurs in the field's reading (cached: rules share needles)."""
        key = (field, needle)
        if key not in self._counts:
            self._counts[key] = self.reading(field).text.count(needle)
        return self._counts[key]


def as_read(fields: FieldTexts) -> ReadFields:
    """`fields` with readings (the engine always passes ReadFields; tests may not)."""
    return fields if isinstance(fields, ReadFields) else ReadFields(fields.facts)
