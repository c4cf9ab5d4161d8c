"""[reminders] is checked when the configuration loads: a bad rule or window stops start-up, naming file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import ConfigError
from gateway.reminders.service import reminder_rules
from gateway.startup_checks import load_checked_settings

GOOD_RULES = """[reminders]
send_window = "09:00-18:30"
weekdays = ["mon", "tue", "wed", "thu", "fri"]

[[reminders.rules]]
name = "awaiting_reply"
kind = "awaiting_reply"
steps = [ { after = "2d", to = "awaited" }, { after = "6d", to = "coordinator" } ]

[[reminders.rules]]
name = "never_started"
kind = "never_started"
steps = [ { after = "4d", to = "mentee" } ]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def load_error(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_checked_settings(path, env={})
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    return message


def test_a_valid_policy_loads_and_is_the_one_used(tmp_path: Path) -> None:
    settings = load_checked_settings(write(tmp_path, GOOD_RULES), env={})
    rules = reminder_rules(settings)
    assert [r.name for r in rules] == ["awaiting_reply", "never_started"]
    assert [s.to for s in rules[0].steps] == ["awaited", "coordinator"]


@pytest.mark.parametrize(
    ("broken", "expected"),
    [
        (('after = "6d", to = "coordinator"', 'after = "6 days", to = "coordinator"'),
         ["line 5:", "reminders.rules[0].steps[1].after"]),
        (('after = "6d", to = "coordinator"', 'after = "1d", to = "coordinator"'),
         ["line 5:", "reminders.rules[0].steps[1].after", "later than the step before"]),
        (('to = "mentee"', 'to = "awaited"'),
         ["line 10:", "reminders.rules[1].steps[0].to", "awaiting_reply"]),
        (('kind = "never_started"', 'kind = "never_begun"'),
         ["line 10:", "reminders.rules[1].kind", "never_started"]),
        (('name = "never_started"', 'name = "awaiting_reply"'),
         ["line 10:", "reminders.rules[1].name", "already used"]),
        (('name = "never_started"', 'name = "never_started"\ncolour = "blue"'),
         ["line 10:", "reminders.rules[1].colour", "unknown setting"]),
        (('send_window = "09:00-18:30"', 'send_window = "20:00-08:00"'),
         ["line 2:", "reminders.send_window", "end after it starts"]),
        (('send_window = "09:00-18:30"', 'send_window = "9h-18h"'),
         ["line 2:", "reminders.send_window", "08:00-20:00"]),
        (('"thu", "fri"]', '"thu", "friday", "funday"]'),
         ["line 3:", "reminders.weekdays[5]", "funday"]),
    ],
)
def test_a_bad_rule_or_window_stops_loading_and_says_where(tmp_path: Path, broken: tuple[str, str],
                                                           expected: list[str]) -> None:
    old, new = broken
    assert old in GOOD_RULES
    message = load_error(tmp_path, GOOD_RULES.replace(old, new, 1))
    for part in expected:
        assert part in message, message


def test_inline_rules_are_checked_too(tmp_path: Path) -> None:
    message = load_error(tmp_path, '[reminders]\ncheck_every = "15m"\n'
                                   'rules = [ { name = "x", kind = "silent_pair", steps = [] } ]\n')
    assert "line 3:" in message and "reminders.rules[0].steps" in message


def test_environment_overrides_are_checked(tmp_path: Path) -> None:
    path = write(tmp_path, "")
    with pytest.raises(ConfigError, match="reminders.send_window"):
        load_checked_settings(path, env={"GATEWAY_REMINDERS_SEND_WINDOW": "25:00-26:00"})
