"""Throttling policy: with five failures inside fifteen minutes, wait until enough age out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.store.throttle import Throttle, wait_left

T0 = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=15)


def wait(failures: list[datetime], now: datetime) -> timedelta | None:
    return wait_left(failures, now, max_failures=5, window=WINDOW)


def test_sixth_attempt_waits_until_the_oldest_failure_ages_out() -> None:
    failures = [T0 + timedelta(minutes=i) for i in range(5)]
    for i in range(5):
        assert wait(failures[:i], T0 + timedelta(minutes=i)) is None
    assert wait(failures, T0 + timedelta(minutes=5)) == timedelta(minutes=10)
    assert wait(failures, T0 + timedelta(minutes=15)) is None


def test_failures_older_than_the_window_do_not_count() -> None:
    old = [T0 - timedelta(minutes=20 + i) for i in range(10)]
    assert wait(old + [T0, T0], T0 + timedelta(minutes=1)) is None


def test_the_wait_ends_when_fewer_than_the_limit_remain() -> None:
    failures = [T0 + timedelta(minutes=i) for i in range(7)]  # two more than the limit
    assert wait(failures, T0 + timedelta(minutes=7)) == timedelta(minutes=10)


def test_the_key_ignores_case_and_spaces_of_the_address() -> None:
    assert Throttle.key("Mod@Example.org ", "10.0.0.1") == Throttle.key("mod@example.org", "10.0.0.1")
    assert Throttle.key("mod@example.org", "10.0.0.1") != Throttle.key("mod@example.org", "10.0.0.2")
