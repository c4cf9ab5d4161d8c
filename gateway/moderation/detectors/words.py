"""Match word lists: whole words and phrases, case- and accent-insensitive, compiled to one trie."""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from gateway.moderation.detectors import Finding
from gateway.moderation.detectors.fold import fold_phrase
from gateway.moderation.detectors.language import ENGLISH, FRENCH

# Atoms a phrase is made of: a space stands for any run of spaces, hyphens or line breaks,
# an apostrophe may be typed as a space or left out ("l'ecole", "l ecole", "lecole"),
# and a trailing "*" lets the word go on ("insult*" matches "insulte", "insulter").
_SPACE, _APOSTROPHE, _ANY_ENDING = "\x00s", "\x00a", "\x00w"
_ATOM_PATTERNS = {_SPACE: r"[\s\-]+", _APOSTROPHE: r"['\s]?", _ANY_ENDING: r"\w*"}


def parse_word_list(text: str) -> list[str]:
    """One word or phrase per line; blank lines and `#` comments are skipped."""
    entries = []
    for line in text.splitlines():
        entry = line.split("#", 1)[0].strip()
        if entry:
            entries.append(entry)
    return entries


def _atoms(phrase: str) -> list[str]:
    atoms: list[str] = []
    for word_index, word in enumerate(fold_phrase(phrase).split()):
        if word_index:
            atoms.append(_SPACE)
        ending = word.endswith("*")
        for char in word.rstrip("*"):
            atoms.append(_APOSTROPHE if char == "'" else char)
        if ending:
            atoms.append(_ANY_ENDING)
    return atoms


def _trie_pattern(node: dict[str, dict]) -> str:  # type: ignore[type-arg]
    end = "" in node
    branches = [(_ATOM_PATTERNS.get(atom) or re.escape(atom)) + _trie_pattern(child)
                for atom, child in sorted(node.items()) if atom]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 and not end else f"(?:{'|'.join(branches)})"
    return body + "?" if end else body


def compile_words(phrases: Iterable[str]) -> re.Pattern[str] | None:
    """One regex for all phrases, run on folded text; None when the list is empty."""
    trie: dict[str, dict] = {}  # type: ignore[type-arg]
    for phrase in phrases:
        atoms = _atoms(phrase)
        if not atoms:
            continue
        node = trie
        for atom in atoms:
            node = node.setdefault(atom, {})
        node[""] = {}
    if not trie:
        return None
    return re.compile(rf"(?<!\w)(?:{_trie_pattern(trie)})(?!\w)")


def phrase_finder(phrase: str) -> re.Pattern[str] | None:
    """The phrase's own pattern (as compile_words gives it for the phrase alone) written to
    begin with its first literal characters, which re then finds with a substring search
    instead of trying the pattern at every position (~1 ns a character, not ~20): "you and me"
    begins with "you", then a look-behind of four characters says that no word character stands
    before it, as the leading one did. None when the phrase does not begin with a literal."""
    atoms = _atoms(phrase)
    first = next((i for i, atom in enumerate(atoms) if atom in _ATOM_PATTERNS), len(atoms))
    if not first:
        return None
    rest = "".join(_ATOM_PATTERNS.get(atom) or re.escape(atom) for atom in atoms[first:])
    return re.compile(rf"{re.escape(''.join(atoms[:first]))}(?<!\w[\s\S]{{{first}}}){rest}(?!\w)")


def phrase_lead(phrase: str) -> int:
    """How many literal characters the phrase's fast pattern (phrase_finder) begins with: the
    longer, the fewer places re tries the rest of it ("n'" is tried at every "n")."""
    atoms = _atoms(phrase)
    return next((i for i, atom in enumerate(atoms) if atom in _ATOM_PATTERNS), len(atoms))


def _chunk_needs(chunk: list[str]) -> tuple[list[str], list[str]]:
    if _APOSTROPHE in chunk:  # "c'est" may be typed "cest": no whole word is certain
        return [], []
    if _ANY_ENDING in chunk:  # "insult*": the stem is certain, as a substring
        return [], ["".join(chunk[:chunk.index(_ANY_ENDING)])]
    # Literal characters only: each ASCII piece between non-word characters is a whole word.
    pieces = re.split(r"\W+", "".join(chunk))
    return [p for p in pieces if p and p.isascii()], []


def phrase_words(phrase: str) -> frozenset[str]:
    """The whole words every match of `phrase` has (the cheap test of WordGate, per phrase)."""
    return _phrase_needs(phrase)[0]


def phrase_needles(phrase: str) -> tuple[str, ...]:
    """Strings that (nearly) every match of `phrase` contains: its words ("dis*" gives "dis"),
    the one-letter ones left out when longer exist. An apostrophe is kept ("i'm"): the reading
    restores it in the usual spellings ("im"), so only a rare "i m" can lack it (see slots)."""
    runs: list[str] = []
    run = ""
    for atom in [*_atoms(phrase), _SPACE]:
        if atom in (_SPACE, _ANY_ENDING):
            if run:
                runs.append(run)
            run = ""
        else:
            run += "'" if atom == _APOSTROPHE else atom
    longer = [r for r in runs if len(r) > 1]
    return tuple(dict.fromkeys(longer or runs))


def phrase_marks(phrase: str) -> tuple[frozenset[str], frozenset[str]]:
    """Besides its whole words (phrase_words), what every match of `phrase` holds, exactly:
    the stems of its "word*" that begin a word ("rencontr" of "rencontr*") and, for a word
    with an apostrophe, its longest literal run, found as a substring ("attendre" of
    "t'attendre": "t'attendre", "t attendre" and "tattendre" all hold it). Runs shorter than
    three characters are left out: nearly every text has them."""
    starts: set[str] = set()
    substrings: set[str] = set()
    chunks: list[list[str]] = [[]]
    for atom in _atoms(phrase):
        if atom == _SPACE:
            chunks.append([])
        else:
            chunks[-1].append(atom)
    for chunk in chunks:
        if _APOSTROPHE in chunk:
            runs = "".join(" " if atom in _ATOM_PATTERNS else atom for atom in chunk).split()
            longest = max(runs, key=len, default="")
            if len(longest) > 2:
                substrings.add(longest)
        elif _ANY_ENDING in chunk:
            stem = "".join(chunk[:chunk.index(_ANY_ENDING)])
            if _WORD_CHARS.fullmatch(stem):
                starts.add(stem)
            elif len(stem) > 2:
                substrings.add(stem)
    return frozenset(starts), frozenset(substrings)


def _phrase_needs(phrase: str) -> tuple[frozenset[str], tuple[str, ...]]:
    words: list[str] = []
    substrings: list[str] = []
    chunk: list[str] = []
    for atom in [*_atoms(phrase), _SPACE]:
        if atom != _SPACE:
            chunk.append(atom)
            continue
        chunk_words, chunk_substrings = _chunk_needs(chunk)
        words += chunk_words
        substrings += [s for s in chunk_substrings if s]
        chunk = []
    return frozenset(words), tuple(substrings)


_COMMON = FRENCH | ENGLISH  # the function words nearly every message has


def rarest(needs: frozenset[str]) -> str:
    """The need least likely to occur in a message: not a function word, then the longest
    (any choice is exact: a phrase whose key is absent lacks one of its needs)."""
    return min(needs, key=lambda need: (need in _COMMON, -len(need), need))


@dataclass(frozen=True)
class WordGate:
    """A cheap test run before the list's regex: can any phrase of the list match this text?"""

    needs: tuple[tuple[frozenset[str], tuple[str, ...]], ...]

    @functools.cached_property
    def _index(self) -> tuple[list[_Stems], dict[str, list[tuple[frozenset[str], _Stems]]],
                              frozenset[str]]:
        """The substrings of the needs without words, and the needs with words, each filed under
        its rarest word: a text's words then point at the few needs worth testing (a list may
        have hundreds; filed under every word, "you" pointed at most). Each substring comes with
        whether it is made of word characters (looked up, not searched). Last, the keys as a
        frozenset: intersected with the text's words, C walks the smaller set."""
        def stems(substrings: tuple[str, ...]) -> _Stems:
            return tuple((s, bool(_WORD_CHARS.fullmatch(s))) for s in substrings)

        wordless = [stems(substrings) for need, substrings in self.needs if not need]
        by_word: dict[str, list[tuple[frozenset[str], _Stems]]] = {}
        for need, substrings in self.needs:
            if need:
                by_word.setdefault(rarest(need), []).append((need, stems(substrings)))
        return wordless, by_word, frozenset(by_word)

    def may_match(self, words: frozenset[str], folded: str,
                  sorted_words: list[str] | None = None) -> bool:
        """`words` is `words_of(folded)`: the whole words of the text; `sorted_words` the same,
        sorted, lets a stem ("insult*") be looked up as a word prefix instead of searched.
        True when some need has all its words in `words` and all its substrings in the text."""
        wordless, by_word, indexed = self._index
        for stems in wordless:
            if _has_all(stems, folded, sorted_words):
                return True
        for word in indexed & words:
            for need, stems in by_word[word]:
                if need <= words and _has_all(stems, folded, sorted_words):
                    return True
        return False


_WORD_CHARS = re.compile(r"[a-z0-9_]+")
_Stems = tuple[tuple[str, bool], ...]


def _has_all(stems: _Stems, folded: str, sorted_words: list[str] | None) -> bool:
    """_has of every stem, its word-character test made once (at the gate's first use)."""
    for stem, is_word in stems:
        if sorted_words is None or not is_word:
            if stem not in folded:
                return False
            continue
        at = bisect.bisect_left(sorted_words, stem)
        if at == len(sorted_words) or not sorted_words[at].startswith(stem):
            return False
    return True


def word_gate(phrases: Iterable[str]) -> WordGate:
    """The needs of every phrase (a phrase needing nothing makes the gate always open)."""
    return WordGate(tuple(dict.fromkeys(_phrase_needs(p) for p in phrases if _atoms(p))))


def find_words(pattern: re.Pattern[str], field: str, text: str, folded: str) -> list[Finding]:
    return [Finding(field, m.start(), m.end(), text[m.start():m.end()])
            for m in pattern.finditer(folded)]
