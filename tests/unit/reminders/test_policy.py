"""Who is owed a nudge at `now`: every rule and step, supersession, caps, opt-outs, states and zones."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from gateway.reminders.policy import DueReminder, PairActivity, due_reminders, earliest_delay
from gateway.reminders.rules import DEFAULT_RULES, ReminderRule, SendWindow, Step

from .conftest import ALL_WEEK, ALWAYS, NOON, TORONTO, pair, person, rule, window

DAY = timedelta(days=1)
AWAITING, SILENT, NEVER = rule("awaiting_reply"), rule("silent_pair"), rule("never_started")


def due(pairs: list[PairActivity], rules: tuple[ReminderRule, ...] = DEFAULT_RULES,
        now: datetime = NOON, send_window: SendWindow = ALL_WEEK) -> list[DueReminder]:
    return due_reminders(pairs, rules, send_window, TORONTO, now)


def who(reminders: list[DueReminder]) -> list[tuple[str, int, str]]:
    return [(r.rule, r.step, r.to_role) for r in reminders]


def sent(*reminders: DueReminder) -> frozenset[str]:
    return frozenset(r.key for r in reminders)


# --- awaiting_reply -------------------------------------------------------------------------

def test_awaited_mentee_is_reminded_after_three_days_not_before() -> None:
    quiet_pair = pair(last_at=NOON - 3 * DAY, last_from="mentor")
    assert due([quiet_pair], (AWAITING,), now=NOON - timedelta(minutes=1)) == []
    (reminder,) = due([quiet_pair], (AWAITING,))
    assert reminder == DueReminder(
        key="7:awaiting_reply:0:100:mentee", pair_id=7, rule="awaiting_reply", step=0, to_role="mentee",
        template="reminder_awaiting_reply", lang="fr", partner_role="mentor",
        reason="mentee has not answered the mentor for 3 days", due_at=NOON,
    )


def test_awaited_mentor_is_reminded_in_the_mentors_language() -> None:
    (reminder,) = due([pair(last_at=NOON - 3 * DAY, last_from="mentee")], (AWAITING,))
    assert (reminder.to_role, reminder.lang, reminder.partner_role) == ("mentor", "en", "mentee")
    assert reminder.reason == "mentor has not answered the mentee for 3 days"


def test_second_reminder_at_seven_days_then_coordinator_at_ten() -> None:
    anchor = NOON - 10 * DAY
    first = due([pair(last_at=anchor)], (AWAITING,), now=anchor + 3 * DAY)
    assert who(first) == [("awaiting_reply", 0, "mentee")]
    assert due([pair(last_at=anchor, sent=sent(*first))], (AWAITING,), now=anchor + 6 * DAY) == []
    second = due([pair(last_at=anchor, sent=sent(*first))], (AWAITING,), now=anchor + 7 * DAY)
    assert who(second) == [("awaiting_reply", 1, "mentee")]
    escalation = due([pair(last_at=anchor, sent=sent(*first, *second))], (AWAITING,), now=anchor + 10 * DAY)
    assert who(escalation) == [("awaiting_reply", 2, "coordinator")]
    (coordinator,) = escalation
    assert (coordinator.lang, coordinator.partner_role, coordinator.template) == (
        None, None, "reminder_escalation")
    assert coordinator.reason == "mentee has not answered the mentor for 10 days; telling the coordinator"


def test_a_sent_step_is_not_sent_again() -> None:
    first = due([pair(last_at=NOON - 3 * DAY)], (AWAITING,))
    assert due([pair(last_at=NOON - 3 * DAY, sent=sent(*first))], (AWAITING,), now=NOON + DAY) == []


def test_reply_changes_the_anchor_and_stops_the_reminders() -> None:
    anchor = NOON - 7 * DAY
    first = due([pair(last_at=anchor)], (AWAITING,), now=anchor + 3 * DAY)
    reply_at = anchor + 5 * DAY
    answered = pair(last_at=reply_at, last_from="mentee", message_id=101, sent=sent(*first))
    assert due([answered], (AWAITING,), now=anchor + 7 * DAY) == []  # the mentee's 7-day step is gone
    (now_mentor,) = due([answered], (AWAITING,), now=reply_at + 3 * DAY)
    assert (now_mentor.to_role, now_mentor.step, now_mentor.key) == (
        "mentor", 0, "7:awaiting_reply:0:101:mentor")


# --- several steps due at once ----------------------------------------------------------------

@pytest.mark.parametrize(("days_off", "expected"), [
    (8, [("awaiting_reply", 1, "mentee")]),
    (11, [("awaiting_reply", 2, "coordinator")]),
])
def test_after_downtime_only_the_latest_due_step_is_sent(days_off: int, expected: list[tuple[str, int, str]]) -> None:
    assert who(due([pair(last_at=NOON - days_off * DAY)], (AWAITING,))) == expected


def test_superseded_steps_are_never_sent_late() -> None:
    anchor = NOON - 11 * DAY
    latest = due([pair(last_at=anchor)], (AWAITING,))
    assert due([pair(last_at=anchor, sent=sent(*latest))], (AWAITING,), now=NOON + 5 * DAY) == []


def test_never_goes_back_to_an_earlier_step_when_a_later_one_was_sent() -> None:
    later = frozenset({"7:awaiting_reply:2:100:coordinator"})
    assert due([pair(last_at=NOON - 8 * DAY, sent=later)], (AWAITING,)) == []


# --- max_reminders --------------------------------------------------------------------------

def test_max_reminders_caps_the_count_per_anchor() -> None:
    capped = replace(AWAITING, max_reminders=1)
    first = due([pair(last_at=NOON - 3 * DAY)], (capped,))
    assert len(first) == 1
    assert due([pair(last_at=NOON - 7 * DAY, sent=sent(*first))], (capped,)) == []
    assert due([pair(last_at=NOON - 10 * DAY, sent=sent(*first))], (capped,)) == []
    fresh_anchor = pair(last_at=NOON - 3 * DAY, message_id=200, sent=sent(*first))
    assert len(due([fresh_anchor], (capped,))) == 1  # the cap is per anchor, not forever


def test_unrelated_or_garbled_sent_keys_do_not_count_toward_the_cap() -> None:
    capped = replace(AWAITING, max_reminders=1)
    noise = frozenset({"8:awaiting_reply:0:100:mentee", "7:silent_pair:0:100:mentor",
                       "7:awaiting_reply:0:99:mentee", "garbage", "7:awaiting_reply:x:100:mentee"})
    assert len(due([pair(last_at=NOON - 3 * DAY, sent=noise)], (capped,))) == 1


# --- silent_pair and never_started --------------------------------------------------------------

def test_silent_pair_nudges_both_after_fourteen_days() -> None:
    quiet = pair(last_at=NOON - 14 * DAY, last_from="mentee")
    assert due([quiet], (SILENT,), now=NOON - timedelta(hours=1)) == []
    reminders = due([quiet], (SILENT,))
    assert [(r.to_role, r.partner_role, r.lang) for r in reminders] == [
        ("mentor", "mentee", "en"), ("mentee", "mentor", "fr")]
    assert {r.key for r in reminders} == {"7:silent_pair:0:100:mentor", "7:silent_pair:0:100:mentee"}
    assert reminders[0].reason == "no message either way for 14 days"


def test_silent_pair_ignores_pairs_that_never_started() -> None:
    assert due([pair(last_at=None, created_at=NOON - 30 * DAY)], (SILENT,)) == []


def test_never_started_nudges_the_mentee_then_the_mentor() -> None:
    created = NOON - 8 * DAY
    assert due([pair(created_at=created)], (NEVER,), now=created + 5 * DAY - timedelta(minutes=1)) == []
    mentee_nudge = due([pair(created_at=created)], (NEVER,), now=created + 5 * DAY)
    assert [(r.to_role, r.key) for r in mentee_nudge] == [("mentee", "7:never_started:0:start:mentee")]
    assert mentee_nudge[0].reason == "no message since the pair was created 5 days ago"
    mentor_nudge = due([pair(created_at=created, sent=sent(*mentee_nudge))], (NEVER,))
    assert [(r.to_role, r.key) for r in mentor_nudge] == [("mentor", "7:never_started:1:start:mentor")]


def test_never_started_stops_once_a_message_is_delivered() -> None:
    started = pair(created_at=NOON - 8 * DAY, last_at=NOON - timedelta(hours=2))
    assert due([started], (NEVER,)) == []


# --- who never gets reminders ----------------------------------------------------------------

@pytest.mark.parametrize("state", ["paused", "closed"])
def test_paused_and_closed_pairs_get_nothing(state: str) -> None:
    pairs = [pair(state=state, last_at=NOON - 14 * DAY), pair(state=state, created_at=NOON - 8 * DAY)]
    assert due(pairs) == []


def test_opted_out_participant_is_skipped_but_the_coordinator_is_still_told() -> None:
    opted_out = person("mentee", reminders_opt_out=True)
    assert due([pair(last_at=NOON - 3 * DAY, mentee=opted_out)], (AWAITING,)) == []
    assert due([pair(last_at=NOON - 7 * DAY, mentee=opted_out)], (AWAITING,)) == []
    escalation = due([pair(last_at=NOON - 10 * DAY, mentee=opted_out)], (AWAITING,))
    assert who(escalation) == [("awaiting_reply", 2, "coordinator")]


def test_silent_pair_with_one_opted_out_nudges_only_the_other() -> None:
    quiet = pair(last_at=NOON - 14 * DAY, mentor=person("mentor", reminders_opt_out=True))
    assert [r.to_role for r in due([quiet], (SILENT,))] == ["mentee"]


# --- keys ----------------------------------------------------------------------------------

def test_keys_are_stable_and_unique_across_pairs_rules_and_recipients() -> None:
    pairs = [pair(pair_id=1, last_at=NOON - 14 * DAY), pair(pair_id=2, last_at=NOON - 14 * DAY),
             pair(pair_id=3, created_at=NOON - 5 * DAY), pair(pair_id=4, last_at=NOON - 3 * DAY)]
    first, again = due(pairs), due(list(pairs))
    assert first == again
    keys = [r.key for r in first]
    assert len(keys) == len(set(keys)) == 8
    assert "1:awaiting_reply:2:100:coordinator" in keys and "1:silent_pair:0:100:mentee" in keys


# --- decent hours --------------------------------------------------------------------------

@pytest.mark.parametrize(("due_instant", "opening"), [
    (datetime(2026, 3, 8, 11, 30, tzinfo=UTC), datetime(2026, 3, 8, 12, 0, tzinfo=UTC)),  # 07:30 EDT
    (datetime(2026, 11, 1, 12, 30, tzinfo=UTC), datetime(2026, 11, 1, 13, 0, tzinfo=UTC)),  # 07:30 EST
])
def test_due_at_0730_on_a_dst_day_goes_out_at_0800_local(due_instant: datetime, opening: datetime) -> None:
    quiet = pair(last_at=due_instant - 3 * DAY)
    assert due([quiet], (AWAITING,), now=due_instant) == []
    assert due([quiet], (AWAITING,), now=opening - timedelta(seconds=1)) == []
    (reminder,) = due([quiet], (AWAITING,), now=opening)
    assert reminder.due_at == due_instant


def test_weekend_due_reminder_waits_for_monday() -> None:
    saturday_noon = datetime(2026, 1, 17, 17, 0, tzinfo=UTC)
    quiet = pair(last_at=saturday_noon - 3 * DAY)
    weekdays_only = window()
    assert due([quiet], (AWAITING,), now=saturday_noon, send_window=weekdays_only) == []
    monday_0800 = datetime(2026, 1, 19, 13, 0, tzinfo=UTC)
    assert who(due([quiet], (AWAITING,), now=monday_0800, send_window=weekdays_only)) == [
        ("awaiting_reply", 0, "mentee")]


def test_each_participant_is_reminded_in_their_own_morning() -> None:
    paris, vancouver = person("mentor", tz="Europe/Paris"), person("mentee", tz="America/Vancouver")
    anchor = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
    morning_in_paris = datetime(2026, 1, 15, 8, 30, tzinfo=UTC)  # 09:30 Paris, 00:30 Vancouver
    first = due([pair(last_at=anchor, mentor=paris, mentee=vancouver)], (SILENT,), now=morning_in_paris)
    assert [r.to_role for r in first] == ["mentor"]
    morning_in_vancouver = datetime(2026, 1, 15, 16, 0, tzinfo=UTC)  # 08:00 Vancouver
    later = due([pair(last_at=anchor, mentor=paris, mentee=vancouver, sent=sent(*first))], (SILENT,),
                now=morning_in_vancouver)
    assert [r.to_role for r in later] == ["mentee"]  # completes the step despite max_reminders=1


def test_coordinator_escalation_follows_the_program_zone() -> None:
    paris = person("mentee", tz="Europe/Paris")
    night_in_toronto = datetime(2026, 1, 15, 8, 30, tzinfo=UTC)  # 03:30 Toronto, 09:30 Paris
    quiet = pair(last_at=night_in_toronto - 10 * DAY, mentee=paris)
    assert due([quiet], (AWAITING,), now=night_in_toronto) == []
    assert who(due([quiet], (AWAITING,), now=datetime(2026, 1, 15, 13, 0, tzinfo=UTC))) == [
        ("awaiting_reply", 2, "coordinator")]


# --- bad data ------------------------------------------------------------------------------

def test_unknown_participant_zone_uses_the_program_zone() -> None:
    lost = person("mentee", tz="Mars/Olympus_Mons")
    quiet = pair(last_at=NOON - 3 * DAY, mentee=lost)
    assert len(due([quiet], (AWAITING,))) == 1
    assert due([quiet], (AWAITING,), now=NOON + timedelta(hours=9)) == []  # 21:00 Toronto


def test_unknown_sender_skips_awaiting_reply_but_not_silent_pair() -> None:
    odd = replace(pair(last_at=NOON - 14 * DAY), last_delivered_from=None)
    assert [r.rule for r in due([odd])] == ["silent_pair", "silent_pair"]


def test_naive_datetimes_from_the_store_are_read_as_utc() -> None:
    naive = pair(last_at=(NOON - 3 * DAY).replace(tzinfo=None))
    (reminder,) = due([naive], (AWAITING,))
    assert reminder.due_at == NOON


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        due([pair(last_at=NOON - 3 * DAY)], now=NOON.replace(tzinfo=None))


def test_a_window_that_is_always_open_sends_at_night() -> None:
    midnight = datetime(2026, 1, 15, 5, 0, tzinfo=UTC)  # 00:00 Toronto
    assert len(due([pair(last_at=midnight - 3 * DAY)], (AWAITING,), now=midnight, send_window=ALWAYS)) == 1
    assert due([pair(last_at=midnight - 3 * DAY)], (AWAITING,), now=midnight) == []


# --- earliest_delay ------------------------------------------------------------------------

def test_earliest_delay_is_the_shortest_step() -> None:
    assert earliest_delay(DEFAULT_RULES) == 3 * DAY
    quick = ReminderRule("quick", "never_started", (Step(timedelta(minutes=90), "mentee"),), 1, "reminder_never_started")
    assert earliest_delay((*DEFAULT_RULES, quick)) == timedelta(minutes=90)
    with pytest.raises(ValueError):
        earliest_delay(())
