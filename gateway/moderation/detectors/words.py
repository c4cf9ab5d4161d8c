"""Match word lists: whole words and phrases, case- and accent-insensitive, compiled to one trie."""

from __future__ import annotations

import re
from collections.abc import Iterable

from gateway.moderation.detectors import Finding
from gateway.moderation.detectors.fold import fold_phrase

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


def find_words(pattern: re.Pattern[str], field: str, text: str, folded: str) -> list[Finding]:
    return [Finding(field, m.start(), m.end(), text[m.start():m.end()])
            for m in pattern.finditer(folded)]
