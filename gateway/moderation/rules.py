"""Load and validate the rule folder (`relay_rules/*.toml`), failing closed on any problem."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.errors import GatewayError
from gateway.moderation.detectors.attachments import UNREADABLE_KINDS, UnreadableMatcher
from gateway.moderation.detectors.fields import HEADER_PREFIX, TEXT_FIELDS
from gateway.moderation.detectors.links import compile_domains, compile_hint
from gateway.moderation.detectors.matchers import (
    DEFAULT_FIELDS,
    PII_DETECTORS,
    AnyMatcher,
    AttachmentMatcher,
    LinksMatcher,
    Matcher,
    PiiMatcher,
    RegexMatcher,
    SizeMatcher,
    WordsMatcher,
)
from gateway.moderation.detectors.words import compile_words, parse_word_list, word_gate
from gateway.moderation.facts import MessageFacts

ACTIONS = ("flag", "hold", "reject")
DIRECTIONS = ("mentor_to_mentee", "mentee_to_mentor", "both")
KINDS = ("regex", "words", "links", "pii", "attachment", "size", "any", "unreadable")
_STRING_KEYS = ("description", "reason_fr", "reason_en")
_BOOL_KEYS = ("enabled", "when_minor", "first_message")
TOP_KEYS = frozenset({"action", "direction", "match", *_STRING_KEYS, *_BOOL_KEYS})
MATCH_KEYS = {
    "regex": {"fields", "pattern", "flags"},
    "words": {"fields", "lists", "words"},
    "links": {"fields", "domains"},
    "pii": {"fields", "detectors"},
    "attachment": {"content_types", "extensions", "max_bytes"},
    "size": {"max_bytes"},
    "any": set(),
    "unreadable": {"parts"},
}
REGEX_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}
WORDLIST_FOLDER = "wordlists"


class RuleError(GatewayError):
    """A rule file is invalid; the message names the file, the key and the line."""


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    action: str
    reason_fr: str
    reason_en: str
    enabled: bool
    direction: str  # mentor_to_mentee | mentee_to_mentor | both
    when_minor: bool  # only when the sender or the recipient is a minor
    first_message: bool  # only on the first message of a pair
    matcher: Matcher

    def applies_to(self, facts: MessageFacts) -> bool:
        if not self.enabled:
            return False
        if self.direction != "both" and self.direction != facts.direction:
            return False
        if self.when_minor and not facts.involves_minor:
            return False
        return not (self.first_message and not facts.first_message)


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]


def line_of(source: str, key: str) -> int:
    """The 1-based line where `key` ("action", "match.pattern", "match") is set in a TOML text."""
    table, _, name = key.rpartition(".")
    current = ""
    table_line = 0
    for number, line in enumerate(source.splitlines(), start=1):
        header = re.match(r"\s*\[\s*([^\]]+?)\s*\]", line)
        if header:
            current = header.group(1).strip("\"'")
            if current == (table or name):
                table_line = number
            continue
        assignment = re.match(r"\s*([\w.\"'-]+)\s*=", line)
        if not assignment:
            continue
        target = assignment.group(1).replace('"', "").replace("'", "")
        if (current == table and target == name) or (not current and target == key):
            return number
    return table_line or 1


class _Problems:
    def __init__(self, path: Path, source: str) -> None:
        self.path, self.source = path, source
        self.messages: list[str] = []

    def add(self, key: str, what: str, line: int | None = None) -> None:
        where = line if line is not None else line_of(self.source, key)
        self.messages.append(f"{self.path}: key '{key}' (line {where}): {what}")


def _string_list(data: dict[str, Any], key: str, problems: _Problems) -> list[str]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        problems.add(f"match.{key}", "must be a list of non-empty strings")
        return []
    return value


def _positive_int(data: dict[str, Any], key: str, problems: _Problems) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        problems.add(f"match.{key}", f"must be a positive whole number of bytes, not {value!r}")
        return None
    return value


def _fields(data: dict[str, Any], problems: _Problems) -> tuple[str, ...]:
    if "fields" not in data:
        return DEFAULT_FIELDS
    fields = _string_list(data, "fields", problems)
    for field in fields:
        header = field.startswith(HEADER_PREFIX) and field[len(HEADER_PREFIX):].strip()
        if field not in TEXT_FIELDS and not header:
            problems.add("match.fields", f"unknown field {field!r} (use subject, text, "
                         "attachment_names or header:<Name>)")
    if "fields" in data and not fields:
        problems.add("match.fields", "must name at least one field")
    return tuple(fields)


def _regex(data: dict[str, Any], problems: _Problems) -> Matcher | None:
    pattern, flags = data.get("pattern"), data.get("flags", "")
    if not isinstance(pattern, str) or not pattern:
        problems.add("match.pattern", "a non-empty string is required")
        return None
    if not isinstance(flags, str) or set(flags) - set(REGEX_FLAGS):
        problems.add("match.flags", f"flags must be letters among {''.join(REGEX_FLAGS)!r}")
        flags = ""
    compiled_flags = 0
    for letter in flags:
        compiled_flags |= REGEX_FLAGS[letter]
    try:
        compiled = re.compile(pattern, compiled_flags)
    except re.error as error:
        problems.add("match.pattern", f"bad regular expression: {error}")
        return None
    return RegexMatcher(compiled, _fields(data, problems))


def _words(data: dict[str, Any], problems: _Problems, folder: Path) -> Matcher | None:
    phrases = list(_string_list(data, "words", problems))
    lists = _string_list(data, "lists", problems)
    if not lists and not phrases:
        problems.add("match.lists", "give word lists (`lists`) or words (`words`)")
    for name in lists:
        path = folder / WORDLIST_FOLDER / f"{name}.txt"
        try:
            phrases += parse_word_list(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as error:
            problems.add("match.lists", f"word list {name!r} cannot be read ({path}): "
                         f"{getattr(error, 'strerror', None) or error}")
    return WordsMatcher(compile_words(phrases), _fields(data, problems), word_gate(phrases))


def _links(data: dict[str, Any], problems: _Problems) -> Matcher | None:
    domains = tuple(d.strip(". ").lower() for d in _string_list(data, "domains", problems))
    if not domains:
        problems.add("match.domains", "a non-empty list of domains is required")
        return None
    return LinksMatcher(domains, compile_domains(domains), _fields(data, problems),
                        compile_hint(domains))


def _pii(data: dict[str, Any], problems: _Problems) -> Matcher | None:
    detectors = _string_list(data, "detectors", problems)
    unknown = [d for d in detectors if d not in PII_DETECTORS]
    if unknown or not detectors:
        problems.add("match.detectors", f"unknown or missing detectors {unknown} "
                     f"(choose among {', '.join(PII_DETECTORS)})")
        return None
    return PiiMatcher(tuple(dict.fromkeys(detectors)), _fields(data, problems))


def _attachment(data: dict[str, Any], problems: _Problems) -> Matcher | None:
    types = frozenset(t.lower() for t in _string_list(data, "content_types", problems))
    extensions = frozenset("." + e.lower().lstrip(".")
                           for e in _string_list(data, "extensions", problems))
    max_bytes = _positive_int(data, "max_bytes", problems)
    if not types and not extensions and max_bytes is None:
        problems.add("match", "an attachment rule needs content_types, extensions or max_bytes")
        return None
    return AttachmentMatcher(types, extensions, max_bytes)


def _size(data: dict[str, Any], problems: _Problems) -> Matcher | None:
    max_bytes = _positive_int(data, "max_bytes", problems)
    if max_bytes is None:
        problems.add("match.max_bytes", "a size rule needs max_bytes")
        return None
    return SizeMatcher(max_bytes)


def _matcher(data: Any, problems: _Problems, folder: Path) -> Matcher | None:
    if not isinstance(data, dict):
        problems.add("match", "a [match] table is required")
        return None
    kind = data.get("kind")
    if kind not in KINDS:
        problems.add("match.kind", f"unknown kind {kind!r} (choose among {', '.join(KINDS)})")
        return None
    for key in sorted(set(data) - MATCH_KEYS[kind] - {"kind"}):
        problems.add(f"match.{key}", f"unknown key for kind {kind!r}")
    builders = {"regex": _regex, "links": _links, "pii": _pii, "attachment": _attachment,
                "size": _size}
    if kind == "any":
        return AnyMatcher()
    if kind == "unreadable":
        parts = data.get("parts", list(UNREADABLE_KINDS))
        if not isinstance(parts, list) or not parts or set(parts) - set(UNREADABLE_KINDS):
            problems.add("match.parts", f"choose among {', '.join(UNREADABLE_KINDS)}")
        return UnreadableMatcher(tuple(parts) if isinstance(parts, list) else ())
    if kind == "words":
        return _words(data, problems, folder)
    return builders[kind](data, problems)


def _check_top(data: dict[str, Any], problems: _Problems) -> None:
    for key in sorted(set(data) - TOP_KEYS):
        problems.add(key, "unknown key")
    for key in _STRING_KEYS:
        value = data.get(key, "")
        if not isinstance(value, str) or (key != "description" and not value.strip()):
            problems.add(key, "a non-empty text is required")
    for key in _BOOL_KEYS:
        if key in data and not isinstance(data[key], bool):
            problems.add(key, f"must be true or false, not {data[key]!r}")
    if data.get("action") not in ACTIONS:
        problems.add("action", f"unknown action {data.get('action')!r} (choose among "
                     f"{', '.join(ACTIONS)})")
    if data.get("direction", "both") not in DIRECTIONS:
        problems.add("direction", f"unknown direction {data.get('direction')!r} (choose among "
                     f"{', '.join(DIRECTIONS)})")


def _syntax_problem(problems: _Problems, error: tomllib.TOMLDecodeError) -> None:
    found = re.search(r"line (\d+)", str(error))
    line = int(found.group(1)) if found else 1
    lines = problems.source.splitlines()
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    key = text.split("=", 1)[0].strip() or "?"
    problems.add(key, f"TOML syntax error: {error}", line=line)


def _load_file(path: Path, folder: Path) -> tuple[Rule | None, list[str]]:
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return None, [f"{path}: key '-' (line 1): cannot be read: {error}"]
    problems = _Problems(path, source)
    try:
        data = tomllib.loads(source)
    except tomllib.TOMLDecodeError as error:
        _syntax_problem(problems, error)
        return None, problems.messages
    _check_top(data, problems)
    matcher = _matcher(data.get("match"), problems, folder)
    if problems.messages or matcher is None:
        return None, problems.messages
    rule = Rule(name=path.stem, description=data.get("description", ""), action=data["action"],
                reason_fr=data["reason_fr"], reason_en=data["reason_en"],
                enabled=data.get("enabled", True), direction=data.get("direction", "both"),
                when_minor=data.get("when_minor", False),
                first_message=data.get("first_message", False), matcher=matcher)
    return rule, []


def _load_all(folder: Path) -> tuple[list[Rule], list[str]]:
    if not folder.is_dir():
        return [], [f"{folder}: key '-' (line 0): the rules folder does not exist"]
    rules: list[Rule] = []
    problems: list[str] = []
    for path in sorted(folder.glob("*.toml")):
        rule, file_problems = _load_file(path, folder)
        problems += file_problems
        if rule is not None:
            rules.append(rule)
    return rules, problems


def load_rules(folder: Path) -> RuleSet:
    """Every rule of the folder, validated; raises RuleError on the first problem."""
    rules, problems = _load_all(folder)
    if problems:
        raise RuleError(problems[0])
    return RuleSet(tuple(rules))


def check_rules(folder: Path) -> list[str]:
    """Every problem of every rule file, as messages; [] when the folder is valid."""
    return _load_all(folder)[1]
