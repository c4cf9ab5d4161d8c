"""Find intent as slots near each other ("don't" + "tell" + "parents"), not as fixed phrases.

A slot is a set of phrases (word-list syntax) or `re:` patterns, searched in the normalized
reading. A combination of slots matches where one phrase of each lies within `window`
characters, in any order (French and English order them differently), unless a veto phrase
(`unless`, e.g. "en ligne" for a meeting) is near. The evidence is the whole stretch.

Speed: a combination is only read around its *anchor*, the slot with the fewest phrases whose
words all begin words of the text (the rule set's word beginnings found in one pass over the
text's sorted words; each phrase filed under its rarest word, so a slot whose keys are all
absent costs one set operation); their longest literal pieces (needles) are found with
str.find, at C speed. A long message where "parents" occurs twice is
read in two small windows, not end to end for every slot, and one where a slot cannot occur is
not read at all.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from gateway.moderation.detectors import Finding
from gateway.moderation.detectors.fields import FieldTexts
from gateway.moderation.detectors.read_fields import ReadFields, as_read, scanned
from gateway.moderation.detectors.slot_keys import SlotKeys, _anchor_needles, _live_finders
from gateway.moderation.detectors.words import (
    WordGate,
    compile_words,
    phrase_finder,
    phrase_lead,
    phrase_marks,
    phrase_needles,
    phrase_words,
    rarest,
    word_gate,
)

REGEX_PREFIX = "re:"
NEEDLE_PREFIX = "needle:"  # a string every match of the slot's `re:` entries contains
_REACH = 60  # how far a phrase may extend around one of its needles
_WHOLE_TEXT = 4_000  # below this many characters, windows cost more than they save
# Below this many characters (a subject), a slot regex costs less than deciding not to run it.
_DIRECT = 120
_SENTENCE_ENDS = ("\n",)  # a line: "Tel-jeunes: 1 800 …. Tu peux leur écrire" stays one context


@dataclass(frozen=True)
class Slot:
    name: str
    pattern: re.Pattern[str]
    gate: WordGate | None  # None when a regex entry makes the cheap test unsafe
    needles: tuple[tuple[str, ...], ...] | None  # per phrase; None when a match may have none
    # per phrase (aligned with needles): whole words it needs, so absent phrases cost nothing
    words: tuple[frozenset[str], ...] = ()
    # substrings one of which every match of the `re:` entries holds (each its own anchor)
    declared: tuple[str, ...] = ()
    # per phrase: its longest needle, the one searched for when the phrase can occur
    longest: tuple[str, ...] = ()
    # What each phrase needs, so that the phrases that can occur come from set operations:
    # its whole words (`words` above), the pieces of its other needles that must begin a word
    # ("parent" of "parent*", "c" and "est" of "c'est"), and its needles with other characters,
    # searched ("e-mail"). The phrases come from the words and pieces present, through
    # `by_word` and `by_piece`; `bare` are those needing nothing of the two.
    pieces: tuple[frozenset[str], ...] = ()
    searched: tuple[tuple[str, ...], ...] = ()
    # Each phrase filed under ONE of its needs, its rarest (see words.rarest): the phrases worth
    # testing are those whose key occurs, and a slot none of whose keys occur is ruled out by
    # one set operation. Filed under every need, "you" or "je" made most phrases candidates.
    # `by_key` maps a whole word, `by_key_piece` a word beginning (phrases without words);
    # `bare` are those needing neither.
    by_key: Mapping[str, tuple[int, ...]] = dataclasses.field(
        default_factory=dict, hash=False, compare=False)
    by_key_piece: Mapping[str, tuple[int, ...]] = dataclasses.field(
        default_factory=dict, hash=False, compare=False)
    bare: tuple[int, ...] = ()
    # the keys of by_key and by_key_piece as frozensets: `key_words & words` walks the smaller
    # side in C, where `by_key.keys() & words` walked the text's hundreds of words
    key_words: frozenset[str] = frozenset()
    key_pieces: frozenset[str] = frozenset()
    all_pieces: frozenset[str] = frozenset()  # every piece of every phrase (for NeedleScan)
    # per phrase, its own pattern in a form re finds fast (words.phrase_finder); None when a
    # phrase has none or the slot has `re:` entries
    finders: tuple[re.Pattern[str], ...] | None = None
    free: tuple[int, ...] = ()  # the phrases needing no whole word
    # per phrase (words.phrase_marks): the stems that must begin a word and the substrings
    # that must occur, besides its words, so that a phrase absent for those costs no search
    marks: tuple[tuple[frozenset[str], frozenset[str]], ...] = ()
    stems: frozenset[str] = frozenset()  # every phrase's stems, looked up at once
    # per phrase, its rank when its fast pattern is tried: the longest literal lead first (a
    # slot that occurs is told by the first pattern found: let it be a cheap one)
    rank: tuple[int, ...] = ()


def compile_slot(name: str, entries: list[str]) -> Slot:
    """`entries` are phrases or `re:` patterns (already validated); raises re.error."""
    declared = tuple(e[len(NEEDLE_PREFIX):] for e in entries if e.startswith(NEEDLE_PREFIX))
    phrases = [e for e in entries if not e.startswith((REGEX_PREFIX, NEEDLE_PREFIX))]
    patterns = [e[len(REGEX_PREFIX):] for e in entries if e.startswith(REGEX_PREFIX)]
    for pattern in patterns:
        re.compile(pattern)  # name the faulty entry's error before joining
    words = compile_words(phrases)
    parts = ([words.pattern] if words is not None else []) + [f"(?:{p})" for p in patterns]
    gate = word_gate(phrases) if not patterns else None
    needles = tuple(phrase_needles(p) for p in phrases)
    needed = tuple(phrase_words(p) for p in phrases)
    anchorable = (not patterns or bool(declared)) and all(needles)
    finders = [phrase_finder(p) for p in phrases]
    return Slot(name, re.compile("|".join(parts)), gate, needles if anchorable else None, needed,
                declared, tuple(max(n, key=len) if n else "" for n in needles),
                **_needs(needles, needed),
                finders=None if patterns or None in finders else tuple(
                    f for f in finders if f is not None),
                free=tuple(i for i, words_ in enumerate(needed) if not words_),
                marks=(marks := tuple(phrase_marks(p) for p in phrases)),
                stems=frozenset(stem for starts, _ in marks for stem in starts),
                rank=_ranks([-phrase_lead(p) for p in phrases]))


def _needs(needles: tuple[tuple[str, ...], ...],
           needed: tuple[frozenset[str], ...]) -> dict[str, Any]:
    """Slot's per-phrase needs and their indexes (see Slot). A needle that is one of its
    phrase's whole words needs nothing more once the words are known to occur."""
    unsure = [[n for n in phrase if n not in words_] for phrase, words_ in zip(needles, needed,
                                                                                strict=True)]
    pieces = tuple(frozenset(piece for n in phrase if not scanned(n) for piece in n.split("'")
                             if piece) for phrase in unsure)
    by_key: dict[str, list[int]] = {}
    by_key_piece: dict[str, list[int]] = {}
    bare = []
    for index, (words_, pieces_) in enumerate(zip(needed, pieces, strict=True)):
        if words_:
            by_key.setdefault(rarest(words_), []).append(index)
        elif pieces_:
            by_key_piece.setdefault(rarest(pieces_), []).append(index)
        else:
            bare.append(index)
    return {"pieces": pieces, "searched": tuple(tuple(n for n in phrase if scanned(n))
                                                 for phrase in unsure),
            "by_key": MappingProxyType({w: tuple(i) for w, i in by_key.items()}),
            "by_key_piece": MappingProxyType({p: tuple(i) for p, i in by_key_piece.items()}),
            "bare": tuple(bare), "key_words": frozenset(by_key),
            "key_pieces": frozenset(by_key_piece),
            "all_pieces": frozenset(piece for pieces_ in pieces for piece in pieces_)}


Spans = list[tuple[int, int]]


@dataclass
class _Field:
    """A field as one matcher reads it, and what it learnt of each slot there (a slot may be in
    several combinations): its gate, its anchor needles, its live finders, whether it occurs."""
    fields: ReadFields
    name: str
    text: str  # the reading
    words: frozenset[str]  # the reading's words
    gates: dict[int, bool] = dataclasses.field(default_factory=dict)
    anchors: dict[int, list[str] | None] = dataclasses.field(default_factory=dict)
    live: dict[int, tuple[re.Pattern[str], ...] | None] = dataclasses.field(default_factory=dict)
    occurs: dict[int, bool] = dataclasses.field(default_factory=dict)
    spans: dict[int, Spans] = dataclasses.field(default_factory=dict)  # in the whole text


@dataclass(frozen=True)
class SlotsMatcher:
    slots: tuple[Slot, ...]
    combos: tuple[tuple[int, ...], ...]  # indexes into slots
    window: int
    unless: re.Pattern[str] | None
    fields: tuple[str, ...]
    # slots whose text alone is the evidence when they are part of a match (the number, not
    # "appelle-moi au" before it), so that redaction removes the detail and keeps the sentence
    evidence: frozenset[int] = frozenset()

    def find(self, fields: FieldTexts) -> list[Finding]:
        found: list[Finding] = []
        for field in self.fields:
            found += self._find_in(as_read(fields), field)
        return found

    def scanned_needles(self) -> frozenset[str]:
        """The needles this matcher may search the text for (see read_fields.NeedleScan)."""
        return frozenset(needle for slot in self.slots for needle in (
            *slot.declared, *(n for needles in slot.needles or () for n in needles if scanned(n)),
            *(n for _, inside in slot.marks for n in inside)))

    def word_pieces(self) -> frozenset[str]:
        """The pieces this matcher may look up as word beginnings (see read_fields.NeedleScan)."""
        return frozenset(piece for slot in self.slots for piece in (*slot.all_pieces, *slot.stems))

    @functools.cached_property
    def _keys(self) -> SlotKeys:
        return SlotKeys(self.slots, self.combos)

    @functools.cached_property
    def _orders(self) -> dict[tuple[int, ...], tuple[int, ...]]:
        """Per combination, its slots in the order their regexes run: regex slots (no needles)
        last, the cheap ones may already rule the stretch out."""
        return {combo: tuple(sorted(set(combo), key=lambda i: self.slots[i].needles is None))
                for combo in self.combos}

    def _find_in(self, fields: ReadFields, field: str) -> list[Finding]:
        reading = fields.reading(field)
        at = _Field(fields, field, reading.text, fields.reading_words(field))
        text = at.text
        short = len(text) <= _WHOLE_TEXT
        # the combinations where a slot has no key present are skipped before any slot is read
        keys = self._keys
        live_slots = keys.live_short(fields, field, at.words) if short else keys.live_long(fields, field, at.words)
        clusters: list[tuple[int, int, Spans]] = []
        for combo, need in zip(self.combos, keys.needs, strict=True):
            if need & live_slots != need:
                continue
            if len(text) <= _DIRECT:  # the slot regexes cost less than any test: run them
                clusters += self._clusters_in(combo, text, 0, len(text), at.spans)
                continue
            if short:
                windows = [(0, len(text))] if all(self._gate(i, at) for i in combo) else []
            else:
                windows = self._windows(combo, at)
            for low, high in windows:
                if self._may_hold(combo, at, low, high):
                    clusters += self._clusters_in(combo, text, low, high)
        original = fields.text(field)
        findings = []
        spans: Spans = []
        for start, end, details in clusters:
            if self.unless is not None and self.unless.search(text, *self._veto_span(text, start, end)):
                continue
            spans += details or [(start, end)]
        for start, end in _disjoint(spans):
            o_start, o_end = reading.span(start, end)
            findings.append(Finding(field, o_start, o_end, original[o_start:o_end]))
        return findings

    def _gate(self, index: int, at: _Field) -> bool:
        if index not in at.gates:
            slot = self.slots[index]
            at.gates[index] = slot.gate is None or slot.gate.may_match(
                at.words, at.text, at.fields.sorted_words(at.name))
        return at.gates[index]

    def _live(self, index: int, at: _Field) -> tuple[re.Pattern[str], ...] | None:
        if index not in at.live:
            at.live[index] = _live_finders(self.slots[index], at.fields, at.name, at.words)
        return at.live[index]

    def _may_hold(self, combo: tuple[int, ...], at: _Field, low: int, high: int) -> bool:
        """False when a slot of the combination has no match in text[low:high], so that no slot
        regex reads it (a slot regex tries every position, ~20 ns a character): none of its
        phrases that can occur (see _live_finders) is found there by its fast pattern.
        Exact: the slot's regex matches somewhere iff one of its phrases does."""
        # the slots with the fewest phrases first: the cheapest to rule out
        checked = [finders for finders in (self._live(i, at) for i in combo) if finders is not None]
        for finders in sorted(checked, key=len):
            if not any(f.search(at.text, low, high) for f in finders):
                return False
        return True

    def _occurs(self, combo: tuple[int, ...], at: _Field) -> bool:
        """False when a slot of the combination has no match anywhere in the text: then it has
        none in a window either (a window ends where a word does, so each match found in it is
        one in the whole text), and the windows need not be built nor read one by one."""
        for index in combo:
            finders = self._live(index, at)
            if finders is None:
                continue
            if index not in at.occurs:
                at.occurs[index] = any(f.search(at.text) for f in finders)
            if not at.occurs[index]:
                return False
        return True

    def _veto_span(self, text: str, start: int, end: int) -> tuple[int, int]:
        """Where an `unless` phrase cancels a match: near it and on the same line, so that
        "deadline." on the line before does not excuse "je peux passer te chercher"."""
        low, high = max(0, start - self.window // 2), end + self.window // 2
        before = max(text.rfind(mark, low, start) for mark in _SENTENCE_ENDS)
        after = [i for i in (text.find(mark, end, high) for mark in _SENTENCE_ENDS) if i >= 0]
        return max(low, before + 1), min([high, *after])

    def _windows(self, combo: tuple[int, ...], at: _Field) -> Spans:
        """Stretches of the reading that hold every match of the combination."""
        text, known = at.text, at.anchors
        candidates = []
        for index in combo:
            if index not in known:
                known[index] = _anchor_needles(self.slots[index], at.fields, at.name, at.words)
            chosen = known[index]
            if chosen == []:
                return []  # a slot none of whose phrases can occur: no match anywhere
            candidates.append(chosen)
        # the slot with the fewest phrases that can occur: counting occurrences would cost as
        # many scans of the text as finding them
        anchors = [chosen for chosen in candidates if chosen is not None]
        if not anchors:
            return [(0, len(text))]
        if not self._occurs(combo, at):
            return []
        best = min(anchors, key=len)
        reach = self.window + _REACH + 40
        windows: Spans = []
        for needle in set(best):
            found = text.find(needle)
            while found >= 0:
                windows.append((max(0, found - reach), _word_end(text, found + len(needle) + reach)))
                found = text.find(needle, found + 1)
        return _disjoint(windows)

    def _clusters_in(self, combo: tuple[int, ...], text: str, low: int, high: int,
                     known: dict[int, Spans] | None = None) -> list[tuple[int, int, Spans]]:
        """Where the combination matches in text[low:high]; `known`: each slot's matches there,
        kept for the other combinations reading the same stretch."""
        spans: dict[int, Spans] = {} if known is None else known

        def spans_of(index: int) -> Spans:
            if index not in spans:
                spans[index] = [m.span() for m in self.slots[index].pattern.finditer(text, low, high)
                                if m.end() > m.start()]
            return spans[index]

        if not all(spans_of(i) for i in self._orders[combo]):
            return []
        return self._clusters(combo, spans_of)

    def _clusters(self, combo: tuple[int, ...],
                  spans_of: Callable[[int], Spans]) -> list[tuple[int, int, Spans]]:
        """(start, end, evidence-slot spans) of every place where the combination matches."""
        events = sorted((s, e, i) for i in set(combo) for s, e in spans_of(i))
        need = len(set(combo))
        found: list[tuple[int, int, Spans]] = []
        first = 0
        while first < len(events):
            start = events[first][0]
            seen: dict[int, tuple[int, int]] = {}
            for s, e, slot in events[first:]:
                if s - start > self.window:
                    break
                # one stretch of text fills one slot ("installe" is no "install" + "insta")
                if slot not in seen and not any(s < e2 and s2 < e for s2, e2 in seen.values()):
                    seen[slot] = (s, e)
                    if len(seen) == need:
                        break
            end = max(e for _, e in seen.values())
            if len(seen) == need and end - start <= self.window + 40:
                found.append((start, end, [span for slot, span in seen.items()
                                           if slot in self.evidence]))
                while first < len(events) and events[first][0] < end:
                    first += 1
                continue
            first += 1
        return found


def _ranks(keys: list[int]) -> tuple[int, ...]:
    """Each item's place when the items are sorted by `keys` (ties in their own order)."""
    ranks = [0] * len(keys)
    for place, index in enumerate(sorted(range(len(keys)), key=keys.__getitem__)):
        ranks[index] = place
    return tuple(ranks)


_WORD_TAIL = re.compile(r"[\w']*")  # \w is str.isalnum() or "_": the rest of a word


def _word_end(text: str, index: int) -> int:
    """`index` moved past the word it falls in, so a window never cuts a word."""
    return min(_WORD_TAIL.match(text, index).end(), len(text))  # type: ignore[union-attr]


def _disjoint(spans: Spans) -> Spans:
    kept: Spans = []
    for start, end in sorted(spans):
        if kept and start < kept[-1][1]:
            kept[-1] = (kept[-1][0], max(end, kept[-1][1]))
        else:
            kept.append((start, end))
    return kept
