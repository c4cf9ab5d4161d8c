"""Pure program figures: rows in (times as epoch seconds), figures out; `asof` comes in, no I/O.

Definitions (docs/operations.md "Program figures" says the same for coordinators):
- a *written* message is one a participant wrote (automatic replies excluded), whatever became of
  it; an *exchanged* one reached the partner (its forward is queued or delivered);
- a pair *started* once one message was exchanged; *quiet* = active, started, and nothing exchanged
  for `quiet_days`; pair states are today's;
- a *response* is an exchanged message whose previous exchanged message in the pair came from the
  other side; its time is the gap between the two. It counts in the period when the answer does;
- weeks start on Monday 00:00 UTC.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

DAY = 86_400
WEEK = 7 * DAY
MONDAY_OFFSET = 3 * DAY  # 1970-01-01 was a Thursday
RESUME_WITHIN = 3 * DAY
FORWARDED = frozenset({"queued", "delivered"})
MENTOR_ANSWERS, MENTEE_ANSWERS = "mentor_to_mentee", "mentee_to_mentor"
DIRECTIONS = (MENTOR_ANSWERS, MENTEE_ANSWERS)
# Upper bounds (seconds) of the response-time distribution's buckets; the last one is open.
BUCKET_BOUNDS = (3600, 6 * 3600, DAY, 3 * DAY, 7 * DAY, 14 * DAY)
BUCKET_NAMES = ("lt_1h", "1h_6h", "6h_24h", "1d_3d", "3d_7d", "7d_14d", "ge_14d")

# Plain tuples, not objects: a year of a large program is a few hundred thousand rows.
# (pair_id, from_mentee 0|1, received_at, state, verdict), sorted by pair, time, id
MessageRow = tuple[int, int, int, str, str | None]
# (pair_id, state, created_at, mentee_id)
PairRow = tuple[int, str, int, int]


def to_epoch(moment: datetime) -> int:
    return math.floor(moment.timestamp())


def from_epoch(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@dataclass(frozen=True)
class Window:
    """The period [since, until) and the moment the pair states are read at (min(until, now))."""

    since: int | None
    until: int
    asof: int

    @classmethod
    def of(cls, since: datetime | None, until: datetime | None, now: datetime) -> Window:
        end = to_epoch(until) if until is not None else to_epoch(now)
        return cls(to_epoch(since) if since is not None else None, end, min(end, to_epoch(now)))

    def holds(self, at: int) -> bool:
        return (self.since is None or at >= self.since) and at < self.until


def percentile(ordered: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default; q=0.5 is the median)."""
    if not ordered:
        return None
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True)
class PairStatus:
    total: int
    active: int
    never_started: tuple[int, ...]
    quiet: tuple[tuple[int, int], ...]  # (pair id, last exchange), quietest first


def pair_status(pairs: Sequence[PairRow], messages: Iterable[MessageRow], window: Window,
                quiet_days: int) -> PairStatus:
    last: dict[int, int] = {}
    for pair_id, _, at, state, _ in messages:
        if state in FORWARDED and at < window.asof and at > last.get(pair_id, -1):
            last[pair_id] = at
    existing = [p for p in pairs if p[2] < window.asof]
    active = [p[0] for p in existing if p[1] == "active"]
    never = tuple(sorted(pid for pid in active if pid not in last))
    limit = window.asof - quiet_days * DAY
    quiet = tuple(sorted(((pid, last[pid]) for pid in active if pid in last and last[pid] <= limit),
                         key=lambda item: (item[1], item[0])))
    return PairStatus(len(existing), len(active), never, quiet)


@dataclass(frozen=True)
class WeekCount:
    week: date  # the Monday
    mentor_to_mentee: int
    mentee_to_mentor: int


def week_of(at: int) -> int:
    return (at + MONDAY_OFFSET) // WEEK * WEEK - MONDAY_OFFSET


def weekly(messages: Iterable[MessageRow], window: Window) -> tuple[WeekCount, ...]:
    """Written messages per week and direction, with the empty weeks of the period included."""
    counts: dict[int, list[int]] = {}
    for _, from_mentee, at, _, _ in messages:
        if window.holds(at):
            counts.setdefault(week_of(at), [0, 0])[from_mentee] += 1
    if not counts and window.since is None:
        return ()
    first = week_of(window.since) if window.since is not None else min(counts)
    last = week_of(window.until - 1)
    return tuple(WeekCount(from_epoch(week).date(), *counts.get(week, [0, 0]))
                 for week in range(first, last + 1, WEEK))


@dataclass(frozen=True)
class ResponseStats:
    direction: str  # the answer's direction: mentor_to_mentee = how fast mentors answer
    count: int
    median: float | None  # seconds
    p90: float | None
    buckets: tuple[int, ...]  # counts per BUCKET_NAMES


def response_gaps(messages: Iterable[MessageRow], window: Window) -> dict[str, list[int]]:
    """Seconds from a message to the other side's answer, by the answer's direction."""
    gaps: dict[str, list[int]] = {d: [] for d in DIRECTIONS}
    previous: tuple[int, int, int] | None = None
    for pair_id, from_mentee, at, state, _ in messages:
        if state not in FORWARDED:
            continue
        if previous is not None and previous[0] == pair_id and previous[1] != from_mentee \
                and window.holds(at):
            gaps[DIRECTIONS[from_mentee]].append(at - previous[2])
        previous = (pair_id, from_mentee, at)
    return gaps


def response_stats(direction: str, gaps: list[int]) -> ResponseStats:
    ordered = sorted(gaps)
    buckets = [0] * len(BUCKET_NAMES)
    for gap in ordered:
        buckets[bisect.bisect_right(BUCKET_BOUNDS, gap)] += 1
    return ResponseStats(direction, len(ordered), percentile(ordered, 0.5), percentile(ordered, 0.9),
                         tuple(buckets))


def mentees(pairs: Sequence[PairRow], messages: Iterable[MessageRow],
            window: Window) -> tuple[int, int]:
    """(mentees in the program's pairs, those who wrote at least once in the period)."""
    mentee_of = {p[0]: p[3] for p in pairs if p[2] < window.until}
    wrote = {mentee_of[pair_id] for pair_id, from_mentee, at, _, _ in messages
             if from_mentee and pair_id in mentee_of and window.holds(at)}
    return len(set(mentee_of.values())), len(wrote)


@dataclass(frozen=True)
class Moderation:
    checked: int  # written messages the rules have seen
    held: int
    rejected: int
    still_held: int
    decided: int
    median_decision: float | None  # seconds from arrival to a moderator's decision
    reports: int

    @property
    def held_rate(self) -> float | None:
        return ratio(self.held, self.checked)


def moderation(messages: Iterable[MessageRow], decisions: Iterable[tuple[int, int]],
               window: Window, reports: int) -> Moderation:
    checked = held = rejected = still = 0
    for _, _, at, state, verdict in messages:
        if verdict is None or not window.holds(at):
            continue
        checked += 1
        held += verdict == "hold"
        rejected += verdict == "reject"
        still += state == "held"
    waits = sorted(decided - received for received, decided in decisions if window.holds(received))
    return Moderation(checked, held, rejected, still, len(waits), percentile(waits, 0.5), reports)


@dataclass(frozen=True)
class Reminders:
    sent: int
    reminded_pairs: int  # pairs reminded at least 72 h before asof
    resumed_pairs: int  # ... of which a participant wrote within 72 h of a reminder

    @property
    def resumed_share(self) -> float | None:
        return ratio(self.resumed_pairs, self.reminded_pairs)


def reminders(sent: Iterable[tuple[int, int]], messages: Iterable[MessageRow],
              window: Window) -> Reminders:
    in_period = [(pair_id, at) for pair_id, at in sent if window.holds(at)]
    settled: dict[int, list[int]] = {}
    for pair_id, at in in_period:
        if at + RESUME_WITHIN <= window.asof:  # younger ones cannot be judged yet
            settled.setdefault(pair_id, []).append(at)
    written: dict[int, list[int]] = {}
    for pair_id, _, at, _, _ in messages:
        if pair_id in settled:
            written.setdefault(pair_id, []).append(at)
    resumed = 0
    for pair_id, times in settled.items():
        ordered = sorted(written.get(pair_id, []))
        for reminded in times:
            after = bisect.bisect_right(ordered, reminded)
            if after < len(ordered) and ordered[after] <= reminded + RESUME_WITHIN:
                resumed += 1
                break
    return Reminders(len(in_period), len(settled), resumed)


@dataclass(frozen=True)
class Inputs:
    """What the edge loads for one scope and period (see insights/load.py)."""

    pairs: Sequence[PairRow]
    messages: Sequence[MessageRow]
    decisions: Sequence[tuple[int, int]] = ()  # (received, decided) of held messages
    reminders: Sequence[tuple[int, int]] = ()  # (pair id, sent at)
    reports: int = 0


@dataclass(frozen=True)
class ProgramFigures:
    window: Window
    quiet_days: int
    pairs: PairStatus
    weekly: tuple[WeekCount, ...]
    responses: tuple[ResponseStats, ...]
    mentees_total: int
    mentees_wrote: int
    moderation: Moderation
    reminders: Reminders
    messages_written: int = 0

    @property
    def mentee_share(self) -> float | None:
        return ratio(self.mentees_wrote, self.mentees_total)

    def response(self, direction: str) -> ResponseStats:
        return next(r for r in self.responses if r.direction == direction)


def compute(inputs: Inputs, window: Window, *, quiet_days: int) -> ProgramFigures:
    messages = inputs.messages
    gaps = response_gaps(messages, window)
    total, wrote = mentees(inputs.pairs, messages, window)
    return ProgramFigures(
        window=window, quiet_days=quiet_days,
        pairs=pair_status(inputs.pairs, messages, window, quiet_days),
        weekly=weekly(messages, window),
        responses=tuple(response_stats(d, gaps[d]) for d in DIRECTIONS),
        mentees_total=total, mentees_wrote=wrote,
        moderation=moderation(messages, inputs.decisions, window, inputs.reports),
        reminders=reminders(inputs.reminders, messages, window),
        messages_written=sum(1 for m in messages if window.holds(m[2])),
    )
