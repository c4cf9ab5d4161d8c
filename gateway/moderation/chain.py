"""Run every applicable rule on a message and combine all hits into one decision."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from gateway.moderation.detectors.read_fields import ReadFields
from gateway.moderation.facts import MessageFacts
from gateway.moderation.rules import RuleSet

Verdict = Literal["pass", "flag", "hold", "reject"]
STRENGTH: dict[str, int] = {"pass": 0, "flag": 1, "hold": 2, "reject": 3}
SEVERITY_RANK: dict[str, int] = {"": 0, "low": 1, "medium": 2, "high": 3}


@dataclass(frozen=True)
class Hit:
    rule: str
    action: str
    reason_fr: str
    reason_en: str
    field: str  # subject, text, html, attachment_names, header:<Name> or message
    evidence: str
    start: int  # offsets of the evidence in the field's text
    end: int
    severity: str = "medium"  # low | medium | high (the rule's)


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    hits: tuple[Hit, ...]

    @property
    def severity(self) -> str:
        """The highest severity among the hits that decided the verdict ("" when it passes)."""
        deciding = [h.severity for h in self.hits if h.action == self.verdict]
        return max(deciding, key=SEVERITY_RANK.__getitem__, default="")

    def to_json(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "severity": self.severity,
                "hits": [{"rule": h.rule, "action": h.action, "severity": h.severity,
                          "evidence": h.evidence, "field": h.field, "start": h.start,
                          "end": h.end, "reason_fr": h.reason_fr, "reason_en": h.reason_en}
                         for h in self.hits]}


def strongest(actions: list[str]) -> Verdict:
    """reject > hold > flag > pass, whatever the order the actions come in."""
    best: Verdict = "pass"
    for action in actions:
        if STRENGTH.get(action, 0) > STRENGTH[best]:
            best = action  # type: ignore[assignment]  # checked against STRENGTH's keys
    return best


def evaluate(rules: RuleSet, facts: MessageFacts) -> Decision:
    """Every hit of every applicable rule, and the strongest of their actions as the verdict."""
    fields = ReadFields(facts, rules.scan)
    hits: list[Hit] = []
    for rule in rules.rules:
        if not rule.applies_to(facts):
            continue
        for finding in dict.fromkeys(rule.matcher.find(fields)):
            hits.append(Hit(rule=rule.name, action=rule.action, reason_fr=rule.reason_fr,
                            reason_en=rule.reason_en, field=finding.field,
                            evidence=finding.evidence, start=finding.start, end=finding.end,
                            severity=rule.severity))
    hits.sort(key=lambda h: (-STRENGTH[h.action], -SEVERITY_RANK[h.severity], h.rule, h.field,
                             h.start, h.end))
    return Decision(verdict=strongest([h.action for h in hits]), hits=tuple(hits))


def hit_json(hit: Hit) -> dict[str, object]:
    """A hit as stored with its message (Message.hits_json) and shown to moderators."""
    return {"rule": hit.rule, "action": hit.action, "field": hit.field, "evidence": hit.evidence,
            "start": hit.start, "end": hit.end, "reason_fr": hit.reason_fr, "reason_en": hit.reason_en,
            "severity": hit.severity}
