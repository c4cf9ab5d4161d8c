"""One global assignment of unpaired mentees to mentors' free places (a min-cost flow).

Network: each mentee (supply 1) -> candidate mentors -> the mentor's free places -> sink, plus
an "unmatched" arc from each mentee straight to the sink. The k-th place of a mentor costs a
load penalty growing with k (scoring.load_penalty), so the solver fills mentors evenly when fits
are equal. OR-Tools' SimpleMinCostFlow (cost scaling, exact on integers) solves it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from ortools.graph.python import min_cost_flow

from gateway.matching import candidates as cand
from gateway.matching.model import Assignment, Mentee, Mentor, Rules, Suggestion
from gateway.matching.scoring import field_weights, fit, load_penalty, milli


class SolverError(RuntimeError):
    """The solver did not reach an optimum (a bug: the network always has a feasible flow)."""


def suggest(mentees: Sequence[Mentee], mentors: Sequence[Mentor], rules: Rules,
            weights: Mapping[str, float] | None = None) -> Assignment:
    """The assignment maximizing total fit minus load penalties; the same input, the same output."""
    mentees = sorted(mentees, key=lambda m: m.id)
    mentors = sorted((m for m in mentors if m.room > 0), key=lambda m: m.id)
    weights = dict(weights) if weights is not None else field_weights(mentors, mentees)
    if not mentees or not mentors:
        return Assignment((), 0.0, 0)
    found = cand.build(mentees, mentors, rules, weights)
    pairs = solve(found, mentors, len(mentees))
    return result(pairs, found, mentees, mentors, weights)


def slot_penalties(mentors: Sequence[Mentor]) -> tuple[np.ndarray, np.ndarray]:
    """The owner (mentor index) and the load penalty (milli-units) of every free place."""
    owner = np.repeat(np.arange(len(mentors)), [m.room for m in mentors])
    penalty = np.array([milli(load_penalty(k, m.capacity))
                        for m in mentors for k in range(m.load, m.capacity)], dtype=np.int64)
    return owner, penalty


def solve(found: cand.Candidates, mentors: Sequence[Mentor], mentee_count: int) -> dict[int, int]:
    """mentee index -> mentor index maximizing sum(gain - load penalty), exactly."""
    if len(found) == 0:
        return {}
    owner, penalty = slot_penalties(mentors)
    n, m = mentee_count, len(mentors)
    sink = n + m
    # Ties: every used edge also costs its mentor's rank (lower id, cheaper). The scale makes
    # one milli-unit of fit outweigh the sum of all tie costs, so ties never trade away fit.
    scale = len(owner) * m + 1
    tails = np.concatenate((found.mentee, n + owner, np.arange(n)))
    heads = np.concatenate((n + found.mentor, np.full(len(owner), sink), np.full(n, sink)))
    costs = np.concatenate((-found.gain * scale + found.mentor, penalty * scale,
                            np.zeros(n, dtype=np.int64)))
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(tails.astype(np.int32), heads.astype(np.int32),
                                              np.ones(len(tails), dtype=np.int64), costs)
    supplies = np.zeros(n + m + 1, dtype=np.int64)
    supplies[:n], supplies[sink] = 1, -n
    flow.set_nodes_supplies(np.arange(n + m + 1, dtype=np.int32), supplies)
    status = flow.solve()
    if status != flow.OPTIMAL:
        raise SolverError(f"min-cost flow ended with status {status}")
    used = flow.flows(np.arange(len(found), dtype=np.int32)) > 0
    return dict(zip(found.mentee[used].tolist(), found.mentor[used].tolist(), strict=True))


def greedy(found: cand.Candidates, mentors: Sequence[Mentor]) -> dict[int, int]:
    """The baseline one would write by hand: the best remaining edge first (benchmarks, tests)."""
    order = np.lexsort((found.mentor, found.mentee, -found.gain))
    left = [m.room for m in mentors]
    taken: dict[int, int] = {}
    mentee_of, mentor_of = found.mentee.tolist(), found.mentor.tolist()
    for e in order.tolist():
        mentee, mentor = mentee_of[e], mentor_of[e]
        if mentee not in taken and left[mentor] > 0:
            taken[mentee] = mentor
            left[mentor] -= 1
    return taken


def objective(pairs: Mapping[int, int], mentees: Sequence[Mentee], mentors: Sequence[Mentor],
              weights: Mapping[str, float]) -> tuple[float, float]:
    """(total fit, total fit minus load penalties) of an assignment, in score units."""
    total_fit = 0
    per_mentor: dict[int, int] = {}
    for mentee, mentor in pairs.items():
        per_mentor[mentor] = per_mentor.get(mentor, 0) + 1
        total_fit += milli(fit(mentees[mentee], mentors[mentor], weights)[0])
    penalties = sum(milli(load_penalty(k, mentors[i].capacity))
                    for i, count in per_mentor.items()
                    for k in range(mentors[i].load, mentors[i].load + count))
    return total_fit / 1000, (total_fit - penalties) / 1000


def result(pairs: Mapping[int, int], found: cand.Candidates, mentees: Sequence[Mentee],
           mentors: Sequence[Mentor], weights: Mapping[str, float]) -> Assignment:
    out = []
    for mentee_ix in sorted(pairs):
        mentee, mentor = mentees[mentee_ix], mentors[pairs[mentee_ix]]
        score, shared = fit(mentee, mentor, weights)
        out.append(Suggestion(mentee.id, mentor.id, round(score, 2), shared))
    return Assignment(tuple(out), objective(pairs, mentees, mentors, weights)[1], len(found))
