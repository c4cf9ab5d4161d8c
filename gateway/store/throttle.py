"""Login and reset throttling: failed attempts per key in a sliding window, counted in the database
so that every gateway instance sharing it sees the same attempts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import Session, col, select

from gateway.clock import as_utc
from gateway.store.models import ThrottleEvent


def wait_left(failures: Sequence[datetime], now: datetime, *, max_failures: int,
              window: timedelta) -> timedelta | None:
    """How long to wait before trying again, or None: pure, given the failure times and now.

    With `max_failures` failures inside `window` the key waits until enough of them age out."""
    recent = sorted(t for t in failures if now - t < window)
    if len(recent) < max_failures:
        return None
    return window - (now - recent[-max_failures])


@dataclass(frozen=True)
class Throttle:
    """One kind of attempt ("login", "reset") with its limit; the counting lives in the database."""

    scope: str
    max_failures: int
    window: timedelta

    @staticmethod
    def key(address: str, client: str) -> str:
        return f"{address.strip().lower()} {client}"[:400]

    def retry_after(self, session: Session, key: str, now: datetime) -> timedelta | None:
        times = session.exec(select(ThrottleEvent.at).where(
            ThrottleEvent.scope == self.scope, ThrottleEvent.key == key,
            col(ThrottleEvent.at) > now - self.window)).all()
        return wait_left([as_utc(t) for t in times], now, max_failures=self.max_failures,
                         window=self.window)

    def failed(self, session: Session, key: str, now: datetime) -> None:
        # Forget what has aged out (any key of this scope): the table stays small.
        session.execute(delete(ThrottleEvent).where(
            col(ThrottleEvent.scope) == self.scope, col(ThrottleEvent.at) <= now - self.window))
        session.add(ThrottleEvent(scope=self.scope, key=key, at=now))

    def succeeded(self, session: Session, key: str) -> None:
        session.execute(delete(ThrottleEvent).where(
            col(ThrottleEvent.scope) == self.scope, col(ThrottleEvent.key) == key))


# Failed logins are counted twice: per account (whoever tries it, from anywhere: rotating
# addresses does not help a guesser) and per client address (across every account: password
# spraying, one guess at each of many accounts, is throttled too). A success clears only the
# account's count, so one valid account cannot be used to reset a sprayer's count.
LOGIN_ACCOUNT = Throttle("login", max_failures=5, window=timedelta(minutes=15))
LOGIN_CLIENT = Throttle("login-client", max_failures=20, window=timedelta(minutes=15))
# "Forgot password" mails per address (nobody can flood a staff member's inbox through it) and
# requests per client address (nobody can mail every staff member from one place).
RESET = Throttle("reset", max_failures=3, window=timedelta(hours=1))
RESET_CLIENT = Throttle("reset-client", max_failures=10, window=timedelta(hours=1))


def account_key(address: str) -> str:
    return Throttle.key(address, "")


def client_key(client: str) -> str:
    return Throttle.key("", client)


def longest_wait(session: Session, checks: Sequence[tuple[Throttle, str]],
                 now: datetime) -> timedelta | None:
    """The longest wait any of these (throttle, key) pairs imposes, or None."""
    waits = [w for throttle, key in checks if (w := throttle.retry_after(session, key, now))]
    return max(waits) if waits else None


def record_failures(session: Session, checks: Sequence[tuple[Throttle, str]], now: datetime) -> None:
    for throttle, key in checks:
        throttle.failed(session, key, now)
