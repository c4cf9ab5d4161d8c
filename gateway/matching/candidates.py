"""Which mentor-mentee edges the global assignment may use (a sparse graph built in chunks).

An edge needs the same language, the organization's approval, and no previous or blocked
pairing. Among those, the graph keeps each mentee's `per_mentee` best mentors sharing a field,
and each mentor's best `per_mentor` x room mentees sharing a field (so a mentor nobody ranks
first still gets candidates); a mentee who shares no field with anyone available gets a few
same-language mentors with the most room. All comparisons are on integers with unique keys, so
equal fits always resolve the same way: the lower id first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from gateway.matching.model import Mentee, Mentor, Rules
from gateway.matching.scoring import BASE, UNIT

PER_MENTEE = 24
PER_MENTOR = 20  # times the mentor's free places
FALLBACK = 6
_CHUNK = 2048  # mentees scored at once: a chunk x mentors block stays a few MB


@dataclass(frozen=True)
class Candidates:
    mentee: np.ndarray  # index into the (id-sorted) mentees
    mentor: np.ndarray  # index into the (id-sorted) mentors
    gain: np.ndarray  # BASE + the shared fields' weights, in milli-units

    def __len__(self) -> int:
        return len(self.mentee)


def build(mentees: Sequence[Mentee], mentors: Sequence[Mentor], rules: Rules,
          weights: Mapping[str, float], per_mentee: int = PER_MENTEE,
          per_mentor: int = PER_MENTOR) -> Candidates:
    """Candidate edges; `mentees` and `mentors` are taken in the order given (sort them by id)."""
    shape = _Shape(mentees, mentors, rules, weights)
    room = np.array([m.room for m in mentors], dtype=np.int64)
    wanted = room * per_mentor
    mine: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    theirs: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for start in range(0, len(mentees), _CHUNK):
        shared, allowed = shape.block(start, start + _CHUNK)
        sharing = allowed & (shared > 0)
        # Sparse from here on: about one allowed pair in ten shares a field.
        r, c = np.nonzero(sharing)
        v = shared[r, c].astype(np.int64)
        r += start
        keep = _best(r, v, c, per_mentee)
        mine.append((r[keep], c[keep], v[keep]))
        keep = _best(c, v, r, wanted[c])
        theirs.append((r[keep], c[keep], v[keep]))
        lonely = np.flatnonzero(~sharing.any(axis=1))
        if len(lonely):
            mine.append(_fallback(allowed[lonely], room, lonely + start))
    r, c, v = (np.concatenate(p) for p in zip(*theirs, strict=True))
    keep = _best(c, v, r, wanted[c])
    mine.append((r[keep], c[keep], v[keep]))
    mentee_ix, mentor_ix, gain = (np.concatenate(p) for p in zip(*mine, strict=True))
    # An edge found from both sides counts once.
    _, first = np.unique(mentee_ix * len(mentors) + mentor_ix, return_index=True)
    return Candidates(mentee_ix[first], mentor_ix[first], gain[first] + int(BASE * UNIT))


def _best(group: np.ndarray, value: np.ndarray, tie: np.ndarray,
          limit: int | np.ndarray) -> np.ndarray:
    """Indices of each group's `limit` highest values (ties: lower `tie` first)."""
    # One int64 key (group, then value descending, then tie) sorts far faster than lexsort.
    span_tie = int(tie.max()) + 1 if len(tie) else 1
    top = int(value.max()) if len(value) else 0
    order = np.argsort((group * (top + 1) + (top - value)) * span_tie + tie)
    ordered = group[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    rank = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    bound = limit if isinstance(limit, int) else limit[order]
    return order[rank < bound]


def _fallback(allowed: np.ndarray, room: np.ndarray,
              rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For mentees sharing no field with anyone available: same-language mentors with most room."""
    r, c = np.nonzero(allowed)
    keep = _best(r, room[c], c, FALLBACK)
    return rows[r[keep]], c[keep], np.zeros(len(keep), dtype=np.int64)


class _Shape:
    """The program as matrices: who wants which field, who speaks what, who may meet whom."""

    def __init__(self, mentees: Sequence[Mentee], mentors: Sequence[Mentor], rules: Rules,
                 weights: Mapping[str, float]) -> None:
        self.mentees = mentees
        names = sorted({f for m in mentees for f in m.fields} |
                       {f for m in mentors for f in m.fields})
        self.column = {name: i for i, name in enumerate(names)}
        has = np.zeros((len(mentors), len(names)), dtype=np.float32)
        for row, mentor in enumerate(mentors):
            has[row, [self.column[f] for f in mentor.fields]] = 1.0
        milli = np.array([round(weights.get(n, 1.0) * UNIT) for n in names], dtype=np.float32)
        self.weighted = np.ascontiguousarray((has * milli).T)
        languages = sorted({lang for m in mentors for lang in m.languages} |
                           {m.language for m in mentees})
        self.language = {lang: i for i, lang in enumerate(languages)}
        self.speaks = np.zeros((len(languages), len(mentors)), dtype=bool)
        for row, mentor in enumerate(mentors):
            for lang in mentor.languages:
                self.speaks[self.language[lang], row] = True
        index = {m.id: i for i, m in enumerate(mentors)}
        self.approved: dict[str, np.ndarray] = {}
        for org, ids in rules.approved.items():
            mask = np.zeros(len(mentors), dtype=bool)
            mask[[index[i] for i in ids if i in index]] = True
            self.approved[org] = mask
        self.excluded: dict[int, list[int]] = {}
        for mentee_id, mentor_id in rules.excluded:
            if mentor_id in index:
                self.excluded.setdefault(mentee_id, []).append(index[mentor_id])

    def block(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """Shared-field weight (int32, milli-units) and the allowed mask for mentees[start:stop]."""
        block = self.mentees[start:stop]
        wants = np.zeros((len(block), len(self.column)), dtype=np.float32)
        for row, mentee in enumerate(block):
            wants[row, [self.column[f] for f in mentee.fields]] = 1.0
        shared = np.rint(wants @ self.weighted).astype(np.int32)
        allowed = self.speaks[[self.language[m.language] for m in block]]
        for row, mentee in enumerate(block):
            rule = self.approved.get(mentee.org) if mentee.org is not None else None
            if rule is not None:
                allowed[row] &= rule
            if mentee.id in self.excluded:
                allowed[row, self.excluded[mentee.id]] = False
        return shared, allowed
