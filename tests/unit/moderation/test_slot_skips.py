"""Every way the slots matcher skips work gives the findings of the plain way (issue 17).

The matcher skips a combination when one of its slots has no key present (slot_keys), files
each phrase under its rarest need (slots._needs), drops phrases whose stems or marks are
absent before searching for them (words.phrase_marks), and drops a combination whose slot
occurs nowhere in the text before building its windows (SlotsMatcher._occurs). The plain way
reads every combination: each must give the very same findings, on short texts (one window)
and long ones, built from the shipped rules' phrases, their spelling variants and the ordinary
sentences of the relay benchmark.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

from gateway.moderation.detectors import slots
from gateway.moderation.detectors.read_fields import ReadFields
from gateway.moderation.detectors.slot_keys import SlotKeys
from gateway.moderation.detectors.slots import SlotsMatcher, _live_finders
from gateway.moderation.detectors.vocabulary import words_of
from gateway.moderation.detectors.words import compile_words, phrase_marks, phrase_words, rarest
from gateway.moderation.rules import RuleSet
from tests.unit.moderation.conftest import facts_of
from tests.unit.moderation.test_fast_paths import _rule_texts
from tests.unit.moderation.test_slot_windows import _long_texts, _shipped_phrases

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))
from loadgen import SENTENCES  # noqa: E402  (the relay benchmark's ordinary mail)


def _variants(phrase: str, rng: random.Random) -> str:
    """The phrase as people type it: apostrophe kept, spaced or left out; a stem completed."""
    text = phrase.replace("*", rng.choice(["", "e", "s", "ait"]))
    return text.replace("'", rng.choice(["'", " ", ""]))


def _mixed_texts(rules: RuleSet, seed: int, count: int, long: bool) -> list[str]:
    rng = random.Random(seed)
    phrases = _shipped_phrases()
    texts = []
    for text in (_long_texts(rules, seed, count) if long else _rule_texts(rules, seed, count)):
        words = text.split(" ")
        for _ in range(rng.randint(0, 4)):
            words.insert(rng.randint(0, len(words)), _variants(rng.choice(phrases), rng))
        if rng.random() < 0.5:
            words.insert(rng.randint(0, len(words)), rng.choice(SENTENCES))
        texts.append(" ".join(words))
    return texts


def _plain_find(monkeypatch: pytest.MonkeyPatch, matcher: SlotsMatcher, fields: ReadFields,
                ) -> list[object]:
    with monkeypatch.context() as patch:
        patch.setattr(SlotKeys, "live_long", lambda *args: -1)
        patch.setattr(SlotKeys, "live_short", lambda *args: -1)
        patch.setattr(SlotsMatcher, "_occurs", lambda *args: True)
        patch.setattr(SlotsMatcher, "_may_hold", lambda *args: True)
        return list(matcher.find(fields))


@pytest.mark.parametrize("long", [False, True])
def test_skipped_combinations_hold_no_finding(shipped: RuleSet, long: bool,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    matchers = [rule.matcher for rule in shipped.rules if isinstance(rule.matcher, SlotsMatcher)]
    found = 0
    for text in _mixed_texts(shipped, 31 + long, 40 if long else 500, long):
        facts = facts_of(text, subject=text[:70])
        for matcher in matchers:
            fast = matcher.find(ReadFields(facts, shipped.scan))
            assert fast == _plain_find(monkeypatch, matcher, ReadFields(facts, shipped.scan)), text
            found += len(fast)
    assert found  # the texts do hold matches


def test_a_subject_read_at_once_gives_what_the_tests_gave(
        shipped: RuleSet, monkeypatch: pytest.MonkeyPatch) -> None:
    # Below slots._DIRECT characters the slot regexes run without gates nor fast patterns.
    matchers = [rule.matcher for rule in shipped.rules if isinstance(rule.matcher, SlotsMatcher)]
    texts = [t[:slots._DIRECT] for t in _mixed_texts(shipped, 36, 400, False)]
    direct = [[m.find(ReadFields(facts_of(subject=t), shipped.scan)) for m in matchers]
              for t in texts]
    monkeypatch.setattr(slots, "_DIRECT", 0)
    assert direct == [[m.find(ReadFields(facts_of(subject=t), shipped.scan)) for m in matchers]
                      for t in texts]
    assert any(any(found) for found in direct)


def test_the_ordinary_mail_of_the_benchmark_passes_both_ways(
        shipped: RuleSet, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(33)
    matchers = [rule.matcher for rule in shipped.rules if isinstance(rule.matcher, SlotsMatcher)]
    for _ in range(8):
        text = "\n".join(" ".join(rng.sample(SENTENCES, 3)) for _ in range(25))
        facts = facts_of(text)
        for matcher in matchers:
            assert matcher.find(ReadFields(facts, shipped.scan)) == _plain_find(
                monkeypatch, matcher, ReadFields(facts, shipped.scan)) == []


def test_a_phrase_match_holds_its_words_stems_and_marks() -> None:
    # The marks are exact: wherever the phrase's own pattern matches, they are all there.
    rng = random.Random(34)
    phrases = [*_shipped_phrases(), "t'attendre", "rencontr*", "c'etait pour", "qu'on*", "e-mail*",
               "goo.gl*", "aujourd'hui", "l'ecole*"]
    for phrase in phrases:
        pattern = compile_words([phrase])
        assert pattern is not None
        starts, inside = phrase_marks(phrase)
        for _ in range(6):
            text = " ".join([rng.choice(["", "x", "2", "é", "-"]) + _variants(phrase, rng)
                             + rng.choice(["", " y", ".", "'"]), *rng.sample(SENTENCES, 1)])
            folded = ReadFields(facts_of(text)).reading("text").text
            if not pattern.search(folded):
                continue
            words = words_of(folded)
            assert phrase_words(phrase) <= words, (phrase, folded)
            assert all(any(w.startswith(s) for w in words) for s in starts), (phrase, folded)
            assert all(s in folded for s in inside), (phrase, folded)


def test_live_finders_keep_every_phrase_that_matches(shipped: RuleSet) -> None:
    slots = [slot for rule in shipped.rules if isinstance(rule.matcher, SlotsMatcher)
             for slot in rule.matcher.slots if slot.finders is not None]
    for text in _mixed_texts(shipped, 35, 300, False):
        fields = ReadFields(facts_of(text), shipped.scan)
        folded, words = fields.reading("text").text, fields.reading_words("text")
        for slot in slots:
            live = _live_finders(slot, fields, "text", words)
            if live is None:
                continue
            assert any(f.search(folded) for f in live) == any(
                f.search(folded) for f in slot.finders or ()), (slot.name, folded)


def test_a_key_is_the_rarest_need() -> None:
    assert rarest(frozenset({"you", "tell", "me"})) == "tell"
    assert rarest(frozenset({"je", "te"})) == "te"  # "je" is a function word
    assert rarest(frozenset({"je", "tu", "the"})) == "the"  # all are: the longest
    assert rarest(frozenset({"parent"})) == "parent"
