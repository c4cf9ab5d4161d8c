"""The pure figures on hand-made rows: percentiles, weeks, pair lists, answers, judged reminders."""

from __future__ import annotations

from datetime import UTC, date, datetime

from gateway.insights.figures import DAY, Inputs, Window, compute, percentile, to_epoch

NOW = datetime(2026, 3, 30, tzinfo=UTC)
T = to_epoch(datetime(2026, 3, 2, tzinfo=UTC))  # a Monday


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([], 0.5) is None
    assert percentile([7.0], 0.9) == 7.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert percentile(list(map(float, range(11))), 0.9) == 9.0


def test_an_empty_program_has_no_rates_rather_than_zero_ones() -> None:
    figures = compute(Inputs(pairs=[]), Window.of(None, None, NOW), quiet_days=21)
    assert figures.weekly == () and figures.mentee_share is None
    assert figures.moderation.held_rate is None and figures.reminders.resumed_share is None
    assert all(r.median is None and r.count == 0 for r in figures.responses)


def test_pairs_weeks_answers_and_reminders() -> None:
    pairs = [(1, "active", T - 30 * DAY, 10, T + 3 * DAY),   # quiet for 25 days at NOW
             (2, "active", T - 30 * DAY, 11, None),           # never started
             (3, "paused", T - 30 * DAY, 10, None),           # not active: in no list
             (4, "active", T - 30 * DAY, 12, T + 20 * DAY),   # spoke 8 days ago
             (5, "active", to_epoch(NOW) + DAY, 13, None)]    # created after now: not yet
    window = Window.of(datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 3, 23, tzinfo=UTC), NOW)
    figures = compute(Inputs(
        pairs=pairs, days=[("2026-03-02", 1, 2), ("2026-03-08", 0, 1), ("2026-03-10", 1, 4)],
        gaps=[(0, 3600), (0, 7200), (0, 5 * DAY), (1, 60)], mentees_wrote=2,
        moderation_counts=(7, 2, 1, 1), decisions=[(T, T + 600), (T, T + 1800)],
        reminders=[(1, T, 1), (1, T + 2 * DAY, 0), (2, T + DAY, 0), (4, to_epoch(NOW) - DAY, 1)],
    ), window, quiet_days=21)
    assert (figures.pairs.total, figures.pairs.active) == (4, 3)
    assert figures.pairs.never_started == (2,) and figures.pairs.quiet == ((1, T + 3 * DAY),)
    assert [(w.week, w.mentor_to_mentee, w.mentee_to_mentor) for w in figures.weekly] == [
        (date(2026, 3, 2), 1, 2), (date(2026, 3, 9), 0, 4), (date(2026, 3, 16), 0, 0)]
    assert figures.messages_written == 7
    mentor = figures.response("mentor_to_mentee")
    assert (mentor.count, mentor.median, mentor.buckets) == (3, 7200, (0, 2, 0, 0, 1, 0, 0))
    assert figures.response("mentee_to_mentor").p90 == 60
    assert figures.mentees_total == 3 and figures.mentee_share == 2 / 3  # mentee 10 has two pairs
    assert figures.moderation.held_rate == 2 / 7 and figures.moderation.median_decision == 1200
    # Pair 1 resumed after one of its two reminders; pair 4's reminder is too young to judge.
    reminders = figures.reminders
    assert (reminders.sent, reminders.reminded_pairs, reminders.resumed_pairs) == (4, 2, 1)
