"""The retry schedule an operator configures is the one deliveries follow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.delivery.retry import RetryPolicy, parse_duration

START = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def default_policy() -> RetryPolicy:
    return RetryPolicy.from_config()


@pytest.mark.parametrize(
    ("text", "expected"),
    [("30s", timedelta(seconds=30)), ("1m", timedelta(minutes=1)), ("4h", timedelta(hours=4)),
     ("5d", timedelta(days=5)), (" 15m ", timedelta(minutes=15))],
)
def test_parse_duration_reads_config_values(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "5", "m", "5 minutes", "-1m", "0s", "1y", "4h30m"])
def test_parse_duration_rejects_nonsense_with_readable_message(text: str) -> None:
    with pytest.raises(ValueError) as excinfo:
        parse_duration(text)
    message = str(excinfo.value)
    assert repr(text) in message
    assert "Traceback" not in message


def test_default_schedule_is_1m_5m_15m_1h_4h_then_every_4h() -> None:
    policy = default_policy()
    now = START
    waits = []
    for attempts in range(1, 9):
        next_at = policy.next_attempt(attempts, START, now)
        assert next_at is not None
        waits.append(next_at - now)
        now = next_at
    hours = timedelta(hours=1)
    minutes = timedelta(minutes=1)
    assert waits == [1 * minutes, 5 * minutes, 15 * minutes, 1 * hours, 4 * hours,
                     4 * hours, 4 * hours, 4 * hours]


def test_gives_up_once_the_next_try_would_be_past_five_days() -> None:
    policy = default_policy()
    now = START
    attempts = 0
    tries_at = [START]
    while True:
        attempts += 1
        next_at = policy.next_attempt(attempts, START, now)
        if next_at is None:
            break
        tries_at.append(next_at)
        now = next_at
    deadline = START + timedelta(days=5)
    assert all(at <= deadline for at in tries_at)
    assert tries_at[-1] + timedelta(hours=4) > deadline
    # 1m+5m+15m+1h = 1h21m, +4h steps until 5 days: the last try lands at 4d 21h21m.
    assert tries_at[-1] == START + timedelta(days=4, hours=21, minutes=21)
    assert attempts == len(tries_at)


def test_a_try_exactly_at_the_deadline_still_happens() -> None:
    policy = RetryPolicy((timedelta(hours=1),), give_up_after=timedelta(hours=2))
    assert policy.next_attempt(1, START, START + timedelta(hours=1)) == START + timedelta(hours=2)
    assert policy.next_attempt(2, START, START + timedelta(hours=1, seconds=1)) is None


def test_late_worker_measures_from_now_not_from_the_schedule() -> None:
    # The worker was down for an hour: the next wait counts from when the failure was seen.
    policy = default_policy()
    late = START + timedelta(hours=1)
    assert policy.next_attempt(1, START, late) == late + timedelta(minutes=1)


def test_custom_schedule_from_config_strings() -> None:
    policy = RetryPolicy.from_config(["30s", "2m"], "10m")
    assert policy.next_attempt(1, START, START) == START + timedelta(seconds=30)
    assert policy.next_attempt(5, START, START) == START + timedelta(minutes=2)
    assert policy.next_attempt(5, START, START + timedelta(minutes=9)) is None


def test_policy_refuses_empty_schedule_and_zero_attempts() -> None:
    with pytest.raises(ValueError):
        RetryPolicy((), timedelta(days=1))
    with pytest.raises(ValueError):
        default_policy().next_attempt(0, START, START)
