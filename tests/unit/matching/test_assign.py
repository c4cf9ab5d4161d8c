"""The global assignment: capacity, language, organization rules, previous partners, ties, balance."""

from __future__ import annotations

import random

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from gateway.matching.assign import suggest
from gateway.matching.model import Mentee, Mentor, Rules
from gateway.matching.scoring import best_mentors, field_weights, fit, load_penalty, milli

FR, EN, BOTH = frozenset({"fr"}), frozenset({"en"}), frozenset({"fr", "en"})


def mentor(id_: int, *fields: str, capacity: int = 1, load: int = 0,
           languages: frozenset[str] = FR) -> Mentor:
    return Mentor(id_, languages, frozenset(fields), capacity, load)


def mentee(id_: int, *fields: str, language: str = "fr", org: str | None = None) -> Mentee:
    return Mentee(id_, language, frozenset(fields), org)


def pairs(mentees: list[Mentee], mentors: list[Mentor], rules: Rules | None = None,
          ) -> dict[int, int]:
    result = suggest(mentees, mentors, rules or Rules())
    return {s.mentee: s.mentor for s in result.suggestions}


def test_capacity_is_never_exceeded_and_counts_mentees_already_paired() -> None:
    mentors = [mentor(1, "law", capacity=3, load=1), mentor(2, "law", capacity=1)]
    mentees = [mentee(10 + i, "law") for i in range(5)]
    got = pairs(mentees, mentors)
    assert sorted(got.values()) == [1, 1, 2]  # 2 free places + 1: two mentees wait
    assert pairs(mentees, [mentor(3, "law", capacity=2, load=2)]) == {}


def test_a_shared_language_is_required() -> None:
    mentors = [mentor(1, "law", languages=EN), mentor(2, "music", languages=BOTH)]
    got = pairs([mentee(10, "law"), mentee(11, "law", language="en")], mentors)
    # The French speaker cannot have the English-only lawyer, even with nobody else around.
    assert got == {11: 1, 10: 2}


def test_a_school_that_approves_its_mentors_only_gets_those() -> None:
    mentors = [mentor(1, "law", "medicine"), mentor(2, "law")]
    rules = Rules(approved={"École A": frozenset({2})})
    got = pairs([mentee(10, "law", "medicine", org="École A")], mentors, rules)
    assert got == {10: 2}  # the better fit (mentor 1) is not approved by École A
    assert pairs([mentee(10, "law", "medicine", org="École B")], mentors, rules) == {10: 1}
    assert pairs([mentee(10, "law", org="École C")], mentors,
                 Rules(approved={"École C": frozenset()})) == {}


def test_previous_or_blocked_partners_are_never_suggested_again() -> None:
    mentors = [mentor(1, "law", "medicine"), mentor(2, "law")]
    rules = Rules(excluded=frozenset({(10, 1)}))
    assert pairs([mentee(10, "law", "medicine")], mentors, rules) == {10: 2}
    only = Rules(excluded=frozenset({(10, 1), (10, 2)}))
    assert pairs([mentee(10, "law", "medicine")], mentors, only) == {}


def test_equal_fits_go_to_the_lower_mentor_id_whatever_the_input_order() -> None:
    mentors = [mentor(i, "law") for i in (7, 3, 5)]
    for _ in range(5):
        random.shuffle(mentors)
        assert pairs([mentee(10, "law")], mentors) == {10: 3}


def test_the_assignment_is_global_where_greedy_would_strand_a_mentee() -> None:
    # Greedy gives the generalist (1) the best single fit and leaves mentee 11 with nobody.
    mentors = [mentor(1, "law", "medicine"), mentor(2, "law")]
    mentees = [mentee(10, "law", "medicine"), mentee(11, "medicine")]
    assert pairs(mentees, mentors) == {10: 2, 11: 1}


def test_load_is_balanced_when_fits_are_equal() -> None:
    mentors = [mentor(1, "law", capacity=4), mentor(2, "law", capacity=4)]
    got = pairs([mentee(10 + i, "law") for i in range(4)], mentors)
    assert sorted(got.values()) == [1, 1, 2, 2]


def test_reasons_are_the_shared_fields_most_specific_first() -> None:
    crowd = [mentee(100 + i, "law") for i in range(20)]
    mentors = [mentor(1, "law", "aviation", capacity=30)]
    result = suggest([mentee(10, "aviation", "law", "music"), *crowd], mentors, Rules())
    mine = next(s for s in result.suggestions if s.mentee == 10)
    assert mine.reasons == ("aviation", "law")  # aviation is rarer: it says more
    weights = field_weights(mentors, [mentee(10, "aviation", "law", "music"), *crowd])
    assert mine.score == round(1 + weights["aviation"] + weights["law"], 2)


def test_a_mentee_sharing_no_field_gets_a_same_language_mentor_with_room_and_no_reasons() -> None:
    mentors = [mentor(1, "law", capacity=1), mentor(2, "music", capacity=5)]
    result = suggest([mentee(10), mentee(11, "aviation")], mentors, Rules())
    # Both get someone (load balance spreads them), and nobody pretends they share a field.
    assert {(s.mentee, s.mentor, s.reasons) for s in result.suggestions} == {
        (10, 1, ()), (11, 2, ())}
    # but never at the expense of someone who shares a field
    got = pairs([mentee(10), mentee(11, "law")], [mentor(1, "law")])
    assert got == {11: 1}


def test_best_mentors_for_choosing_by_email() -> None:
    mentors = [mentor(1, "law"), mentor(2, "law", "music", capacity=3, load=3),
               mentor(3, "law", "music", capacity=2), mentor(4, "music"), mentor(5, "aviation"),
               mentor(6, "law", languages=EN)]
    me = mentee(10, "law", "music")
    picks = best_mentors(me, mentors, Rules(), {"law": 1.0, "music": 1.5}, count=3)
    assert [s.mentor for s in picks] == [3, 4, 1]  # 2 is full, 5 shares nothing, 6 is English
    assert picks[0].reasons == ("music", "law")


def _optimum_by_dense_assignment(mentees: list[Mentee], mentors: list[Mentor],
                                 rules: Rules) -> float:
    """An independent check: SciPy's dense Hungarian method on every (mentee, free place)."""
    weights = field_weights([m for m in mentors if m.room], mentees)
    slots = [(m, k) for m in mentors for k in range(m.load, m.capacity)]
    gain = np.zeros((len(mentees), len(slots)))
    for i, me in enumerate(mentees):
        for j, (m, k) in enumerate(slots):
            if rules.allows(me, m):
                value, shared = fit(me, m, weights)
                if shared or not any(me.fields & o.fields and rules.allows(me, o) and o.room
                                     for o in mentors):
                    gain[i, j] = milli(value) - milli(load_penalty(k, m.capacity))
    rows, cols = linear_sum_assignment(gain, maximize=True)
    return float(gain[rows, cols].sum()) / 1000


@pytest.mark.parametrize("seed", range(8))
def test_small_random_programs_reach_the_true_optimum(seed: int) -> None:
    rng = random.Random(seed)
    fields = ["law", "music", "medicine", "aviation", "software", "teaching"]
    mentors = [Mentor(i, rng.choice([FR, EN, BOTH]), frozenset(rng.sample(fields, 2)),
                      rng.randint(1, 4), 0) for i in range(1, 9)]
    mentees = [Mentee(100 + i, rng.choice(["fr", "fr", "en"]),
                      frozenset(rng.sample(fields, rng.randint(1, 2))), rng.choice("AB"))
               for i in range(30)]
    rules = Rules(approved={"A": frozenset({1, 2, 3, 4, 5})},
                  excluded=frozenset((100 + i, rng.randint(1, 8)) for i in range(10)))
    result = suggest(mentees, mentors, rules)
    for s in result.suggestions:
        me = next(m for m in mentees if m.id == s.mentee)
        assert rules.allows(me, next(m for m in mentors if m.id == s.mentor))
    assert result.objective == pytest.approx(
        _optimum_by_dense_assignment(mentees, mentors, rules), abs=1e-6)
    assert suggest(list(reversed(mentees)), list(reversed(mentors)), rules) == result
