"""Decent hours: the send window in the recipient's zone, across daylight-saving changes and weekends."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from gateway.reminders.window import in_send_window, next_window_start, resolve_zone

from .conftest import ALL_WEEK, TORONTO, window


def utc(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(("early", "opening"), [
    # 2026-03-08, clocks jump 02:00 EST -> 03:00 EDT: 07:30 local is 11:30 UTC, 08:00 local is 12:00 UTC.
    (utc(2026, 3, 8, 11, 30), utc(2026, 3, 8, 12, 0)),
    # 2026-11-01, clocks fall back 02:00 EDT -> 01:00 EST: 07:30 local is 12:30 UTC, 08:00 local is 13:00 UTC.
    (utc(2026, 11, 1, 12, 30), utc(2026, 11, 1, 13, 0)),
])
def test_on_dst_change_days_0730_waits_until_0800_local(early: datetime, opening: datetime) -> None:
    assert not in_send_window(early, TORONTO, ALL_WEEK)
    assert next_window_start(early, TORONTO, ALL_WEEK) == opening
    assert in_send_window(opening, TORONTO, ALL_WEEK)
    assert opening.astimezone(ZoneInfo(TORONTO)).hour == 8


def test_the_window_closes_at_20h_local_not_20h_utc() -> None:
    assert in_send_window(utc(2026, 7, 15, 23, 59), TORONTO, ALL_WEEK)  # 19:59 EDT
    assert not in_send_window(utc(2026, 7, 16, 0, 0), TORONTO, ALL_WEEK)  # 20:00 EDT
    assert next_window_start(utc(2026, 7, 16, 0, 0), TORONTO, ALL_WEEK) == utc(2026, 7, 16, 12, 0)


def test_inside_the_window_it_is_open_now() -> None:
    now = utc(2026, 1, 14, 17, 0)
    assert next_window_start(now, TORONTO, ALL_WEEK) == now


def test_weekend_waits_for_monday_morning_when_only_weekdays_are_allowed() -> None:
    saturday_noon = utc(2026, 1, 17, 17, 0)
    weekdays = window()
    assert not in_send_window(saturday_noon, TORONTO, weekdays)
    assert next_window_start(saturday_noon, TORONTO, weekdays) == utc(2026, 1, 19, 13, 0)  # Mon 08:00 EST


def test_friday_evening_waits_for_monday() -> None:
    friday_2030 = utc(2026, 1, 17, 1, 30)  # Fri 20:30 EST
    assert next_window_start(friday_2030, TORONTO, window()) == utc(2026, 1, 19, 13, 0)


def test_each_zone_has_its_own_morning() -> None:
    instant = utc(2026, 1, 14, 8, 30)  # 09:30 in Paris, 00:30 in Vancouver
    assert in_send_window(instant, "Europe/Paris", ALL_WEEK)
    assert not in_send_window(instant, "America/Vancouver", ALL_WEEK)
    assert next_window_start(instant, "America/Vancouver", ALL_WEEK) == utc(2026, 1, 14, 16, 0)


def test_a_window_opening_inside_the_skipped_hour_opens_at_the_jump() -> None:
    night = window("02:30-06:00", ("sun",))
    opening = next_window_start(utc(2026, 3, 8, 5, 0), TORONTO, night)
    assert opening == utc(2026, 3, 8, 7, 0)  # 03:00 EDT, the first wall time past 02:30 that day


def test_a_window_entirely_inside_the_skipped_hour_waits_a_week() -> None:
    vanished = window("02:10-02:50", ("sun",))
    assert next_window_start(utc(2026, 3, 8, 5, 0), TORONTO, vanished) == utc(2026, 3, 15, 6, 10)


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        in_send_window(datetime(2026, 1, 14, 12, 0), TORONTO, ALL_WEEK)


def test_unknown_zones_fall_back_instead_of_crashing() -> None:
    assert resolve_zone("Mars/Olympus_Mons", TORONTO) == TORONTO
    assert resolve_zone("", TORONTO) == TORONTO
    assert resolve_zone("../../etc/passwd", "Europe/Paris") == "Europe/Paris"
    assert resolve_zone("nope", "also/nope") == "UTC"
    assert resolve_zone("Europe/Paris", TORONTO) == "Europe/Paris"
    with pytest.raises(ValueError, match="unknown time zone"):
        in_send_window(utc(2026, 1, 14, 12, 0), "Mars/Olympus_Mons", ALL_WEEK)
