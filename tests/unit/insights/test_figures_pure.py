"""The pure figures on hand-made rows: percentiles, weeks, answers, resumption after a reminder."""

from __future__ import annotations

from datetime import UTC, date, datetime

from gateway.insights.figures import (
    DAY,
    Inputs,
    Window,
    compute,
    percentile,
    to_epoch,
)

MONDAY = to_epoch(datetime(2026, 3, 2, tzinfo=UTC))


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([], 0.5) is None
    assert percentile([7.0], 0.9) == 7.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert percentile(list(map(float, range(11))), 0.9) == 9.0


def test_an_empty_program_has_no_figures_rather_than_zero_rates() -> None:
    window = Window.of(None, None, datetime(2026, 3, 2, tzinfo=UTC))
    figures = compute(Inputs(pairs=[], messages=[]), window, quiet_days=21)
    assert figures.weekly == () and figures.mentee_share is None
    assert figures.moderation.held_rate is None and figures.reminders.resumed_share is None
    assert all(r.median is None and r.count == 0 for r in figures.responses)


def test_answers_weeks_and_resumption() -> None:
    pair_rows = [(1, "active", MONDAY - 30 * DAY, 10), (2, "active", MONDAY - 30 * DAY, 11)]
    messages = [
        (1, 1, MONDAY + 100, "delivered", "pass"),        # mentee writes
        (1, 1, MONDAY + 200, "rejected", "reject"),       # refused: not exchanged
        (1, 0, MONDAY + 3700, "delivered", "pass"),       # mentor answers after 3600 s
        (1, 0, MONDAY + 8 * DAY, "queued", "hold"),       # same side again: not an answer
        (1, 1, MONDAY + 10 * DAY, "delivered", "pass"),   # mentee answers the latest one
    ]
    window = Window.of(datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 3, 23, tzinfo=UTC),
                       datetime(2026, 3, 30, tzinfo=UTC))
    figures = compute(Inputs(pairs=pair_rows, messages=messages,
                             reminders=[(2, MONDAY + DAY), (1, MONDAY + 7 * DAY)]),
                      window, quiet_days=7)
    mentor, mentee = figures.response("mentor_to_mentee"), figures.response("mentee_to_mentor")
    assert (mentor.count, mentor.median, mentor.buckets[1]) == (1, 3600, 1)
    assert (mentee.count, mentee.median) == (1, 2 * DAY)
    assert [(w.week, w.mentor_to_mentee, w.mentee_to_mentor) for w in figures.weekly] == [
        (date(2026, 3, 2), 1, 2), (date(2026, 3, 9), 1, 1), (date(2026, 3, 16), 0, 0)]
    assert figures.pairs.never_started == (2,)
    assert [pid for pid, _ in figures.pairs.quiet] == [1]
    assert (figures.mentees_total, figures.mentees_wrote) == (2, 1)
    assert (figures.reminders.reminded_pairs, figures.reminders.resumed_pairs) == (2, 1)  # pair 1 wrote a day after
    assert figures.moderation.held_rate == 1 / 5
