"""When to try an undelivered outbox row again, and when to give up (pure: no clock, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from gateway import durations

DEFAULT_SCHEDULE = ("1m", "5m", "15m", "1h", "4h")
DEFAULT_GIVE_UP_AFTER = "5d"


def parse_duration(text: str) -> timedelta:
    """"30s", "1m", "4h", "5d" -> timedelta; ValueError whose text tells the operator what to write."""
    return durations.parse_duration(text)


@dataclass(frozen=True)
class RetryPolicy:
    """Wait `schedule[n-1]` after the n-th failure, then repeat the last interval, until the deadline."""

    schedule: tuple[timedelta, ...]
    give_up_after: timedelta

    def __post_init__(self) -> None:
        if not self.schedule:
            raise ValueError("the retry schedule needs at least one interval")
        if any(step <= timedelta(0) for step in self.schedule):
            raise ValueError("every retry interval must be longer than zero")
        if self.give_up_after <= timedelta(0):
            raise ValueError("give_up_after must be longer than zero")

    @classmethod
    def from_config(cls, schedule: list[str] | tuple[str, ...] = DEFAULT_SCHEDULE,
                    give_up_after: str = DEFAULT_GIVE_UP_AFTER) -> RetryPolicy:
        return cls(tuple(parse_duration(step) for step in schedule), parse_duration(give_up_after))

    def delay_after(self, attempts_so_far: int) -> timedelta:
        """How long to wait after the `attempts_so_far`-th failed attempt."""
        if attempts_so_far < 1:
            raise ValueError("attempts_so_far counts the attempt that just failed, so it is >= 1")
        index = min(attempts_so_far, len(self.schedule)) - 1
        return self.schedule[index]

    def next_attempt(self, attempts_so_far: int, first_attempt_at: datetime,
                     now: datetime) -> datetime | None:
        """When to try next, or None when that would fall past first attempt + give_up_after."""
        candidate = now + self.delay_after(attempts_so_far)
        if candidate > first_attempt_at + self.give_up_after:
            return None
        return candidate
