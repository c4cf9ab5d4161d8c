"""Build the `words` and `slots` matchers of a rule file: word lists, languages, exceptions."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from gateway.moderation.detectors.matchers import Matcher, WordList, WordsMatcher
from gateway.moderation.detectors.slots import (
    NEEDLE_PREFIX,
    REGEX_PREFIX,
    Slot,
    SlotsMatcher,
    compile_slot,
)
from gateway.moderation.detectors.words import compile_words, parse_word_list, word_gate
from gateway.moderation.rule_problems import Problems, string_list

WORDLIST_FOLDER = "wordlists"
LANGUAGES = ("fr", "en")
DEFAULT_WINDOW = 80
_LIST_PREFIX = "@"  # in a slot, "@name" includes wordlists/name.txt


def read_lists(names: list[str], key: str, problems: Problems, folder: Path) -> list[str]:
    phrases: list[str] = []
    for name in names:
        path = folder / WORDLIST_FOLDER / f"{name}.txt"
        try:
            phrases += parse_word_list(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as error:
            problems.add(key, f"word list {name!r} cannot be read ({path}): "
                         f"{getattr(error, 'strerror', None) or error}")
    return phrases


def _word_list(phrases: list[str], language: str = "") -> WordList | None:
    pattern = compile_words(phrases)
    return WordList(pattern, word_gate(phrases), language) if pattern is not None else None


def words_matcher(data: dict[str, Any], problems: Problems, folder: Path,
                  fields: tuple[str, ...]) -> Matcher | None:
    phrases = list(string_list(data, "words", problems))
    names = string_list(data, "lists", problems)
    phrases += read_lists(names, "match.lists", problems, folder)
    by_language = data.get("language_lists", {})
    lists = [_word_list(phrases)]
    if not isinstance(by_language, dict):
        problems.add("match.language_lists", "must be a table such as { fr = [\"x.fr\"] }")
        by_language = {}
    for language, names in by_language.items():
        key = f"match.language_lists.{language}"
        if language not in LANGUAGES:
            problems.add(key, f"unknown language {language!r} (choose among "
                         f"{', '.join(LANGUAGES)})")
            continue
        names = string_list(by_language, language, problems, "match.language_lists.")
        lists.append(_word_list(read_lists(names, key, problems, folder), language))
    if not any(lists) and not names and not by_language:
        problems.add("match.lists", "give word lists (`lists`, `language_lists`) or `words`")
    exceptions = list(string_list(data, "exceptions", problems))
    exceptions += read_lists(string_list(data, "exception_lists", problems),
                             "match.exception_lists", problems, folder)
    return WordsMatcher(tuple(w for w in lists if w is not None), fields,
                        compile_words(exceptions))


def _slot_entries(name: str, value: Any, problems: Problems, folder: Path) -> list[str]:
    key = f"match.slots.{name}"
    if not isinstance(value, list) or not value or not all(
            isinstance(v, str) and v.strip() for v in value):
        problems.add(key, "must be a non-empty list of phrases, `re:` patterns or `@list` names")
        return []
    entries: list[str] = []
    for entry in value:
        if entry.startswith(_LIST_PREFIX):
            entries += read_lists([entry[1:]], key, problems, folder)
        else:
            entries.append(entry)
    if not [e for e in entries if not e.startswith(NEEDLE_PREFIX)]:
        problems.add(key, "`needle:` entries only say what the slot's `re:` entries contain; "
                     "the slot needs phrases or `re:` entries too")
    for entry in entries:
        if entry.startswith(REGEX_PREFIX):
            try:
                re.compile(entry[len(REGEX_PREFIX):])
            except re.error as error:
                problems.add(key, f"bad regular expression {entry!r}: {error}")
    return entries


def _combos(data: dict[str, Any], names: list[str], problems: Problems) -> list[tuple[int, ...]]:
    require = data.get("require")
    if not isinstance(require, list) or not require or not all(
            isinstance(c, list) and c and all(isinstance(n, str) for n in c) for c in require):
        problems.add("match.require", 'must be a list of slot-name lists, e.g. [["ask", "who"]]')
        return []
    combos = []
    for combo in require:
        unknown = [n for n in combo if n not in names]
        if unknown:
            problems.add("match.require", f"unknown slots {unknown} (defined: {', '.join(names)})")
            continue
        combos.append(tuple(names.index(n) for n in combo))
    return combos


def slots_matcher(data: dict[str, Any], problems: Problems, folder: Path,
                  fields: tuple[str, ...]) -> Matcher | None:
    table = data.get("slots")
    if not isinstance(table, dict) or not table:
        problems.add("match.slots", "a [match.slots] table of named phrase lists is required")
        return None
    slots: list[Slot] = []
    for name, value in table.items():
        entries = _slot_entries(name, value, problems, folder)
        if entries and not problems.messages:
            slots.append(compile_slot(name, entries))
    window = data.get("window", DEFAULT_WINDOW)
    if isinstance(window, bool) or not isinstance(window, int) or not 0 < window <= 1000:
        problems.add("match.window", f"must be a number of characters from 1 to 1000, not {window!r}")
    combos = _combos(data, list(table), problems)
    unless = compile_words(string_list(data, "unless", problems))
    names = list(table)
    evidence = string_list(data, "evidence", problems)
    if [n for n in evidence if n not in names]:
        problems.add("match.evidence", f"unknown slots {[n for n in evidence if n not in names]} "
                     f"(defined: {', '.join(names)})")
    if problems.messages:
        return None
    return SlotsMatcher(tuple(slots), tuple(combos), window, unless, fields,
                        frozenset(names.index(n) for n in evidence))
