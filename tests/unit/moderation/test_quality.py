"""The shipped rules meet the quality targets on the labelled dev split (see docs/moderation.md).

The held-out splits are measured by bench/moderation_quality.py only: a test on them would
invite tuning the rules to them, which is what they are there to catch.
"""

from __future__ import annotations

from bench.moderation_quality import load_split, measure
from gateway.moderation.rules import RuleSet


def test_dev_split_meets_recall_and_false_hold_targets(shipped: RuleSet) -> None:
    rows = load_split("dev")
    assert len(rows) >= 600
    counts = {c: sum(1 for r in rows if r["category"] == c) for c in {r["category"] for r in rows}}
    assert counts["contact"] >= 200 and counts["clean"] >= 250
    assert sum(n for c, n in counts.items() if c not in ("contact", "clean")) >= 150
    report = measure(shipped, rows)
    misses = "\n".join(f"{i}: {t}" for i, t in report.misses)
    holds = "\n".join(f"{i} [{r}]: {t}" for i, r, t in report.false_holds)
    assert report.failures() == [], f"misses:\n{misses}\nfalse holds:\n{holds}"
