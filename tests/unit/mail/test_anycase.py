"""anycase.word_test says exactly what the IGNORECASE regex search it replaces says."""

from __future__ import annotations

import random
import re
import string

from gateway.mail.anycase import non_ascii_matches, word_test

WORDS = ["unsubscribe", "Kilo", "a.b-c", "x", "ésa"]


def test_no_character_beyond_the_first_plane_matches_an_ascii_one() -> None:
    beyond = "".join(map(chr, range(0x10000, 0x110000)))
    for char in string.printable:
        assert re.findall(re.escape(char), beyond, re.IGNORECASE) == [], repr(char)


def test_a_class_of_characters_matches_what_each_of_them_matches() -> None:
    plane = "".join(map(chr, range(0x80, 0x10000)))
    for char in string.printable:
        alone = set(re.findall(re.escape(char), plane, re.IGNORECASE))
        assert set(re.findall(f"[{re.escape(char)}]", plane, re.IGNORECASE)) == alone
        assert non_ascii_matches(char) == alone


def test_the_known_non_ascii_matches_are_found() -> None:
    assert {"\u0131", "\u0130", "\u017f"} <= non_ascii_matches("unsubscribe")
    assert "\u212a" in non_ascii_matches("k")


def test_equal_to_the_regex_on_random_texts() -> None:
    pick = random.Random(17)
    extras = ["\u0131", "\u0130", "\u017f", "\u212a", "\u212b", "é", "É", "ß", "\u00b5", "\udce9",
              "\U0001d400", "\u00a0", "\u200b", "ﬁ", "Ｕ", " ", "\n", ".", "-"]
    for word in WORDS:
        regex = re.compile(re.escape(word), re.IGNORECASE)
        fast = word_test(word)
        letters = list(word) + [c.upper() for c in word] + extras
        hits = 0
        for _ in range(4000):
            text = "".join(pick.choice(letters) for _ in range(pick.randrange(0, 30)))
            if pick.random() < 0.3:
                text += word.upper() if pick.random() < 0.5 else word
            expected = regex.search(text) is not None
            assert fast(text) == expected, (word, text)
            hits += expected
        assert hits > 1000


def test_each_non_ascii_match_alone_is_found() -> None:
    for word in WORDS:
        regex = re.compile(re.escape(word), re.IGNORECASE)
        fast = word_test(word)
        for other in non_ascii_matches(word):
            for at in range(len(word)):
                text = f"ab {word[:at]}{other}{word[at + 1:]} cd"
                assert fast(text) == (regex.search(text) is not None), (word, text)
