"""Pure program figures: aggregated rows in (times as epoch seconds), figures out; no I/O.

Definitions (docs/operations.md "Program figures" says the same for coordinators):
- a *written* message is one a participant wrote (automatic replies excluded), whatever became of
  it; an *exchanged* one reached the partner (its forward is queued or delivered);
- pair lists are today's, whatever the period: *active* = in state active; *never started* = active
  and no conversation turn delivered yet; *quiet* = active, started, and no turn delivered for
  `quiet_days` (the same facts the reminders read: pair.last_delivered_at);
- a *response* is an exchanged message whose previous exchanged message in the pair came from the
  other side; its time is the gap between the two; it counts in the period when the answer does;
- a reminded pair *resumed* when a participant wrote within 72 h of a reminder; reminders younger
  than 72 h are not judged yet;
- weeks start on Monday 00:00 UTC.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

DAY = 86_400
RESUME_WITHIN = 3 * DAY
FORWARDED = ("queued", "delivered")
DIRECTIONS = ("mentor_to_mentee", "mentee_to_mentor")  # indexed by from_mentee (0 | 1)
# Upper bounds (seconds) of the response-time distribution's buckets; the last one is open.
BUCKET_BOUNDS = (3600, 6 * 3600, DAY, 3 * DAY, 7 * DAY, 14 * DAY)
BUCKET_NAMES = ("lt_1h", "1h_6h", "6h_24h", "1d_3d", "3d_7d", "7d_14d", "ge_14d")

# Row shapes loaded by insights/load.py (plain tuples: a large program has ~10^5 of some).
PairRow = tuple[int, str, int, int, int | None]  # id, state, created, mentee id, last delivered turn
DayCount = tuple[str, int, int]  # day "YYYY-MM-DD" (UTC), from_mentee, written messages
Gap = tuple[int, int]  # from_mentee of the answer, seconds since the other side's message
ReminderRow = tuple[int, int, int]  # pair id, sent at, 1 if a participant wrote within 72 h


def to_epoch(moment: datetime) -> int:
    return math.floor(moment.timestamp())


def from_epoch(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@dataclass(frozen=True)
class Window:
    """The period [since, until), now, and `asof` = min(until, now) for what needs hindsight."""

    since: int | None
    until: int
    now: int

    @classmethod
    def of(cls, since: datetime | None, until: datetime | None, now: datetime) -> Window:
        end = to_epoch(until) if until is not None else to_epoch(now)
        return cls(to_epoch(since) if since is not None else None, end, to_epoch(now))

    @property
    def asof(self) -> int:
        return min(self.until, self.now)

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
    quiet: tuple[tuple[int, int], ...]  # (pair id, last delivered turn), quietest first


def pair_status(pairs: Iterable[PairRow], now: int, quiet_days: int) -> PairStatus:
    existing = [p for p in pairs if p[2] <= now]
    active = [p for p in existing if p[1] == "active"]
    never = tuple(sorted(p[0] for p in active if p[4] is None))
    limit = now - quiet_days * DAY
    quiet = tuple(sorted(((p[0], p[4]) for p in active if p[4] is not None and p[4] <= limit),
                         key=lambda item: (item[1], item[0])))
    return PairStatus(len(existing), len(active), never, quiet)


@dataclass(frozen=True)
class WeekCount:
    week: date  # the Monday
    mentor_to_mentee: int
    mentee_to_mentor: int


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def weekly(days: Iterable[DayCount], window: Window) -> tuple[WeekCount, ...]:
    """Written messages per week and direction, the period's empty weeks included."""
    counts: dict[date, list[int]] = {}
    for day, from_mentee, count in days:
        counts.setdefault(monday(date.fromisoformat(day)), [0, 0])[from_mentee] += count
    if not counts and window.since is None:
        return ()
    first = monday(from_epoch(window.since).date()) if window.since is not None else min(counts)
    last = monday(from_epoch(window.until - 1).date())
    weeks = []
    while first <= last:
        weeks.append(WeekCount(first, *counts.get(first, [0, 0])))
        first += timedelta(weeks=1)
    return tuple(weeks)


@dataclass(frozen=True)
class ResponseStats:
    direction: str  # the answer's direction: mentor_to_mentee = how fast mentors answer
    count: int
    median: float | None  # seconds
    p90: float | None
    buckets: tuple[int, ...]  # counts per BUCKET_NAMES


def response_stats(gaps: Iterable[Gap]) -> tuple[ResponseStats, ...]:
    by_side: tuple[list[int], list[int]] = ([], [])
    for from_mentee, seconds in gaps:
        by_side[from_mentee].append(seconds)
    out = []
    for direction, values in zip(DIRECTIONS, by_side, strict=True):
        values.sort()
        buckets = [0] * len(BUCKET_NAMES)
        for gap in values:
            buckets[bisect.bisect_right(BUCKET_BOUNDS, gap)] += 1
        out.append(ResponseStats(direction, len(values), percentile(values, 0.5),
                                 percentile(values, 0.9), tuple(buckets)))
    return tuple(out)


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


def moderation(counts: Sequence[int], decisions: Iterable[tuple[int, int]],
               reports: int) -> Moderation:
    checked, held, rejected, still = counts
    waits = sorted(decided - received for received, decided in decisions)
    return Moderation(checked, held, rejected, still, len(waits), percentile(waits, 0.5), reports)


@dataclass(frozen=True)
class Reminders:
    sent: int
    reminded_pairs: int  # pairs reminded at least 72 h before asof
    resumed_pairs: int  # ... of which a participant wrote within 72 h of a reminder

    @property
    def resumed_share(self) -> float | None:
        return ratio(self.resumed_pairs, self.reminded_pairs)


def reminders(rows: Iterable[ReminderRow], window: Window) -> Reminders:
    sent = 0
    judged: dict[int, bool] = {}
    for pair_id, at, resumed in rows:
        sent += 1
        if at + RESUME_WITHIN <= window.asof:  # younger ones cannot be judged yet
            judged[pair_id] = judged.get(pair_id, False) or bool(resumed)
    return Reminders(sent, len(judged), sum(judged.values()))


@dataclass(frozen=True)
class Inputs:
    """What the edge loads for one scope and period (see insights/load.py)."""

    pairs: Sequence[PairRow]
    days: Sequence[DayCount] = ()
    gaps: Sequence[Gap] = ()
    mentees_wrote: int = 0
    moderation_counts: Sequence[int] = (0, 0, 0, 0)  # checked, held, rejected, still held
    decisions: Sequence[tuple[int, int]] = ()  # (received, decided) of held messages
    reminders: Sequence[ReminderRow] = ()
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
    messages_written: int

    @property
    def mentee_share(self) -> float | None:
        return ratio(self.mentees_wrote, self.mentees_total)

    def response(self, direction: str) -> ResponseStats:
        return next(r for r in self.responses if r.direction == direction)


def compute(inputs: Inputs, window: Window, *, quiet_days: int) -> ProgramFigures:
    mentees = {p[3] for p in inputs.pairs if p[2] < window.until}
    return ProgramFigures(
        window=window, quiet_days=quiet_days,
        pairs=pair_status(inputs.pairs, window.now, quiet_days),
        weekly=weekly(inputs.days, window),
        responses=response_stats(inputs.gaps),
        mentees_total=len(mentees), mentees_wrote=inputs.mentees_wrote,
        moderation=moderation(inputs.moderation_counts, inputs.decisions, inputs.reports),
        reminders=reminders(inputs.reminders, window),
        messages_written=sum(count for _, _, count in inputs.days),
    )
