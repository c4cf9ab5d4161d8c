"""The set of words of a folded text: a cheap test of whether a detector can match at all."""

from __future__ import annotations

import re

# ASCII letters (lowercased), digits and "_" stay; every other byte, including the "?" that
# stands for a non-ASCII character, becomes a space. Splitting on those spaces gives the words.
_WORD_BYTES = bytes(
    code + 32 if 65 <= code <= 90
    else code if 97 <= code <= 122 or 48 <= code <= 57 or code == 95
    else 32
    for code in range(256))
_NOT_LETTERS = re.compile(r"[0-9_]+")


def words_of(folded: str) -> frozenset[str]:
    """Every maximal run of ASCII word characters (letters lowercased, digits, "_") in `folded`.

    A word that a pattern matches whole, bounded by non-word characters (or by the ends), is in
    this set, so a word missing from it cannot match there. The converse does not hold (a
    non-ASCII character splits words here, not in a regex), which only costs a wasted search.
    Bytes are used because str.translate is slow on long texts.
    """
    text = folded.encode("ascii", "replace").translate(_WORD_BYTES).decode("ascii")
    return frozenset(text.split())


def letter_words(words: frozenset[str]) -> frozenset[str]:
    """The same, split further at digits and "_": words bounded by any non-letter ("un5")."""
    mixed = [word for word in words if not word.isalpha()]
    if not mixed:
        return words
    return words | {piece for word in mixed for piece in _NOT_LETTERS.split(word) if piece}
