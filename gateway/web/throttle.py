"""Login throttling: count failed attempts per (address, client IP) in a sliding window; pure, time passed in."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass
class LoginThrottle:
    """After `max_failures` failures inside `window`, the key is refused until the oldest one ages out.

    Kept in memory: one gateway process serves the page; several instances would each count
    separately (documented in docs/moderators.md).
    """

    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)
    _failures: dict[tuple[str, str], deque[datetime]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @staticmethod
    def key(address: str, client_ip: str) -> tuple[str, str]:
        return (address.strip().lower(), client_ip)

    def _recent(self, key: tuple[str, str], now: datetime) -> deque[datetime]:
        times = self._failures.get(key, deque())
        while times and now - times[0] >= self.window:
            times.popleft()
        if not times:
            self._failures.pop(key, None)
        return times

    def retry_after(self, key: tuple[str, str], now: datetime) -> timedelta | None:
        """How long this key must wait before trying again, or None if it may try now."""
        with self._lock:
            times = self._recent(key, now)
            if len(times) < self.max_failures:
                return None
            return self.window - (now - times[0])

    def failed(self, key: tuple[str, str], now: datetime) -> None:
        with self._lock:
            times = self._recent(key, now)
            times.append(now)
            self._failures[key] = times

    def succeeded(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._failures.pop(key, None)
