"""Read the reminder policy from config values ([[reminders.rules]], send_window, weekdays) into frozen rules."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time, timedelta
from typing import Any, Literal, get_args

from gateway import durations
from gateway.errors import GatewayError

Kind = Literal["awaiting_reply", "silent_pair", "never_started"]
Target = Literal["awaited", "both", "mentor", "mentee", "coordinator"]

KINDS: tuple[str, ...] = get_args(Kind)
TARGETS: tuple[str, ...] = get_args(Target)
WEEKDAY_NAMES: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_RULE_KEYS = frozenset({"name", "kind", "steps", "max_reminders", "template"})
_STEP_KEYS = frozenset({"after", "to"})
# Rule names go into reminder keys separated by ":" and template names become file names.
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_TEMPLATE = re.compile(r"^[a-z0-9_]{1,64}$")
_CLOCK = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


class ReminderConfigError(GatewayError, ValueError):
    """A reminder setting is wrong; key_path says where, e.g. "reminders.rules[1].steps[0].after"."""

    def __init__(self, key_path: str, message: str) -> None:
        super().__init__(f"{key_path}: {message}")
        self.key_path = key_path
        self.message = message


@dataclass(frozen=True)
class Step:
    after: timedelta
    to: Target


@dataclass(frozen=True)
class ReminderRule:
    name: str
    kind: Kind
    steps: tuple[Step, ...]
    max_reminders: int
    template: str


@dataclass(frozen=True)
class SendWindow:
    """Local wall-clock hours [start, end) on the allowed weekdays (0 = Monday)."""

    start: time
    end: time
    weekdays: frozenset[int]


DEFAULT_RULES: tuple[ReminderRule, ...] = (
    ReminderRule(
        name="awaiting_reply", kind="awaiting_reply",
        steps=(Step(timedelta(days=3), "awaited"), Step(timedelta(days=7), "awaited"),
               Step(timedelta(days=10), "coordinator")),
        max_reminders=3, template="reminder_awaiting_reply",
    ),
    ReminderRule(
        name="silent_pair", kind="silent_pair",
        steps=(Step(timedelta(days=14), "both"),),
        max_reminders=1, template="reminder_silent_pair",
    ),
    ReminderRule(
        name="never_started", kind="never_started",
        steps=(Step(timedelta(days=5), "mentee"), Step(timedelta(days=8), "mentor")),
        max_reminders=2, template="reminder_never_started",
    ),
)


def parse_duration(text: str) -> timedelta:
    """"90m", "36h", "3d", "2w" -> timedelta; ValueError with a readable message otherwise."""
    return durations.parse_duration(text)


def parse_reminder_rules(raw: list[dict[str, Any]]) -> tuple[ReminderRule, ...]:
    """Validate every [[reminders.rules]] table; the first problem raises ReminderConfigError."""
    if not isinstance(raw, list):
        raise ReminderConfigError("reminders.rules", "must be a list of [[reminders.rules]] tables")
    rules: list[ReminderRule] = []
    seen: dict[str, int] = {}
    for index, table in enumerate(raw):
        path = f"reminders.rules[{index}]"
        rule = _parse_rule(path, table)
        if rule.name in seen:
            raise ReminderConfigError(
                f"{path}.name", f"{rule.name!r} is already used by reminders.rules[{seen[rule.name]}]"
            )
        seen[rule.name] = index
        rules.append(rule)
    return tuple(rules)


def _parse_rule(path: str, table: object) -> ReminderRule:
    if not isinstance(table, dict):
        raise ReminderConfigError(path, "must be a table with name, kind, steps, max_reminders, template")
    _refuse_unknown_keys(path, table, _RULE_KEYS)
    name = _required_str(path, table, "name")
    if not _NAME.match(name):
        raise ReminderConfigError(f"{path}.name", "use 1 to 64 letters, digits, '_' or '-'")
    kind = _required_str(path, table, "kind")
    if kind not in KINDS:
        raise ReminderConfigError(f"{path}.kind", f"{kind!r} must be one of " + ", ".join(KINDS))
    steps = _parse_steps(f"{path}.steps", table.get("steps"), kind)
    max_reminders = table.get("max_reminders", len(steps))
    if not isinstance(max_reminders, int) or isinstance(max_reminders, bool) or max_reminders < 1:
        raise ReminderConfigError(f"{path}.max_reminders", "must be a whole number of at least 1")
    template = table.get("template", f"reminder_{kind}")
    if not isinstance(template, str) or not _TEMPLATE.match(template):
        raise ReminderConfigError(
            f"{path}.template", "must be a template name such as \"reminder_awaiting_reply\""
        )
    return ReminderRule(name=name, kind=kind, steps=steps, max_reminders=max_reminders,  # type: ignore[arg-type]
                        template=template)


def _parse_steps(path: str, raw: object, kind: str) -> tuple[Step, ...]:
    if not isinstance(raw, list) or not raw:
        raise ReminderConfigError(path, "must be a non-empty list such as [ { after = \"3d\", to = \"awaited\" } ]")
    steps: list[Step] = []
    for index, item in enumerate(raw):
        step_path = f"{path}[{index}]"
        if not isinstance(item, dict):
            raise ReminderConfigError(step_path, "must be a table { after = \"3d\", to = \"...\" }")
        _refuse_unknown_keys(step_path, item, _STEP_KEYS)
        after_text = item.get("after")
        try:
            after = parse_duration(after_text)  # type: ignore[arg-type]
        except ValueError as exc:
            raise ReminderConfigError(f"{step_path}.after", str(exc)) from exc
        if steps and after <= steps[-1].after:
            raise ReminderConfigError(
                f"{step_path}.after", f"must be later than the step before it ({raw[index - 1]['after']})"
            )
        steps.append(Step(after=after, to=_parse_target(f"{step_path}.to", item.get("to"), kind)))
    return tuple(steps)


def _parse_target(path: str, to: object, kind: str) -> Target:
    if not isinstance(to, str) or to not in TARGETS:
        raise ReminderConfigError(path, f"{to!r} must be one of " + ", ".join(TARGETS))
    # Only a pair waiting for an answer has an "awaited" person.
    if to == "awaited" and kind != "awaiting_reply":
        raise ReminderConfigError(path, f"\"awaited\" only makes sense for kind \"awaiting_reply\", not {kind!r}")
    return to  # type: ignore[return-value]


def _refuse_unknown_keys(path: str, table: dict[str, Any], allowed: frozenset[str]) -> None:
    for key in table:
        if key not in allowed:
            raise ReminderConfigError(
                f"{path}.{key}", "unknown setting; expected one of " + ", ".join(sorted(allowed))
            )


def _required_str(path: str, table: dict[str, Any], key: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value:
        raise ReminderConfigError(f"{path}.{key}", "is required and must be a string")
    return value


def parse_send_window(window: str, weekdays: list[str]) -> SendWindow:
    """"08:00-20:00" and ["mon", ...] -> SendWindow; "24:00" may end a window at midnight."""
    match = _CLOCK.match(window) if isinstance(window, str) else None
    if not match:
        raise ReminderConfigError("reminders.send_window", f"{window!r} must look like \"08:00-20:00\"")
    start_h, start_m, end_h, end_m = (int(part) for part in match.groups())
    if start_h > 23 or start_m > 59 or end_m > 59 or end_h > 24 or (end_h == 24 and end_m):
        raise ReminderConfigError("reminders.send_window", f"{window!r} is not a valid time of day")
    start = time(start_h, start_m)
    end = time.max if end_h == 24 else time(end_h, end_m)
    if end <= start:
        raise ReminderConfigError(
            "reminders.send_window", f"{window!r} must end after it starts (windows cannot cross midnight)"
        )
    return SendWindow(start=start, end=end, weekdays=_parse_weekdays(weekdays))


def _parse_weekdays(weekdays: list[str]) -> frozenset[int]:
    if not isinstance(weekdays, list) or not weekdays:
        raise ReminderConfigError("reminders.weekdays", "must be a non-empty list such as [\"mon\", \"tue\"]")
    days: set[int] = set()
    for index, name in enumerate(weekdays):
        key = name.strip().lower() if isinstance(name, str) else ""
        if key in WEEKDAY_NAMES:
            days.add(WEEKDAY_NAMES.index(key))
        elif key in _FULL_WEEKDAY_NAMES:
            days.add(_FULL_WEEKDAY_NAMES.index(key))
        else:
            raise ReminderConfigError(
                f"reminders.weekdays[{index}]", f"{name!r} must be one of " + ", ".join(WEEKDAY_NAMES)
            )
    return frozenset(days)
