"""Privacy's memo of the last clean text never hides what a fresh Privacy finds."""

from __future__ import annotations

import random

from gateway.mail.privacy import Person, Privacy, _quick_fold

PEOPLE = [Person("jean.tremblay@example.com", "a1@gw.example", "Jean Tremblay", "Jean"),
          Person("zoe@family.example", "b2@gw.example", "Zoé Côté-Lévesque", "Zoé")]
PIECES = ["Bonjour ", "tremblay", "TREMBLAY", "Trem", "blay", "Tre\u200bmblay", "ＴＲＥＭＢＬＡＹ",
          "côté", "Cote", "LÉVESQUE", "levesque", "example.com", "EXAMPLE.", "com", "@", "%40",
          "jean.tremblay", "zoe@family.example", "family", "İ", "ı", "Σ", "ß", "\u00a0", "\udce9",
          "é", "\n", " ", "x" * 300, "ﬁ", "\U0001d400"]


CLEAN = [p for p in PIECES if not Privacy(PEOPLE, ["family.example"]).may_contain(p)]


def _text(pick: random.Random, pieces: list[str] = PIECES) -> str:
    return "".join(pick.choice(pieces) for _ in range(pick.randrange(0, 40)))


def test_the_fold_is_made_character_by_character() -> None:
    pick = random.Random(4)
    for _ in range(3000):
        text = _text(pick)
        cut = pick.randrange(len(text) + 1)
        assert _quick_fold(text) == _quick_fold(text[:cut]) + _quick_fold(text[cut:])


def test_a_piece_of_a_clean_text_reads_as_a_fresh_privacy_reads_it() -> None:
    pick = random.Random(8)
    memo = Privacy(PEOPLE, ["family.example"])
    skipped = 0
    for _ in range(4000):
        whole = _text(pick, CLEAN if pick.random() < 0.5 else PIECES)
        memo.may_contain(whole)
        start = pick.randrange(len(whole) + 1)
        for piece in (whole[start:start + pick.randrange(0, 2000)], whole.strip(), whole,
                      _text(pick)):
            fresh = Privacy(PEOPLE, ["family.example"])
            assert memo.found(piece) == fresh.found(piece), piece
            assert memo.subn(piece) == fresh.subn(piece), piece
            skipped += len(piece) > 256 and piece in memo._clean
    assert skipped > 500
