"""Detectors: pure functions that find evidence spans in one text field of a message."""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from typing import NamedTuple


class Finding(NamedTuple):
    """One piece of evidence: `text[start:end]` of the named field is `evidence`."""

    field: str
    start: int
    end: int
    evidence: str


class Taken:
    """Spans kept so far, asked whether a new span overlaps any of them (`s < end and start < e`).

    Kept sorted by start with the running maximum of their ends, so a question is a bisection
    rather than a scan of every kept span: scanning made a text of many candidates ("@chez>"
    or "a@b.co " repeated) quadratic, 80 KB taking 2-11 s."""

    def __init__(self, spans: Iterable[tuple[int, int]] = ()) -> None:
        self._starts: list[int] = []
        self._ends: list[int] = []
        self._reach: list[int] = []  # the largest end among the spans up to each index
        for start, end in sorted(spans):
            self.add(start, end)

    def overlaps(self, start: int, end: int) -> bool:
        before = bisect.bisect_left(self._starts, end)  # the spans that start before `end`
        return before > 0 and self._reach[before - 1] > start

    def add(self, start: int, end: int) -> None:
        at = bisect.bisect_right(self._starts, start)
        self._starts.insert(at, start)
        self._ends.insert(at, end)
        if at == len(self._reach):  # in order, as nearly always: one step
            self._reach.append(max(end, self._reach[-1]) if self._reach else end)
            return
        del self._reach[at:]
        for index in range(at, len(self._ends)):
            self._reach.append(max(self._ends[index], self._reach[-1]) if index else self._ends[index])
