"""Parse the human durations used in config files: "30s", "90m", "36h", "3d", "2w"."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")


def parse_duration(text: object) -> timedelta:
    if not isinstance(text, str):
        raise ValueError(f"a duration must be a string such as \"15m\" or \"3d\", got {text!r}")
    match = _PATTERN.match(text)
    if not match:
        raise ValueError(
            f"{text!r} is not a duration: use a number and a unit s, m, h, d or w (e.g. \"15m\", \"3d\")"
        )
    amount, unit = match.groups()
    value = timedelta(**{_UNITS[unit]: float(amount)})
    if value <= timedelta(0):
        raise ValueError(f"{text!r} must be longer than zero")
    return value
