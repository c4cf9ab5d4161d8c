"""The figures as JSON (CLI, scripts) and as one CSV table per figure (the dashboard's exports)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from gateway.insights.figures import BUCKET_NAMES, DIRECTIONS, ProgramFigures, from_epoch

# The tables a coordinator can download, in the order the page shows them.
TABLES = ("summary", "weekly", "response_times", "response_distribution", "quiet_pairs",
          "never_started_pairs")


def _iso(seconds: int | None) -> str | None:
    return from_epoch(seconds).isoformat() if seconds is not None else None


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def summary(figures: ProgramFigures) -> dict[str, Any]:
    """The headline figures, flat: what the digest, the report and the summary CSV show."""
    mod, rem, pairs = figures.moderation, figures.reminders, figures.pairs
    out: dict[str, Any] = {
        "since": _iso(figures.window.since), "until": _iso(figures.window.until),
        "pairs": pairs.total, "active_pairs": pairs.active,
        "never_started_pairs": len(pairs.never_started), "quiet_pairs": len(pairs.quiet),
        "quiet_days": figures.quiet_days, "messages_written": figures.messages_written,
        "mentees": figures.mentees_total, "mentees_who_wrote": figures.mentees_wrote,
        "mentee_share": _round(figures.mentee_share),
    }
    for stats in figures.responses:
        out[f"{stats.direction}_responses"] = stats.count
        out[f"{stats.direction}_median_hours"] = _round(_hours(stats.median), 2)
        out[f"{stats.direction}_p90_hours"] = _round(_hours(stats.p90), 2)
    out.update({
        "checked_messages": mod.checked, "held_messages": mod.held, "held_rate": _round(mod.held_rate),
        "rejected_messages": mod.rejected, "still_held": mod.still_held,
        "decisions": mod.decided, "median_decision_hours": _round(_hours(mod.median_decision), 2),
        "reports": mod.reports, "reminders_sent": rem.sent,
        "reminded_pairs": rem.reminded_pairs, "resumed_pairs": rem.resumed_pairs,
        "resumed_share": _round(rem.resumed_share),
    })
    return out


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / 3600


def to_json(figures: ProgramFigures) -> dict[str, Any]:
    return {
        "summary": summary(figures),
        "weekly": [{"week": w.week.isoformat(), "mentor_to_mentee": w.mentor_to_mentee,
                    "mentee_to_mentor": w.mentee_to_mentor} for w in figures.weekly],
        "response_distribution": {s.direction: dict(zip(BUCKET_NAMES, s.buckets, strict=True))
                                  for s in figures.responses},
        "quiet_pairs": [{"pair": pid, "last_exchange": _iso(at)} for pid, at in figures.pairs.quiet],
        "never_started_pairs": list(figures.pairs.never_started),
    }


def table(figures: ProgramFigures, name: str) -> tuple[list[str], list[Sequence[Any]]]:
    """(header, rows) of one downloadable figure; KeyError for an unknown name."""
    if name == "summary":
        return ["figure", "value"], [[k, "" if v is None else v] for k, v in summary(figures).items()]
    if name == "weekly":
        return (["week", "mentor_to_mentee", "mentee_to_mentor"],
                [[w.week.isoformat(), w.mentor_to_mentee, w.mentee_to_mentor] for w in figures.weekly])
    if name == "response_times":
        return (["direction", "responses", "median_hours", "p90_hours"],
                [[s.direction, s.count, _blank(_round(_hours(s.median), 2)),
                  _blank(_round(_hours(s.p90), 2))] for s in figures.responses])
    if name == "response_distribution":
        by = {s.direction: s.buckets for s in figures.responses}
        return (["bucket", *DIRECTIONS],
                [[bucket, *(by[d][i] for d in DIRECTIONS)] for i, bucket in enumerate(BUCKET_NAMES)])
    if name == "quiet_pairs":
        return ["pair", "last_exchange"], [[pid, _iso(at)] for pid, at in figures.pairs.quiet]
    if name == "never_started_pairs":
        return ["pair"], [[pid] for pid in figures.pairs.never_started]
    raise KeyError(name)


def _blank(value: object) -> object:
    return "" if value is None else value


def to_csv(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()
