"""How well a mentor fits a mentee: shared fields weighted by specificity, minus load penalties."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from gateway.matching.model import Mentee, Mentor, Rules, Suggestion

# A suggestion is worth BASE for the shared language alone, plus the weight of each shared field.
BASE = 1.0
# The k-th mentee of a mentor of capacity c costs LOAD_WEIGHT * k / c: filling everyone halfway
# beats filling some to the brim while others wait (fit stays the main criterion).
LOAD_WEIGHT = 0.5
# Milli-units: scores are compared as integers, so ties are exact and decided by a stated rule.
UNIT = 1000


def field_weights(mentors: Iterable[Mentor], mentees: Iterable[Mentee]) -> dict[str, float]:
    """IDF-like: a field few people share says more than one everybody has ("sciences")."""
    counts: Counter[str] = Counter()
    people = 0
    for group in (mentors, mentees):
        for person in group:
            people += 1
            counts.update(person.fields)
    return {name: round(max(0.5, 1.0 + math.log((people + 1) / (count + 1))), 2)
            for name, count in counts.items()}


def fit(mentee: Mentee, mentor: Mentor, weights: Mapping[str, float]) -> tuple[float, tuple[str, ...]]:
    shared = sorted(mentee.fields & mentor.fields, key=lambda f: (-weights.get(f, 1.0), f))
    return BASE + sum(weights.get(f, 1.0) for f in shared), tuple(shared)


def load_penalty(slot: int, capacity: int) -> float:
    return LOAD_WEIGHT * slot / capacity if capacity else 0.0


def milli(value: float) -> int:
    return int(round(value * UNIT))


def best_mentors(mentee: Mentee, mentors: Sequence[Mentor], rules: Rules,
                 weights: Mapping[str, float], count: int = 3,
                 require_shared_field: bool = True) -> list[Suggestion]:
    """The mentee's own short list (choosing by email): best fit net of load, lowest id on ties."""
    ranked: list[tuple[int, int, Suggestion]] = []
    for mentor in mentors:
        if mentor.room <= 0 or not rules.allows(mentee, mentor):
            continue
        score, shared = fit(mentee, mentor, weights)
        if require_shared_field and not shared:
            continue
        net = milli(score) - milli(load_penalty(mentor.load, mentor.capacity))
        ranked.append((-net, mentor.id, Suggestion(mentee.id, mentor.id, round(score, 2), shared)))
    ranked.sort(key=lambda item: (item[0], item[1]))
    return [item[2] for item in ranked[:count]]
