"""The values the matching works on: mentors, mentees, the program's rules, suggestions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Mentor:
    id: int
    languages: frozenset[str]
    fields: frozenset[str]
    capacity: int
    load: int = 0  # mentees already paired with them (active pairs)

    @property
    def room(self) -> int:
        return max(0, self.capacity - self.load)


@dataclass(frozen=True)
class Mentee:
    id: int
    language: str
    fields: frozenset[str]
    org: str | None = None


@dataclass(frozen=True)
class Rules:
    """What may never be suggested, whatever the fit."""

    # organization -> the only mentors its mentees may get (organizations absent: any mentor)
    approved: Mapping[str, frozenset[int]] = field(default_factory=dict)
    # (mentee id, mentor id): a previous pair or a block, never suggested again
    excluded: frozenset[tuple[int, int]] = frozenset()

    def allows(self, mentee: Mentee, mentor: Mentor) -> bool:
        if mentee.language not in mentor.languages or (mentee.id, mentor.id) in self.excluded:
            return False
        approved = self.approved.get(mentee.org) if mentee.org is not None else None
        return approved is None or mentor.id in approved


@dataclass(frozen=True)
class Suggestion:
    mentee: int
    mentor: int
    score: float
    reasons: tuple[str, ...]  # the shared field ids, most specific first; () = same language only


@dataclass(frozen=True)
class Assignment:
    suggestions: tuple[Suggestion, ...]
    objective: float  # total fit minus the load-balance penalties: what the solver maximizes
    candidate_edges: int
