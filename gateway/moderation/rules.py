"""Load and validate the rule folder (`relay_rules/*.toml`), failing closed on any problem."""

from __future__ import annotations

import functools
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
)
from gateway.moderation.detectors.read_fields import NeedleScan
from gateway.moderation.detectors.slots import SlotsMatcher
from gateway.moderation.facts import MessageFacts
from gateway.moderation.rule_problems import Problems, line_of, string_list
from gateway.moderation.rule_words import slots_matcher, words_matcher

ACTIONS = ("flag", "hold", "reject")
SEVERITIES = ("low", "medium", "high")
DIRECTIONS = ("mentor_to_mentee", "mentee_to_mentor", "both")
KINDS = ("regex", "words", "links", "pii", "attachment", "size", "any", "unreadable", "slots")
_STRING_KEYS = ("description", "reason_fr", "reason_en")
_BOOL_KEYS = ("enabled", "when_minor", "first_message")
TOP_KEYS = frozenset({"action", "direction", "match", "severity", *_STRING_KEYS, *_BOOL_KEYS})
MATCH_KEYS = {
    "regex": {"fields", "pattern", "flags"},
    "words": {"fields", "lists", "words", "language_lists", "exceptions", "exception_lists"},
    "slots": {"fields", "slots", "require", "window", "unless", "evidence"},
    "links": {"fields", "domains"},
    "pii": {"fields", "detectors"},
    "attachment": {"content_types", "extensions", "max_bytes"},
    "size": {"max_bytes"},
    "any": set(),
    "unreadable": {"parts"},
}
REGEX_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}


class RuleError(GatewayError):
    """A rule file is invalid; the message names the file, the key and the line."""


__all__ = ["RuleError", "Rule", "RuleSet", "load_rules", "check_rules", "line_of"]


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
    severity: str = "medium"  # low | medium | high: how urgent a hold is for moderators

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

    @functools.cached_property
    def scan(self) -> NeedleScan:
        """Every needle the rules' slots may search for, found in one pass per field, and every
        word beginning they may look up, in one pass over the field's words."""
        slots = [rule.matcher for rule in self.rules if isinstance(rule.matcher, SlotsMatcher)]
        return NeedleScan((needle for matcher in slots for needle in matcher.scanned_needles()),
                          (piece for matcher in slots for piece in matcher.word_pieces()))


def _positive_int(data: dict[str, Any], key: str, problems: Problems) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        problems.add(f"match.{key}", f"must be a positive whole number of bytes, not {value!r}")
        return None
    return value


def _fields(data: dict[str, Any], problems: Problems) -> tuple[str, ...]:
    if "fields" not in data:
        return DEFAULT_FIELDS
    fields = string_list(data, "fields", problems)
    for field in fields:
        header = field.startswith(HEADER_PREFIX) and field[len(HEADER_PREFIX):].strip()
        if field not in TEXT_FIELDS and not header:
            problems.add("match.fields", f"unknown field {field!r} (use subject, text, "
                         "attachment_names or header:<Name>)")
    if "fields" in data and not fields:
        problems.add("match.fields", "must name at least one field")
    return tuple(fields)


def _regex(data: dict[str, Any], problems: Problems) -> Matcher | None:
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


def _links(data: dict[str, Any], problems: Problems) -> Matcher | None:
    domains = tuple(d.strip(". ").lower() for d in string_list(data, "domains", problems))
    if not domains:
        problems.add("match.domains", "a non-empty list of domains is required")
        return None
    return LinksMatcher(domains, compile_domains(domains), _fields(data, problems),
                        compile_hint(domains))


def _pii(data: dict[str, Any], problems: Problems) -> Matcher | None:
    detectors = string_list(data, "detectors", problems)
    unknown = [d for d in detectors if d not in PII_DETECTORS]
    if unknown or not detectors:
        problems.add("match.detectors", f"unknown or missing detectors {unknown} "
                     f"(choose among {', '.join(PII_DETECTORS)})")
        return None
    return PiiMatcher(tuple(dict.fromkeys(detectors)), _fields(data, problems))


def _attachment(data: dict[str, Any], problems: Problems) -> Matcher | None:
    types = frozenset(t.lower() for t in string_list(data, "content_types", problems))
    extensions = frozenset("." + e.lower().lstrip(".")
                           for e in string_list(data, "extensions", problems))
    max_bytes = _positive_int(data, "max_bytes", problems)
    if not types and not extensions and max_bytes is None:
        problems.add("match", "an attachment rule needs content_types, extensions or max_bytes")
        return None
    return AttachmentMatcher(types, extensions, max_bytes)


def _size(data: dict[str, Any], problems: Problems) -> Matcher | None:
    max_bytes = _positive_int(data, "max_bytes", problems)
    if max_bytes is None:
        problems.add("match.max_bytes", "a size rule needs max_bytes")
        return None
    return SizeMatcher(max_bytes)


def _matcher(data: Any, problems: Problems, folder: Path) -> Matcher | None:
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
        return words_matcher(data, problems, folder, _fields(data, problems))
    if kind == "slots":
        return slots_matcher(data, problems, folder, _fields(data, problems))
    return builders[kind](data, problems)


def _check_top(data: dict[str, Any], problems: Problems) -> None:
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
    if data.get("severity", "medium") not in SEVERITIES:
        problems.add("severity", f"unknown severity {data.get('severity')!r} (choose among "
                     f"{', '.join(SEVERITIES)})")
    if data.get("direction", "both") not in DIRECTIONS:
        problems.add("direction", f"unknown direction {data.get('direction')!r} (choose among "
                     f"{', '.join(DIRECTIONS)})")


def _syntax_problem(problems: Problems, error: tomllib.TOMLDecodeError) -> None:
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
    problems = Problems(path, source)
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
                first_message=data.get("first_message", False), matcher=matcher,
                severity=data.get("severity", "medium"))
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
