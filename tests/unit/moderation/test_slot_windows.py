"""A slot combination's windows are skipped only where its regexes would have found nothing.

The slots matcher first asks each slot's phrases, with patterns re finds fast, whether the
slot can match in a window (`SlotsMatcher._may_hold`); the plain way runs every slot regex on
every window. Both must give the same findings, on short texts (one window: the whole text)
and on long ones (windows around the anchor's needles), built from the shipped rules' phrases.
"""

from __future__ import annotations

import random
import tomllib

import pytest

from gateway.moderation.detectors.read_fields import ReadFields
from gateway.moderation.detectors.slots import SlotsMatcher, _word_end
from gateway.moderation.detectors.words import compile_words, phrase_finder
from gateway.moderation.rules import RuleSet
from tests.unit.moderation.conftest import SHIPPED, facts_of
from tests.unit.moderation.test_fast_paths import _rule_texts

SENTENCES = (
    "Merci pour ta réponse de la semaine passée, elle m'a beaucoup aidé à réfléchir.",
    "Mon enseignante de chimie dit que les laboratoires sont la meilleure partie du cégep.",
    "Could you tell me more about what a normal day looks like in your job?",
    "I liked your advice about asking teachers for feedback early in the term.",
    "Do you think it is a good idea to take a gap year before university?",
    "Je pense m'inscrire au club de robotique de l'école cette session.",
)


def _shipped_phrases() -> list[str]:
    """Every phrase of the shipped `slots` rules, as written in the rule files."""
    phrases: set[str] = set()
    for path in SHIPPED.glob("*.toml"):
        match = tomllib.loads(path.read_text(encoding="utf-8")).get("match", {})
        if match.get("kind") == "slots":
            phrases.update(e for entries in match.get("slots", {}).values() for e in entries
                           if not e.startswith(("re:", "needle:")))
    return sorted(phrases)


def _long_texts(rules: RuleSet, seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    short = _rule_texts(rules, seed, count * 4)
    texts = []
    for _ in range(count):
        parts: list[str] = []
        while sum(len(p) + 1 for p in parts) < rng.choice([4_500, 7_000, 12_000]):
            parts.append(rng.choice(short) if rng.random() < rng.choice([0.03, 0.2])
                         else rng.choice(SENTENCES))
        texts.append(" ".join(parts))
    return texts


def test_a_phrase_finder_finds_what_the_phrase_pattern_finds() -> None:
    phrases = ["you and me", "parent*", "c'est secret", "let * know", "e-mail", "n'", "dis-le pas",
               "keep * from", "ta mere", "i'm", "go out", "x", "rendez-vous secret"]
    alphabet = ["you", "and", "me", " ", "  ", "-", "'", "parent", "parents", "c", "est", "cest",
                "secret", "let", "know", "e", "mail", "n", "dis", "le", "pas", "keep", "it",
                "from", "ta", "mere", "i", "m", "im", "go", "out", "x", "é", "\n", "rendez", "vous"]
    rng = random.Random(21)
    for phrase in phrases:
        finder, plain = phrase_finder(phrase), compile_words([phrase])
        assert finder is not None and plain is not None
        for _ in range(2_000):
            text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
            low, high = sorted(rng.randint(0, len(text)) for _ in range(2))
            assert ([m.span() for m in finder.finditer(text, low, high)]
                    == [m.span() for m in plain.finditer(text, low, high)]), (phrase, text, low)


def test_the_shipped_slots_phrase_finders_agree_with_their_slot_regex(shipped: RuleSet) -> None:
    # A window is skipped when no finder of the slot's phrases finds anything: that must mean
    # the slot regex finds nothing there either.
    slots = [slot for rule in shipped.rules if isinstance(rule.matcher, SlotsMatcher)
             for slot in rule.matcher.slots if slot.finders is not None]
    assert slots
    rng = random.Random(22)
    for text in _rule_texts(shipped, 23, 400):
        folded = ReadFields(facts_of(text)).reading("text").text
        for slot in slots:
            low, high = sorted(rng.randint(0, len(folded)) for _ in range(2))
            found = any(f.search(folded, low, high) for f in slot.finders or ())
            assert found == any(m.end() > m.start() for m in slot.pattern.finditer(
                folded, low, high)), (slot.name, folded, low, high)


@pytest.mark.parametrize("long", [False, True])
def test_skipping_windows_changes_no_finding(shipped: RuleSet, long: bool,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    texts = _long_texts(shipped, 24, 60) if long else _rule_texts(shipped, 25, 600)
    matchers = [rule.matcher for rule in shipped.rules if isinstance(rule.matcher, SlotsMatcher)]
    facts = [facts_of(text) for text in texts]
    fast = [[m.find(ReadFields(f, shipped.scan)) for m in matchers] for f in facts]
    monkeypatch.setattr(SlotsMatcher, "_may_hold", lambda *args: True)
    plain = [[m.find(ReadFields(f, shipped.scan)) for m in matchers] for f in facts]
    assert fast == plain
    assert any(any(found) for found in fast)  # the texts do hold matches


def test_finders_match_compile_words_on_the_shipped_phrases(shipped: RuleSet) -> None:
    phrases = _shipped_phrases()
    assert len(phrases) > 300
    rng = random.Random(26)
    texts = [ReadFields(facts_of(t)).reading("text").text for t in _rule_texts(shipped, 27, 300)]
    for phrase in phrases:
        finder, plain = phrase_finder(phrase), compile_words([phrase])
        assert plain is not None
        if finder is None:
            continue
        for text in rng.sample(texts, 30):
            low, high = sorted(rng.randint(0, len(text)) for _ in range(2))
            assert ([m.span() for m in finder.finditer(text, low, high)]
                    == [m.span() for m in plain.finditer(text, low, high)]), (phrase, text)


def _plain_word_end(text: str, index: int) -> int:
    while index < len(text) and (text[index].isalnum() or text[index] in "'_"):
        index += 1
    return min(index, len(text))


def test_a_window_ends_where_the_plain_walk_ended() -> None:
    alphabet = [*"ab1_' -.\n", "é", "ß", "٣", "²", "½", "\u00a0", "中", "\U0001f600", "\u0301", "Ⅻ"]
    rng = random.Random(28)
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 10)))
        index = rng.randint(0, len(text) + 3)
        assert _word_end(text, index) == _plain_word_end(text, index), (text, index)
