"""Which slots of a matcher, and which phrases of a slot, can occur in a field.

Each phrase of a slot is filed under one key, its rarest need (words.rarest): a whole word, or for a
phrase without whole words a word beginning ("parent" of "parent*"). A slot none of whose keys
occurs has no phrase that can occur, so every combination holding it is skipped before any of
its slots is looked at: on ordinary mail most combinations end there, and one pass over the
keys present (a set intersection, then one bit per slot) replaces a call per slot.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from gateway.moderation.detectors.words import rarest

if TYPE_CHECKING:
    from gateway.moderation.detectors.read_fields import ReadFields
    from gateway.moderation.detectors.slots import Slot

class SlotKeys:
    """A matcher's slots as bits: per key, the slots filing a phrase under it; per combination,
    the slots it needs. `live_*` give the bits of the slots that may occur in a field."""

    def __init__(self, slots: Iterable[Slot], combos: Iterable[tuple[int, ...]]) -> None:
        by_word: dict[str, int] = {}
        by_piece: dict[str, int] = {}
        # Long texts (anchors): a slot not anchorable, with phrases needing nothing or with
        # declared needles is decided by slots._anchor_needles, as before: always live here.
        self._open_long = 0
        # Short texts (word gates): a phrase without words is filed under its rarest stem or
        # mark (words.phrase_marks, exact as whole words are); a slot without a gate (`re:`
        # entries) or with a phrase needing none of them is always live.
        self._open_short = 0
        by_stem: dict[str, int] = {}
        by_mark: dict[str, int] = {}
        for index, slot in enumerate(slots):
            bit = 1 << index
            for word in slot.key_words:
                by_word[word] = by_word.get(word, 0) | bit
            for piece in slot.key_pieces:
                by_piece[piece] = by_piece.get(piece, 0) | bit
            if slot.needles is None or slot.bare or slot.declared:
                self._open_long |= bit
            if slot.gate is None:
                self._open_short |= bit
            for phrase in slot.free:
                starts, inside = slot.marks[phrase]
                if starts:
                    by_stem[rarest(starts)] = by_stem.get(rarest(starts), 0) | bit
                elif inside:
                    by_mark[rarest(inside)] = by_mark.get(rarest(inside), 0) | bit
                else:
                    self._open_short |= bit
        self._by_word: Mapping[str, int] = by_word
        self._by_piece: Mapping[str, int] = by_piece
        self._words = frozenset(by_word)
        self._pieces = frozenset(by_piece)
        self._by_stem: Mapping[str, int] = by_stem
        self._by_mark: Mapping[str, int] = by_mark
        self._stems = frozenset(by_stem)
        self._marks = frozenset(by_mark)
        self.needs = tuple(sum(1 << index for index in set(combo)) for combo in combos)

    def live_long(self, fields: ReadFields, field: str, words: frozenset[str]) -> int:
        """Slots for which slots._anchor_needles may find something (others give [])."""
        live = self._open_long
        by_word = self._by_word
        for word in self._words & words:
            live |= by_word[word]
        if self._pieces:
            by_piece = self._by_piece
            for piece in fields.word_starts(field, self._pieces):
                live |= by_piece[piece]
        return live

    def live_short(self, fields: ReadFields, field: str, words: frozenset[str]) -> int:
        """Slots one of whose phrases may match (others' phrases each lack their key)."""
        live = self._open_short
        by_word = self._by_word
        for word in self._words & words:
            live |= by_word[word]
        if self._stems:
            by_stem = self._by_stem
            for stem in fields.word_starts(field, self._stems):
                live |= by_stem[stem]
        if self._marks:
            by_mark = self._by_mark
            for mark in fields.found(field, self._marks):
                live |= by_mark[mark]
        return live


def _anchor_needles(slot: Slot, fields: ReadFields, field: str,
                    words: frozenset[str]) -> list[str] | None:
    """For each phrase of the slot that can occur, its longest needle (None: the slot is not
    anchorable; []: none of its phrases can occur). A phrase missing one of its words cannot."""
    if slot.needles is None:
        return None if slot.gate is None or slot.gate.may_match(
            words, fields.reading(field).text, fields.sorted_words(field)) else []
    # the phrases whose words and pieces all occur, in phrase order: only those whose key
    # occurs are tested (each phrase is filed under one key, so none comes twice)
    candidates = [*slot.bare]
    by_key = slot.by_key
    for word in slot.key_words & words:
        candidates += by_key[word]
    if slot.key_pieces:
        by_key_piece = slot.by_key_piece
        for piece in fields.word_starts(field, slot.key_pieces):
            candidates += by_key_piece[piece]
    chosen = []
    if candidates:
        found = fields.word_starts(field, slot.all_pieces)
        needed, pieces, searched = slot.words, slot.pieces, slot.searched
        chosen = [slot.longest[i] for i in sorted(candidates)
                  if needed[i] <= words and pieces[i] <= found
                  and (not searched[i] or all(fields.contains(field, n) for n in searched[i]))]
    return chosen + [n for n in slot.declared if fields.contains(field, n)] \
        if slot.declared else chosen


_FEW = 16  # more phrases than this to find one by one cost more than the slot regex saves


def _live_finders(slot: Slot, fields: ReadFields, field: str,
                  words: frozenset[str]) -> tuple[re.Pattern[str], ...] | None:
    """The fast patterns of the slot's phrases that can occur: their whole words occur, their
    stems begin words and their marks are in the text (None: too many phrases to try one by
    one, or the slot has none)."""
    if slot.finders is None:
        return None
    phrases = [*slot.free]
    for word in slot.key_words & words:
        phrases += (i for i in slot.by_key[word] if slot.words[i] <= words)
    found = fields.word_starts(field, slot.stems) if slot.stems else frozenset()
    marks = slot.marks
    phrases = [i for i in phrases if marks[i][0] <= found
               and all(fields.contains(field, inside) for inside in marks[i][1])]
    finders = slot.finders
    return tuple(finders[i] for i in sorted(phrases, key=slot.rank.__getitem__)) \
        if len(phrases) <= _FEW else None
