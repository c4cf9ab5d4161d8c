"""Reading [[reminders.rules]], send_window and weekdays: good values parse, bad ones name their key."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

import pytest

from gateway.reminders.rules import (
    DEFAULT_RULES,
    ReminderConfigError,
    ReminderRule,
    Step,
    parse_duration,
    parse_reminder_rules,
    parse_send_window,
)


def awaiting(**changes: Any) -> dict[str, Any]:
    table: dict[str, Any] = {
        "name": "awaiting_reply", "kind": "awaiting_reply",
        "steps": [{"after": "3d", "to": "awaited"}, {"after": "7d", "to": "awaited"},
                  {"after": "10d", "to": "coordinator"}],
        "max_reminders": 3, "template": "reminder_awaiting_reply",
    }
    table.update(changes)
    return table


@pytest.mark.parametrize(("text", "expected"), [
    ("90m", timedelta(minutes=90)), ("36h", timedelta(hours=36)),
    ("3d", timedelta(days=3)), ("2w", timedelta(weeks=2)),
])
def test_durations_from_the_issue(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "3", "three days", "3y", "-3d", "0d"])
def test_bad_durations_say_how_to_write_one(text: str) -> None:
    with pytest.raises(ValueError, match="duration|longer than zero"):
        parse_duration(text)


def test_the_issue_example_parses_to_the_default_rule() -> None:
    (parsed,) = parse_reminder_rules([awaiting()])
    assert parsed == DEFAULT_RULES[0]
    assert parsed.steps[2] == Step(timedelta(days=10), "coordinator")


def test_default_rules_match_the_issue() -> None:
    by_name = {r.name: r for r in DEFAULT_RULES}
    assert [(s.after.days, s.to) for s in by_name["awaiting_reply"].steps] == [
        (3, "awaited"), (7, "awaited"), (10, "coordinator")]
    assert [(s.after.days, s.to) for s in by_name["silent_pair"].steps] == [(14, "both")]
    assert [(s.after.days, s.to) for s in by_name["never_started"].steps] == [(5, "mentee"), (8, "mentor")]


def test_max_reminders_and_template_have_sensible_defaults() -> None:
    (parsed,) = parse_reminder_rules([{"name": "quiet", "kind": "silent_pair",
                                       "steps": [{"after": "2w", "to": "both"}]}])
    assert parsed == ReminderRule("quiet", "silent_pair", (Step(timedelta(weeks=2), "both"),),
                                  max_reminders=1, template="reminder_silent_pair")


@pytest.mark.parametrize(("raw", "key_path"), [
    ([awaiting(), awaiting(steps=[{"after": "3x", "to": "awaited"}])], "reminders.rules[1].steps[0].after"),
    ([awaiting(steps=[{"after": "3d", "to": "boss"}])], "reminders.rules[0].steps[0].to"),
    ([awaiting(kind="silent_pair")], "reminders.rules[0].steps[0].to"),
    ([awaiting(steps=[{"after": "7d", "to": "awaited"}, {"after": "3d", "to": "awaited"}])],
     "reminders.rules[0].steps[1].after"),
    ([awaiting(steps=[{"after": "3d", "to": "awaited", "delay": "1d"}])], "reminders.rules[0].steps[0].delay"),
    ([awaiting(steps=[])], "reminders.rules[0].steps"),
    ([awaiting(steps=["3d"])], "reminders.rules[0].steps[0]"),
    ([awaiting(kind="ghosting")], "reminders.rules[0].kind"),
    ([awaiting(max_reminders=0)], "reminders.rules[0].max_reminders"),
    ([awaiting(max_reminders=True)], "reminders.rules[0].max_reminders"),
    ([awaiting(max_reminders="3")], "reminders.rules[0].max_reminders"),
    ([awaiting(template="../../etc/passwd")], "reminders.rules[0].template"),
    ([awaiting(name="a:b")], "reminders.rules[0].name"),
    ([awaiting(name=None)], "reminders.rules[0].name"),
    ([awaiting(), awaiting()], "reminders.rules[1].name"),
    ([awaiting(max_reminder=3)], "reminders.rules[0].max_reminder"),
    (["awaiting_reply"], "reminders.rules[0]"),
])
def test_config_errors_name_the_key_path(raw: list[Any], key_path: str) -> None:
    with pytest.raises(ReminderConfigError) as caught:
        parse_reminder_rules(raw)
    assert caught.value.key_path == key_path
    assert str(caught.value).startswith(key_path + ": ")


def test_a_config_error_is_a_value_error_so_config_loading_reports_it() -> None:
    with pytest.raises(ValueError, match=r"reminders\.rules\[0\]\.steps\[0\]\.after: .*not a duration"):
        parse_reminder_rules([awaiting(steps=[{"after": "soon", "to": "awaited"}])])


def test_send_window_defaults() -> None:
    window = parse_send_window("08:00-20:00", ["mon", "tue", "wed", "thu", "fri", "sat", "sun"])
    assert (window.start, window.end, window.weekdays) == (time(8), time(20), frozenset(range(7)))


def test_weekdays_accept_full_names_in_any_case() -> None:
    assert parse_send_window("9:30-17:00", ["Monday", "FRI"]).weekdays == frozenset({0, 4})


def test_a_window_may_run_until_midnight() -> None:
    assert parse_send_window("18:00-24:00", ["sat"]).end > time(23, 59, 59)


@pytest.mark.parametrize(("window", "weekdays", "key_path"), [
    ("8-20", ["mon"], "reminders.send_window"),
    ("20:00-08:00", ["mon"], "reminders.send_window"),
    ("08:00-08:00", ["mon"], "reminders.send_window"),
    ("25:00-26:00", ["mon"], "reminders.send_window"),
    ("08:00-20:00", [], "reminders.weekdays"),
    ("08:00-20:00", ["mon", "funday"], "reminders.weekdays[1]"),
    ("08:00-20:00", ["mon", 3], "reminders.weekdays[1]"),
])
def test_send_window_errors_name_the_key(window: str, weekdays: list[Any], key_path: str) -> None:
    with pytest.raises(ReminderConfigError) as caught:
        parse_send_window(window, weekdays)
    assert caught.value.key_path == key_path
