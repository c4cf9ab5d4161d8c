"""Pure badges: a pair's exchanged turns and completed missions in, the milestones reached out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

BADGES = ("first_exchange", "five_exchanges", "month_of_conversation", "mission_completed")
MONTH = timedelta(days=30).total_seconds()


@dataclass(frozen=True)
class Turn:
    from_mentee: bool
    at: float  # epoch seconds


def answers(turns: Sequence[Turn]) -> int:
    """Turns that answer the other side (the pair's conversation, not one side writing alone)."""
    return sum(1 for before, turn in zip(turns, turns[1:], strict=False)
               if before.from_mentee != turn.from_mentee)


def badges_of(turns: Sequence[Turn], missions_completed: int) -> tuple[str, ...]:
    """`turns` in time order (exchanged messages of one pair)."""
    earned = []
    count = answers(turns)
    if count >= 1:
        earned.append("first_exchange")
    if count >= 5:
        earned.append("five_exchanges")
    both = {t.from_mentee for t in turns} == {True, False}
    if both and turns[-1].at - turns[0].at >= MONTH:
        earned.append("month_of_conversation")
    if missions_completed >= 1:
        earned.append("mission_completed")
    return tuple(earned)


def mission_completed(sent_at: float, window: float, turns: Sequence[Turn]) -> bool:
    """Both sides wrote within `window` seconds after the mission was sent."""
    sides = {t.from_mentee for t in turns if sent_at <= t.at <= sent_at + window}
    return sides == {True, False}
