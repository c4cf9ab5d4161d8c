"""Fold text for case- and accent-insensitive matching without moving any character offset."""

from __future__ import annotations

import re
import unicodedata


def _fold_table() -> dict[int, str]:
    table: dict[int, str] = {}
    # Latin letters with diacritics (Latin-1 Supplement, Latin Extended-A and B) lose them.
    for code in range(0x00C0, 0x0250):
        char = chr(code)
        base = "".join(c for c in unicodedata.normalize("NFD", char)
                       if not unicodedata.combining(c)).lower()
        if len(base) == 1 and base != char:
            table[code] = base
    for code in range(ord("A"), ord("Z") + 1):
        table[code] = chr(code).lower()
    # Typographic apostrophes and dashes become their ASCII forms ("don’t" == "don't").
    for char in "\u2018\u2019\u02bc\u00b4`":
        table[ord(char)] = "'"
    for char in "\u2010\u2011\u2012\u2013\u2014":
        table[ord(char)] = "-"
    table[0x00A0] = " "
    table[0x202F] = " "
    return table


_TABLE = _fold_table()
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def _fold_char(match: re.Match[str]) -> str:
    return match.group().translate(_TABLE)


_ASCII_BYTES = bytes(range(128))
_FEW = 16  # more distinct characters to replace than this: one regex pass is cheaper


def _replace_each(text: str) -> str | None:
    """`text` with the table applied through one str.replace per distinct character to change."""
    utf8 = text.encode("utf-8", "surrogatepass")
    others = set(utf8.translate(None, _ASCII_BYTES).decode("utf-8", "surrogatepass"))
    changes = [(char, _TABLE[ord(char)]) for char in others if ord(char) in _TABLE]
    if len(changes) > _FEW:
        return None
    for char, replacement in changes:
        text = text.replace(char, replacement)
    return text


def fold(text: str) -> str:
    """Lowercase, accent-free ASCII-ish copy of `text` with exactly the same length."""
    if text.isascii():
        return text.lower()
    # Only the (few) non-ASCII characters go through the table: str.translate is slow on long text.
    folded = _replace_each(text)
    if folded is None:
        folded = _NON_ASCII.sub(_fold_char, text)
    # Other scripts: lower() only where it keeps the length, so offsets stay valid.
    lowered = folded.lower()
    return lowered if len(lowered) == len(folded) else folded


def fold_phrase(phrase: str) -> str:
    """Fold a word-list entry (which may change length: it is never used for offsets)."""
    return "".join(c for c in unicodedata.normalize("NFD", fold(phrase))
                   if not unicodedata.combining(c))
