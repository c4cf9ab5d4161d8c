"""Decent hours: whether an instant falls in the send window in a given IANA zone, and when it next opens."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gateway.reminders.rules import SendWindow

FALLBACK_ZONE = "UTC"


def zone(tz: str) -> ZoneInfo:
    """The IANA zone named tz; ValueError (never KeyError) when it does not exist."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ValueError(f"unknown time zone {tz!r}") from exc


def is_known_zone(tz: str | None) -> bool:
    if not tz:
        return False
    try:
        zone(tz)
    except ValueError:
        return False
    return True


def resolve_zone(preferred: str | None, fallback: str) -> str:
    """A participant's own zone when it is valid, else the program's, else UTC: bad data never crashes."""
    for candidate in (preferred, fallback):
        if is_known_zone(candidate):
            return candidate  # type: ignore[return-value]
    return FALLBACK_ZONE


def in_send_window(now: datetime, tz: str, window: SendWindow) -> bool:
    """True when the wall clock in tz shows an allowed weekday and a time in [start, end)."""
    local = _aware(now).astimezone(zone(tz))
    return local.weekday() in window.weekdays and window.start <= local.time() < window.end


def next_window_start(now: datetime, tz: str, window: SendWindow) -> datetime:
    """The first instant (aware UTC) at or after now inside the window; now itself when already inside."""
    now = _aware(now).astimezone(UTC)
    if in_send_window(now, tz, window):
        return now
    local_zone = zone(tz)
    today = now.astimezone(local_zone).date()
    for offset in range(8):
        day = today + timedelta(days=offset)
        if day.weekday() not in window.weekdays:
            continue
        opening = _opening_instant(day, window.start, local_zone)
        # A window lying entirely in a skipped hour never opens that day.
        if opening > now and in_send_window(opening, tz, window):
            return opening
    raise ValueError("the send window never opens (no weekday allowed)")


def _opening_instant(day: date, start: time, local_zone: ZoneInfo) -> datetime:
    """The first instant whose wall clock reads day+start or later, even when DST skips start."""
    wall = datetime.combine(day, start)
    # fold=0 is the earlier of two repeated wall times (autumn); in a spring gap it lands after the jump.
    after_jump = wall.replace(tzinfo=local_zone, fold=0).astimezone(UTC)
    if _wall(after_jump, local_zone) == wall:
        return after_jump
    # start does not exist that day: the window opens at the jump itself, found by bisection.
    # Offsets change on whole seconds, so bisect over whole seconds.
    low = int(wall.replace(tzinfo=local_zone, fold=1).timestamp())
    high = int(after_jump.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if _wall(datetime.fromtimestamp(middle, UTC), local_zone) >= wall:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def _wall(instant: datetime, local_zone: ZoneInfo) -> datetime:
    return instant.astimezone(local_zone).replace(tzinfo=None, fold=0)


def _aware(now: datetime) -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware (UTC)")
    return now
