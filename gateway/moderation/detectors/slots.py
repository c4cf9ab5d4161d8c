"""Find intent as slots near each other ("don't" + "tell" + "parents"), not as fixed phrases.

A slot is a set of phrases (word-list syntax) or `re:` patterns, searched in the normalized
reading. A combination of slots matches where one phrase of each lies within `window`
characters, in any order (French and English order them differently), unless a veto phrase
(`unless`, e.g. "en ligne" for a meeting) is near. The evidence is the whole stretch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.moderation.detectors import Finding
from gateway.moderation.detectors.fields import FieldTexts
from gateway.moderation.detectors.read_fields import ReadFields, as_read
from gateway.moderation.detectors.words import WordGate, compile_words, word_gate

REGEX_PREFIX = "re:"


@dataclass(frozen=True)
class Slot:
    name: str
    pattern: re.Pattern[str]
    gate: WordGate | None  # None when a regex entry makes the cheap test unsafe


def compile_slot(name: str, entries: list[str]) -> Slot:
    """`entries` are phrases or `re:` patterns (already validated); raises re.error."""
    phrases = [e for e in entries if not e.startswith(REGEX_PREFIX)]
    patterns = [e[len(REGEX_PREFIX):] for e in entries if e.startswith(REGEX_PREFIX)]
    for pattern in patterns:
        re.compile(pattern)  # name the faulty entry's error before joining
    words = compile_words(phrases)
    parts = ([words.pattern] if words is not None else []) + [f"(?:{p})" for p in patterns]
    gate = word_gate(phrases) if not patterns else None
    return Slot(name, re.compile("|".join(parts)), gate)


@dataclass(frozen=True)
class SlotsMatcher:
    slots: tuple[Slot, ...]
    combos: tuple[tuple[int, ...], ...]  # indexes into slots
    window: int
    unless: re.Pattern[str] | None
    fields: tuple[str, ...]

    def find(self, fields: FieldTexts) -> list[Finding]:
        found: list[Finding] = []
        for field in self.fields:
            found += self._find_in(as_read(fields), field)
        return found

    def _find_in(self, fields: ReadFields, field: str) -> list[Finding]:
        reading = fields.reading(field)
        words, text = fields.reading_words(field), reading.text
        spans: dict[int, list[tuple[int, int]]] = {}

        def spans_of(index: int) -> list[tuple[int, int]]:
            if index not in spans:
                slot = self.slots[index]
                open_ = slot.gate is None or slot.gate.may_match(words, text)
                spans[index] = ([m.span() for m in slot.pattern.finditer(text) if m.end() > m.start()]
                                if open_ else [])
            return spans[index]

        clusters: list[tuple[int, int]] = []
        for combo in self.combos:
            if all(spans_of(i) for i in combo):
                clusters += self._clusters(combo, spans_of)
        original = fields.text(field)
        findings = []
        for start, end in _disjoint(clusters):
            if self.unless is not None and self.unless.search(
                    text, max(0, start - self.window // 2), end + self.window // 2):
                continue
            o_start, o_end = reading.span(start, end)
            findings.append(Finding(field, o_start, o_end, original[o_start:o_end]))
        return findings

    def _clusters(self, combo: tuple[int, ...], spans_of: object) -> list[tuple[int, int]]:
        events = sorted((s, e, i) for i in combo for s, e in spans_of(i))  # type: ignore[operator]
        need = len(set(combo))
        found: list[tuple[int, int]] = []
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
                found.append((start, end))
                while first < len(events) and events[first][0] < end:
                    first += 1
                continue
            first += 1
        return found


def _disjoint(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    kept: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if kept and start < kept[-1][1]:
            kept[-1] = (kept[-1][0], max(end, kept[-1][1]))
        else:
            kept.append((start, end))
    return kept
