"""Detectors: pure functions that find evidence spans in one text field of a message."""

from __future__ import annotations

from typing import NamedTuple


class Finding(NamedTuple):
    """One piece of evidence: `text[start:end]` of the named field is `evidence`."""

    field: str
    start: int
    end: int
    evidence: str
