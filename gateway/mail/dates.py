"""A moment written as a Date header value, as email.utils.format_datetime writes it, faster."""

from __future__ import annotations

from datetime import datetime, timedelta
from email.utils import format_datetime

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_ZERO = timedelta(0)


def date_value(moment: datetime) -> str:
    """`format_datetime(moment)`; a UTC moment (the relay's received times) is written directly
    (the stdlib builds a time tuple and calls strftime for the zone: ~5 µs a forward)."""
    if moment.utcoffset() != _ZERO or moment.tzinfo is None:
        return format_datetime(moment)
    return (f"{_DAYS[moment.weekday()]}, {moment.day:02d} {_MONTHS[moment.month - 1]} "
            f"{moment.year:04d} {moment.hour:02d}:{moment.minute:02d}:{moment.second:02d} +0000")
