"""Measure the shipped rules on the labelled FR/EN evaluation set: recall, false holds, confusion."""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from gateway.moderation.chain import Decision, evaluate
from gateway.moderation.facts import facts_from_message
from gateway.moderation.rules import RuleSet, load_rules

ROOT = Path(__file__).resolve().parents[1]
EVAL = ROOT / "tests" / "data" / "moderation-eval"
ALIASES = ("mentor-7k2p@relay.example.org", "mentee-q9x4@relay.example.org")
HELD = ("hold", "reject")
TARGETS = {"contact": 0.98, "safety": 0.95, "false_holds": 0.02}


def load_split(name: str) -> list[dict[str, str]]:
    lines = (EVAL / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def as_message(row: dict[str, str]) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"] = ALIASES
    msg["Subject"] = row.get("subject", "Re: mentorat")
    msg.set_content(row["text"])
    if row.get("html"):
        msg.add_alternative(row["html"], subtype="html")
    return bytes(msg)


def decide(rules: RuleSet, row: dict[str, str]) -> Decision:
    """What `mentor-gateway rules test --minor` decides: a later message (not the first) between
    a mentor and a minor, in the row's direction (mentor to mentee unless it says otherwise)."""
    direction = row.get("direction", "mentor_to_mentee")
    facts = facts_from_message(
        as_message(row), direction=direction,  # type: ignore[arg-type]
        sender_is_minor=direction == "mentee_to_mentor",
        recipient_is_minor=direction == "mentor_to_mentee", pair_aliases=ALIASES)
    return evaluate(rules, facts)


@dataclass
class Report:
    total: Counter[str] = field(default_factory=Counter)
    held: Counter[str] = field(default_factory=Counter)
    # category -> the rule that explains the hold (the first, rules sorted by severity) or "-"
    confusion: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    misses: list[tuple[str, str]] = field(default_factory=list)  # (id, text)
    false_holds: list[tuple[str, str, str]] = field(default_factory=list)  # (id, rules, text)

    def recall(self, category: str) -> float:
        return self.held[category] / max(self.total[category], 1)

    @property
    def false_hold_rate(self) -> float:
        return self.held["clean"] / max(self.total["clean"], 1)

    def failures(self) -> list[str]:
        """Targets this report misses, in words ([] when every target is met)."""
        failed = []
        for category in sorted(self.total):
            if category == "clean":
                continue
            target = TARGETS["contact"] if category == "contact" else TARGETS["safety"]
            if self.recall(category) < target:
                failed.append(f"{category}: recall {self.recall(category):.3f} < {target}")
        if self.false_hold_rate > TARGETS["false_holds"]:
            failed.append(f"clean: false holds {self.false_hold_rate:.3f} > "
                          f"{TARGETS['false_holds']}")
        return failed


def measure(rules: RuleSet, rows: list[dict[str, str]]) -> Report:
    report = Report()
    for row in rows:
        category = row["category"]
        decision = decide(rules, row)
        report.total[category] += 1
        held = decision.verdict in HELD
        rule_names = sorted({h.rule for h in decision.hits})
        report.confusion[category][decision.hits[0].rule if held else "-"] += 1
        if held:
            report.held[category] += 1
        if held and row["label"] == "pass":
            report.false_holds.append((row["id"], ",".join(rule_names), row["text"]))
        if not held and row["label"] == "hold":
            report.misses.append((row["id"], row["text"]))
    return report


def print_report(name: str, report: Report, verbose: bool) -> None:
    print(f"== {name}: {sum(report.total.values())} messages")
    print(f"{'category':<10}{'n':>5}{'held':>6}{'recall':>8}   caught by (first rule of the hold)")
    for category in sorted(report.total, key=lambda c: (c == "clean", c)):
        by = ", ".join(f"{rule} {count}" for rule, count in report.confusion[category].most_common())
        rate = report.recall(category)
        label = "false holds" if category == "clean" else "recall"
        print(f"{category:<10}{report.total[category]:>5}{report.held[category]:>6}"
              f"{rate:>8.3f}   {by}" + ("  <- " + label if category == "clean" else ""))
    failed = report.failures()
    print("targets: " + ("all met" if not failed else "; ".join(failed)))
    if verbose:
        for row_id, text in report.misses:
            print(f"  MISS {row_id}: {text}")
        for row_id, rules, text in report.false_holds:
            print(f"  FALSE HOLD {row_id} [{rules}]: {text}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("splits", nargs="*", default=["dev", "heldout"])
    parser.add_argument("-v", "--verbose", action="store_true", help="list misses and false holds")
    args = parser.parse_args()
    rules = load_rules(ROOT / "relay_rules")
    for name in args.splits:
        if (EVAL / f"{name}.jsonl").exists():
            print_report(name, measure(rules, load_split(name)), args.verbose)


if __name__ == "__main__":
    main()
