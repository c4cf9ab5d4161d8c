"""The faster ways of finding things give exactly what the plain ways gave, on many inputs.

Each fast path (issue 10's 5 ms goal) replaces a plain search that is kept here as the
reference: a regex tried at every character, a subset test per phrase, one scan of the text per
needle. Random texts built from the characters and phrases that matter, and the shipped rules'
own phrases, must give the same matches, in the same order.
"""

from __future__ import annotations

import bisect
import random
import re
import time

import phonenumbers
import pytest

from gateway.moderation.chain import evaluate
from gateway.moderation.detectors import Taken, emails, handles, number_runs, phone, reading
from gateway.moderation.detectors.fold import fold
from gateway.moderation.detectors.matchers import WordsMatcher
from gateway.moderation.detectors.read_fields import NeedleScan, ReadFields
from gateway.moderation.detectors.slots import Slot, SlotsMatcher, _anchor_needles
from gateway.moderation.detectors.words import WordGate
from gateway.moderation.rules import RuleSet
from tests.unit.moderation.conftest import facts_of


def _texts(seed: int, alphabet: list[str], count: int, longest: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, longest)))
            for _ in range(count)]


def test_lone_pairs_find_every_match_of_the_singles_pattern() -> None:
    alphabet = [*"ab sn19._-*(:;,/\"<>['@\n\tzA", "é", "\u00a0", "\u2003", "\U0001f47b"]
    for text in _texts(1, alphabet, 20_000, 30) + _texts(2, list("a .(x'"), 5_000, 40):
        text = " " + text
        assert ([m.span() for m in reading._singles(text)]
                == [m.span() for m in reading._SINGLES.finditer(text)]), repr(text)


def test_emoji_and_wide_characters_are_seen_whenever_the_pattern_finds_them() -> None:
    alphabet = [*"ab 1", "é", "\u00ad", "\ufe0f", "\u20e3", "\U0001f47b", "\uff41", "\u2460",
                "\u2075", "\u4e2d", "\ud800", "\U0001f600"]
    for text in _texts(3, alphabet, 20_000, 12):
        if not text.isascii():
            assert reading._may_have_chars(text) == bool(reading._CHARS.search(text)), repr(text)


def test_chains_are_those_of_the_whole_text_search() -> None:
    alphabet = ["o", "0", "5", "1", " ", "-", ".", "(", ")", "\n", ">", "un", "une", "one",
                "deux", "cinq", "x", "a", "é", "lune", "oo", "12", "/", ",", "_", "\t", "\r"]
    rng = random.Random(4)
    for text in _texts(5, alphabet, 20_000, 30):
        spoken = tuple(sorted(rng.sample(["un", "une", "one", "deux", "cinq"], rng.randint(0, 3))))
        pattern = number_runs.chain_pattern(spoken)
        assert ([m.span() for m in number_runs._chains(text, pattern, spoken)]
                == [m.span() for m in pattern.finditer(text)]), repr(text)


_PLAIN_MARKERS = (re.compile(r"@"), re.compile(r"arobase?"), re.compile(r"chez\b(?<!\wchez)"),
                  re.compile(r"at\b(?<!\wat)"), re.compile(r"[(\[{<]\s*a\s*[)\]}>]"))


def _plain_candidates(folded: str) -> list[tuple[int, int]]:
    """emails._candidates as it was: every marker, then the domain test in Python."""
    spans = [m.span() for m in emails._PLAIN.finditer(folded)] if "@" in folded else []
    for marker_start, after in sorted(m.span() for p in _PLAIN_MARKERS for m in p.finditer(folded)):
        if not emails._DOMAIN_AFTER.match(folded, after, after + emails._WINDOW):
            continue
        start = max(0, marker_start - emails._WINDOW)
        spans += [m.span() for m in emails._OBFUSCATED.finditer(folded, start, after + emails._WINDOW)
                  if m.start() <= marker_start < m.end()]
    return spans


def test_email_candidates_are_those_of_every_marker() -> None:
    alphabet = ["at", "arobase", "arobas", "e", "chez", "@", "(a)", "[ a ]", "{a}", "<a>", "(at)",
                "gmail", "jo", "x", ".", " dot ", " point ", "(dot)", "[pt]", "com", "ca", " ", " ",
                "-", "_", "\n", "ée", "a", "that", "9"]
    for text in _texts(6, alphabet, 20_000, 14):
        assert emails._candidates(text) == _plain_candidates(text), repr(text)


# The shipped rules' phrases, spaced and cut at random, make the texts for the rules' own tests.
def _rule_texts(rules: RuleSet, seed: int, count: int) -> list[str]:
    phrases = [e.split(":", 1)[-1].replace("*", "e") for rule in rules.rules
               if isinstance(rule.matcher, SlotsMatcher) for slot in rule.matcher.slots
               for e in _entries(slot)]
    filler = ["le", "la", "de", "et", "pour", "avec", "the", "and", "of", "to", "in", "at",
              "on", "est", "une", "un", "one", "i", "you", "tu", "je", "ma", "mon", "ton", "your",
              "my", "me", "moi", "école", "homework", "parents", "514", "555", "1234", "e-mail",
              "goo.gl"]
    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        words = [rng.choice(phrases) if rng.random() < 0.4 else rng.choice(filler)
                 for _ in range(rng.choice([3, 10, 40]))]
        texts.append(" ".join(w[:rng.randint(1, len(w))] if rng.random() < 0.1 else w
                              for w in words))
    return texts


def _entries(slot: Slot) -> list[str]:
    return [*slot.declared, *(n for needles in slot.needles or () for n in needles)]


def _plain_may_contain(fields: ReadFields, field: str, needle: str) -> bool:
    pieces = needle.split("'")
    text = fields.reading(field).text
    if not all(re.fullmatch(r"[a-z0-9_]+", p) for p in pieces if p):
        return needle in text
    ordered = fields.sorted_words(field)
    for piece in filter(None, pieces):
        at = bisect.bisect_left(ordered, piece)
        if at == len(ordered) or not ordered[at].startswith(piece):
            return False
    return True


def _plain_anchor_needles(slot: Slot, fields: ReadFields, field: str,
                          words: frozenset[str]) -> list[str] | None:
    """slots._anchor_needles as it was: a subset test per phrase, one count per needle."""
    if slot.needles is None:
        return None if slot.gate is None or slot.gate.may_match(
            words, fields.reading(field).text, fields.sorted_words(field)) else []
    chosen = [max(needles, key=len) for needles, needed in zip(slot.needles, slot.words, strict=True)
              if needed <= words and all(_plain_may_contain(fields, field, n) for n in needles)]
    text = fields.reading(field).text
    return chosen + [n for n in slot.declared if text.count(n)]


def _has(stem: str, folded: str, sorted_words: list[str] | None) -> bool:
    if sorted_words is None or not re.fullmatch(r"[a-z0-9_]+", stem):
        return stem in folded
    at = bisect.bisect_left(sorted_words, stem)
    return at < len(sorted_words) and sorted_words[at].startswith(stem)


def _plain_may_match(gate: WordGate, words: frozenset[str], folded: str,
                     sorted_words: list[str] | None) -> bool:
    return any(need <= words and all(_has(s, folded, sorted_words) for s in substrings)
               for need, substrings in gate.needs)


@pytest.mark.parametrize("scan", [False, True])
def test_slot_anchors_and_word_gates_are_those_of_the_plain_tests(shipped: RuleSet,
                                                                  scan: bool) -> None:
    slots = [slot for rule in shipped.rules if isinstance(rule.matcher, SlotsMatcher)
             for slot in rule.matcher.slots]
    gates = [slot.gate for slot in slots if slot.gate is not None] + [
        word_list.gate for rule in shipped.rules if isinstance(rule.matcher, WordsMatcher)
        for word_list in rule.matcher.lists if word_list.gate is not None]
    for text in _rule_texts(shipped, 7 + scan, 300):
        fields = ReadFields(facts_of(text), shipped.scan if scan else None)
        words, ordered = fields.reading_words("text"), fields.sorted_words("text")
        for slot in slots:
            assert (_anchor_needles(slot, fields, "text", words)
                    == _plain_anchor_needles(slot, fields, "text", words)), (slot.name, text)
        folded = fields.reading("text").text
        for gate in gates:
            assert gate.may_match(words, folded, ordered) == _plain_may_match(
                gate, words, folded, ordered), text
            assert gate.may_match(words, folded) == _plain_may_match(gate, words, folded, None)


def test_needle_scan_finds_the_needles_in_the_text(shipped: RuleSet) -> None:
    scan = shipped.scan
    assert scan.needles  # the shipped slots do declare needles with non-word characters
    extra = NeedleScan(["ab", "b", "abc", "bc", "c'd", "c'", "é-a", "aé", "\ud800a"])
    for text in _rule_texts(shipped, 9, 300) + _texts(10, [*"abc'd -", "é", "\ud800"], 3_000, 12):
        text = fold(text)
        assert scan.present(text) == {n for n in scan.needles if n in text}
        assert extra.present(text) == {n for n in extra.needles if n in text}
    assert NeedleScan([]).present("anything") == frozenset()


def test_needle_scan_finds_the_pieces_that_begin_words(shipped: RuleSet) -> None:
    scan = shipped.scan
    assert scan.pieces  # the shipped slots have stems ("parent*") and apostrophes ("c'est")
    extra = NeedleScan([], ["a", "ab", "abc", "b", "bc", "c_d", "9"])
    for text in _rule_texts(shipped, 11, 300) + _texts(12, [*"abc_d9 -'", "é"], 3_000, 12):
        words = sorted(ReadFields(facts_of(text)).reading_words("text"))
        for pieces in (scan, extra):
            assert pieces.starts(words) == {p for p in pieces.pieces
                                            if any(w.startswith(p) for w in words)}, text
    assert NeedleScan([]).starts(["anything"]) == frozenset()


@pytest.mark.parametrize("text", ["at." * 17_000, "at. " * 250_000, "@" * 100_000, "@." * 50_000, "1 " * 25_000, "a b " * 12_500, "o 5 " * 12_500,
                                  "at " + " " * 50_000, "(a)." * 12_500])
def test_the_fast_paths_stay_linear_on_long_repetitive_texts(text: str) -> None:
    # Each would take seconds if it read on from every position (a chain followed again from
    # each of its pairs, a domain read along "at.at.at…" from every "at").
    started = time.thread_time()
    emails._candidates(text)
    list(reading._singles(" " + text))
    number_runs.stretches(text, frozenset(), 24)
    assert time.thread_time() - started < 1.0


def test_international_numbers_are_judged_as_phonenumbers_judges_them() -> None:
    rng = random.Random(17)
    numbers = ["0" * 9, "0123456789", "33612345678", "15145551234", "4420794601", "999999999"]
    numbers += ["".join(rng.choice("0123456789") for _ in range(rng.randint(8, 15)))
                for _ in range(300)]
    for number in numbers:
        try:
            expected = phonenumbers.is_possible_number(phonenumbers.parse("+" + number))
        except phonenumbers.NumberParseException:
            expected = False
        assert phone._possible_international(number) == expected, number


@pytest.mark.parametrize("text", ["0\n" * 20_000, "00 " * 13_000, "+0 0 " * 8_000])
def test_phone_runs_stay_cheap_on_long_repetitive_texts(text: str) -> None:
    # A line of "0"s asked phonenumbers about 80,000 times for 20 KB (two seconds for 40 KB):
    # every digit starts a try at every length.
    started = time.thread_time()
    phone.find_phones("text", text, text)
    assert time.thread_time() - started < 1.0


def test_taken_answers_as_a_scan_of_every_kept_span() -> None:
    rng = random.Random(23)
    for _ in range(300):
        taken, kept = Taken(), []
        for _ in range(rng.randint(0, 40)):
            start = rng.randint(0, 60)
            end = start + rng.choice([0, 1, 2, 5, 12])
            scan = any(s < end and start < e for s, e in kept)
            assert taken.overlaps(start, end) == scan, (kept, start, end)
            if rng.random() < 0.7:  # kept whether it overlaps or not, in any order
                taken.add(start, end)
                kept.append((start, end))
        assert Taken(kept).overlaps(10, 20) == any(s < 20 and e > 10 for s, e in kept)


@pytest.mark.parametrize("unit", ["@chez>", ">@at", "a@b.co ", "@jo ", "12 rue x "])
def test_many_candidates_are_kept_or_dropped_in_linear_time(shipped: RuleSet, unit: str) -> None:
    # Each candidate was compared with every span kept before it: 80 KB of "@chez>" took 11 s.
    text = unit * (80_000 // len(unit))
    started = time.thread_time()
    evaluate(shipped, facts_of(text))
    assert time.thread_time() - started < 3.0


def _walked_longest_phone(run: list[phone._Piece], first: int) -> int | None:
    """The plain way: every length from `first`, each asked to _is_phone."""
    digits, found = "", None
    for last in range(first, len(run)):
        digits += run[last].digits
        if len(digits) > phone._MAX_DIGITS + 2:
            break
        if phone._is_phone(digits, run[first].plus):
            found = last
    return found


def test_national_numbers_are_found_as_walking_every_length_finds_them() -> None:
    # A run of single digits ("1 2 1 2 …") walked every length from every digit: 12 µs a
    # character. National numbers (10 or 11 digits) are now looked up by their length.
    rng = random.Random(29)
    for _ in range(3_000):
        run = [phone._Piece(i, i + 1, "".join(rng.choice("0012345678919")
                                              for _ in range(rng.choice([1, 1, 2, 3, 3, 4]))),
                            rng.random() < 0.05, False)
               for i in range(rng.randint(1, 14))]
        joined = "".join(p.digits for p in run)
        ends = [len("".join(p.digits for p in run[:i + 1])) for i in range(len(run))]
        for first in range(len(run)):
            assert phone._longest_phone_from(run, first, ends, joined) \
                == _walked_longest_phone(run, first), (run, first)


@pytest.mark.parametrize("text", ["1 2 " * 25_000, "x y " * 25_000, "0\n" * 50_000])
def test_dense_numbers_and_platform_names_stay_cheap(text: str) -> None:
    started = time.thread_time()
    phone.find_phones("text", text, text)
    handles.find_handles("text", text, text)
    assert time.thread_time() - started < 2.0


def _windowed_handles(folded: str) -> list[tuple[int, int]]:
    """The plain way: the full pattern in a window around each platform name, one by one."""
    spans = [m.span() for m in handles._AT_HANDLE.finditer(folded)
             if not handles._is_code(folded, m.start(), m.end())]
    for mention in handles._PLATFORM.finditer(folded):
        spans += [m.span() for m in handles._HANDLES.finditer(
            folded, max(0, mention.start() - handles._BEFORE), mention.end() + handles._AFTER)]
    kept: list[tuple[int, int]] = []
    for start, end in sorted(set(spans)):
        if not any(s < end and start < e for s, e in kept):
            kept.append((start, end))
    return kept


def test_handles_in_merged_windows_are_those_of_a_window_per_platform_name_or_longer() -> None:
    words = ["snap", "insta", "x", "id", "my", "mon", "is", "c'est", ":", "lea_2009", "jo.b",
             "add", "me", "on", "ajoute-moi", "sur", "teams", "zoom", "hello", "@jo_1", "the",
             "meeting", "demain", "discord", "=", "\n", "tag", "email", "bonjour"]
    rng = random.Random(31)
    for _ in range(2_000):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(0, 60)))
        found = [(f.start, f.end) for f in handles.find_handles("text", text, text)]
        windowed = _windowed_handles(text)
        # Every handle still covered, from the same starts; one may be read further, as a
        # window could end inside it and cut it ("my discord is = @jo_1" was "my discord is").
        assert all(any(s <= start and end <= e for s, e in found) for start, end in windowed), text
        assert {start for start, _ in found} <= {start for start, _ in windowed}, text
