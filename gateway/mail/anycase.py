"""Whether a text holds a word in any case, exactly as an IGNORECASE regex search says, faster."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable


@functools.lru_cache(maxsize=16)
def word_test(word: str) -> Callable[[str], bool]:
    """A test equal to `re.search(re.escape(word), text, re.IGNORECASE) is not None`.

    The regex compares every character case-insensitively (~6 µs a KB). For an ASCII word, a
    text without any of the few non-ASCII characters that match one of its letters (the dotless
    "ı" an "i", the long "ſ" an "s", the Kelvin sign a "k"...) can only match in ASCII, which a
    lowercased bytes search tells at C speed; a text that has one of them gets the regex."""
    search = re.compile(re.escape(word), re.IGNORECASE).search
    if not word.isascii():
        return lambda text: search(text) is not None
    needle = word.lower().encode("ascii")
    others = tuple(non_ascii_matches(word))

    def holds(text: str) -> bool:
        if others and not text.isascii() and any(char in text for char in others):
            return search(text) is not None
        return needle in _as_bytes(text).lower()

    return holds


def _as_bytes(text: str) -> bytes:
    """The text's bytes, its ASCII characters as themselves and no other byte below 128."""
    try:
        return text.encode("latin-1")  # a copy for most texts in French or English
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


@functools.lru_cache(maxsize=16)
def non_ascii_matches(word: str) -> frozenset[str]:
    """Every non-ASCII character an IGNORECASE regex matches to one of the word's characters.

    Only the Basic Multilingual Plane is searched (a test checks that no character beyond it
    matches an ASCII character); the regex engine itself says which match, so this stays true
    whatever case tables the running Python has."""
    plane = "".join(map(chr, range(0x80, 0x10000)))
    chars = sorted(set(word))
    # One scan with a class of the word's characters (it matches what each of them matches, a
    # test checks it), then each candidate checked against the characters one by one.
    candidates = set(re.findall("[" + "".join(map(re.escape, chars)) + "]", plane, re.IGNORECASE))
    return frozenset(found for found in candidates
                     if any(re.fullmatch(re.escape(char), found, re.IGNORECASE) for char in chars))
