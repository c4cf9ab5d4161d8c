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


# Five failed logins per address and IP in fifteen minutes, then a wait.
LOGIN = Throttle("login", max_failures=5, window=timedelta(minutes=15))
# "Forgot password" mails per address: nobody can flood a staff member's inbox through it.
RESET = Throttle("reset", max_failures=3, window=timedelta(hours=1))
