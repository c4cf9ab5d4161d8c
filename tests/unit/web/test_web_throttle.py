"""Login throttling: five failures per address and IP in fifteen minutes, then a wait."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.web.throttle import LoginThrottle

T0 = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)


def test_sixth_attempt_waits_until_the_oldest_failure_ages_out() -> None:
    throttle = LoginThrottle(max_failures=5, window=timedelta(minutes=15))
    key = LoginThrottle.key("Mod@Example.org", "10.0.0.1")
    for i in range(5):
        assert throttle.retry_after(key, T0 + timedelta(minutes=i)) is None
        throttle.failed(key, T0 + timedelta(minutes=i))
    assert throttle.retry_after(key, T0 + timedelta(minutes=5)) == timedelta(minutes=10)
    assert throttle.retry_after(key, T0 + timedelta(minutes=15)) is None


def test_keys_are_per_address_and_ip_and_case_insensitive() -> None:
    throttle = LoginThrottle(max_failures=1)
    throttle.failed(LoginThrottle.key("Mod@Example.org", "10.0.0.1"), T0)
    assert throttle.retry_after(LoginThrottle.key("mod@example.org ", "10.0.0.1"), T0) is not None
    assert throttle.retry_after(LoginThrottle.key("mod@example.org", "10.0.0.2"), T0) is None
    assert throttle.retry_after(LoginThrottle.key("other@example.org", "10.0.0.1"), T0) is None


def test_success_clears_the_count() -> None:
    throttle = LoginThrottle(max_failures=2)
    key = LoginThrottle.key("a@b.c", "ip")
    throttle.failed(key, T0)
    throttle.succeeded(key)
    throttle.failed(key, T0)
    assert throttle.retry_after(key, T0) is None
