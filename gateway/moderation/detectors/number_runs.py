"""Where runs of number pieces may be: the few stretches of a text the phone detector must read.

The phone detector reads a text as runs of pieces (digit groups, spelled-out digits) joined by
separators, and judges each run of eight or more characters within a window of context around it
(24 characters each side, where dates, prices and times are blanked first). Doing that over a
whole text costs a regex try at every position. This module finds, at C speed, the stretches
that can matter, so that the detector reads only those and finds exactly what a whole-text read
would find:
- a *chain* is eight or more pieces' characters (a digit, an "o", a spelled-out digit occurring
  in the text) with only separators between: every run with eight digits lies in one;
- a run's window can only yield a number from a chain's pieces, so only the runs within one
  context of a chain are read, from a safe start to a safe end (after a character or a word
  that no run can contain, so that no run is cut and every look-around sees what it saw before).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator

SEPARATORS = r"[ \t.\-_()/,\r\n>]"  # the characters a gap between two pieces is made of
# What no run contains: a word that is not a spelled-out digit, or one character that is neither
# a letter, an ASCII digit nor a separator. (Words of "o" only may be zeros: "5o4".)
_BREAK = re.compile(r"[^\W\d_]+|[^\w \t.\-()/,\r\n>]|[^\W0-9a-zA-Z_]")
_LETTER = re.compile(r"[^\W\d_]")
_LOOK_BACK = 32  # first guess of how far back a safe start is; grows when needed

# Eight digits as an ISO date, a school year or a dd/mm/yyyy date, alone between non-word
# characters: the look-alike blanking always takes digits from them, so no run of eight is left.
_LOOKALIKE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}|(?:19|20)[0-9]{2} ?[-/] ?(?:19|20)[0-9]{2}"
                        r"|[0-9]{2}[/.][0-9]{2}[/.][0-9]{4}")


@functools.lru_cache(maxsize=64)
def chain_pattern(spoken: tuple[str, ...]) -> re.Pattern[str]:
    """Eight pieces' characters or more; `spoken` are the spelled-out digits to count as one.

    Every alternative starts with a literal, so re skips ordinary text at C speed; the longest
    come first ("une" before "un") so that a chain follows a run to its very end."""
    element = "|".join([*sorted(spoken, key=len, reverse=True), *"0123456789o"])
    return re.compile(rf"(?:{element})(?:{SEPARATORS}*(?:{element})){{7,}}")


@functools.lru_cache(maxsize=64)
def _chain_bytes(spoken: tuple[str, ...]) -> tuple[bytes, bytes]:
    """Translation tables: "1" for the characters a chain may hold, and "1" for those of them
    a piece may hold (not a separator); "0" for the others."""
    pieces = set("0123456789o") | {char for word in spoken for char in word}
    allowed = pieces | set(" \t.-_()/,\r\n>")
    return (bytes(49 if chr(code) in allowed else 48 for code in range(256)),
            bytes(49 if chr(code) in pieces else 48 for code in range(256)))


_EIGHT = b"1" * 8  # a chain has eight pieces or more, each one character or more


def _chains(folded: str, pattern: re.Pattern[str], spoken: tuple[str, ...]) -> Iterator[re.Match[str]]:
    """What pattern.finditer(folded) yields, searched only in the stretches a chain may hold:
    no other character, eight pieces' characters or more (found and counted at C speed). In
    text full of prices and dates, re would try every digit and backtrack through each run.
    A chain never crosses another character, so each stretch is read alone."""
    allowed, pieces = _chain_bytes(spoken)
    ascii_text = folded.encode("ascii", "replace")  # one byte per character: same offsets
    marks = ascii_text.translate(allowed)
    in_pieces = ascii_text.translate(pieces)
    start = marks.find(_EIGHT)
    while start >= 0:
        end = marks.find(b"0", start)
        end = len(marks) if end < 0 else end
        if in_pieces.count(b"1", start, end) >= 8:
            yield from pattern.finditer(folded, start, end)
        start = marks.find(_EIGHT, end)


def _is_word_char(text: str, index: int) -> bool:
    return 0 <= index < len(text) and (text[index].isalnum() or text[index] == "_")


def _is_letter(text: str, index: int) -> bool:
    return 0 <= index < len(text) and bool(_LETTER.match(text, index))


def _lone_lookalike(folded: str, start: int, end: int) -> bool:
    if not _LOOKALIKE.fullmatch(folded, start, end):
        return False
    after_dot_or_slash = start > 0 and folded[start - 1] in "./"
    return not (_is_word_char(folded, start - 1) or _is_word_char(folded, end) or after_dot_or_slash)


def _is_break(folded: str, match: re.Match[str], spoken: frozenset[str]) -> bool:
    word = match.group()
    if not _is_letter(folded, match.start()):
        return True
    whole = not _is_letter(folded, match.start() - 1) and not _is_letter(folded, match.end())
    return whole and word not in spoken and word.strip("o") != ""


def _safe_start(folded: str, before: int, spoken: frozenset[str]) -> int:
    """A position at or before `before` that no run crosses (0 when there is none)."""
    look_back = _LOOK_BACK
    while True:
        low = max(0, before - look_back)
        for match in reversed(list(_BREAK.finditer(folded, low, before))):
            if _is_break(folded, match, spoken):
                return match.end()
        if low == 0:
            return 0
        look_back *= 4


def _safe_end(folded: str, after: int, spoken: frozenset[str]) -> int:
    """A position at or after `after` that no run crosses (the text's length when there is none)."""
    for match in _BREAK.finditer(folded, after):
        if _is_break(folded, match, spoken):
            return match.end()
    return len(folded)


def stretches(folded: str, spoken: frozenset[str], context: int) -> list[tuple[int, int]]:
    """Disjoint (start, end) stretches holding every run whose window can yield a number.

    `spoken` are the spelled-out digits that occur as words in `folded`."""
    pattern = chain_pattern(tuple(sorted(spoken)))
    found: list[tuple[int, int]] = []
    for chain in _chains(folded, pattern, tuple(sorted(spoken))):
        start, end = chain.span()
        if (_lone_lookalike(folded, start, end)
                and not pattern.search(folded, max(0, start - context), start)
                and not pattern.search(folded, end, end + context)):
            continue
        if found and start - context < found[-1][1]:
            found[-1] = (found[-1][0], _safe_end(folded, end + context, spoken))
            continue
        safe_start = _safe_start(folded, max(0, start - context), spoken)
        found.append((max(safe_start, found[-1][1] if found else 0),
                      _safe_end(folded, end + context, spoken)))
    return found
