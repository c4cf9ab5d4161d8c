"""`queue`, `rules` and `moderator` sub-commands over the moderation services."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from gateway.cli_commands.base import command, emit, now, with_db
from gateway.config import Settings
from gateway.program.staff import add_staff
from gateway.review import held
from gateway.review.excerpt import evidence_spans


@command
def register(sub: Any) -> None:
    queue = sub.add_parser("queue", help="held messages").add_subparsers(dest="action", required=True)
    p = queue.add_parser("list", help="held messages, oldest first")
    p.add_argument("--reason", default=None)
    p.add_argument("--pair", type=int, default=None)
    p.add_argument("--limit", type=int, default=100)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=queue_list)
    p = queue.add_parser("show", help="one held message with its evidence")
    p.add_argument("id", type=int)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=queue_show)
    p = queue.add_parser("approve", help="deliver a held message")
    p.add_argument("id", type=int)
    p.add_argument("--note", default=None)
    p.add_argument("--redact", action="store_true", help="replace the evidence before delivery")
    p.add_argument("--as", dest="actor", default="cli", help="who decides (for the audit trail)")
    p.set_defaults(handler=queue_approve)
    p = queue.add_parser("reject", help="refuse a held message; the sender gets the reason")
    p.add_argument("id", type=int)
    p.add_argument("--reason", required=True)
    p.add_argument("--as", dest="actor", default="cli")
    p.set_defaults(handler=queue_reject)

    rules = sub.add_parser("rules", help="moderation rules").add_subparsers(dest="action", required=True)
    p = rules.add_parser("check", help="validate every rule file")
    p.set_defaults(handler=rules_check)
    p = rules.add_parser("test", help="what the rules would decide for a message")
    p.add_argument("file", type=Path)
    p.add_argument("--from", dest="sender", choices=("mentor", "mentee"), default="mentee")
    p.add_argument("--minor", action="store_true")
    p.add_argument("--first", action="store_true", help="treat it as the pair's first message")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=rules_test)

    mod = sub.add_parser("moderator", help="moderators").add_subparsers(dest="action", required=True)
    p = mod.add_parser("add", help="register a moderator")
    p.add_argument("email")
    p.add_argument("--name", required=True)
    p.add_argument("--org", default=None)
    p.add_argument("--lang", default="fr", choices=("fr", "en"))
    p.set_defaults(handler=moderator_add)


DIRECTIONS = {"mentor_to_mentee": "mentor -> mentee", "mentee_to_mentor": "mentee -> mentor"}


def _local(at: datetime, settings: Settings) -> str:
    local = at.astimezone(ZoneInfo(settings.gateway.time_zone))
    return local.strftime("%Y-%m-%d %H:%M ") + (local.tzname() or "")


def queue_list(args: argparse.Namespace, settings: Settings) -> int:
    where = held.HeldFilter(reason=args.reason, pair_id=args.pair)
    items = with_db(settings, lambda s: held.list_held(s, where, limit=args.limit), read_only=True)
    if args.json or not items:
        emit(args, [i.to_json() for i in items], "the queue is empty")
        return 0
    rows = [("ID", "PAIR", "RECEIVED", "DIRECTION", "REASONS", "SUBJECT")]
    rows += [(str(i.id), str(i.pair_id), _local(i.received_at, settings),
              DIRECTIONS.get(i.direction, i.direction), ", ".join(i.reasons), i.subject[:40])
             for i in items]
    widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + "  " + row[-1])
    return 0


def marked(text: str, evidence: list[str]) -> str:
    """The text with each evidence passage between >>> and <<<, once, however many rules quoted
    it (overlapping or repeated passages merge instead of nesting markers)."""
    out, position = [], 0
    for start, end in evidence_spans(text, [{"evidence": e} for e in evidence]):
        out += [text[position:start], ">>>", text[start:end], "<<<"]
        position = end
    return "".join(out) + text[position:]


def hit_lines(hits: list[dict[str, Any]]) -> list[str]:
    """One line per rule (rules quoting the same passages share it): the passages, or the
    reason as a sentence (first message)."""
    by_rule: dict[tuple[str, str], list[str]] = {}
    reasons: dict[tuple[str, str], str] = {}
    for hit in hits:
        key = (str(hit.get("rule", "?")), str(hit.get("action", "")))
        evidence = str(hit.get("evidence") or "")
        found = by_rule.setdefault(key, [])
        if evidence and evidence not in found:
            found.append(evidence)
        reasons.setdefault(key, str(hit.get("reason_en") or ""))
    # Rules that quote the same passages share one line (a phone number is both contact details
    # and a move to another channel): the moderator reads each passage once.
    grouped: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for (rule, action), quoted in by_rule.items():
        group = (action, tuple(quoted)) if quoted else (action, (f"\0{rule}",))
        grouped.setdefault(group, []).append(rule)
    lines = []
    for (action, passages_or_rule), rules in grouped.items():
        passages = [e for e in passages_or_rule if not e.startswith("\0")]
        said = ", ".join(repr(e) for e in passages) if passages else (
            reasons[(rules[0], action)] or "(no passage)")
        lines.append(f"  * {', '.join(rules)} ({action}): {said}")
    return lines


def queue_show(args: argparse.Namespace, settings: Settings) -> int:
    detail = with_db(settings, lambda s: held.show_held(s, args.id), read_only=True)
    item = detail.item
    if args.json:
        emit(args, {**item.to_json(), "text": detail.text, "pair_state": detail.pair_state}, "")
        return 0
    age = now() - item.received_at
    print(f"message {item.id}  pair {item.pair_id} ({detail.pair_state})  "
          f"{DIRECTIONS.get(item.direction, item.direction)}")
    print(f"from {detail.sender_name} to {detail.recipient_name}, received "
          f"{_local(item.received_at, settings)} ({int(age.total_seconds() // 3600)} h ago)")
    print(f"subject: {item.subject}")
    print("\n".join(hit_lines(item.hits)))
    print("\n" + marked(detail.text, [str(h.get("evidence") or "") for h in item.hits]))
    return 0


def queue_approve(args: argparse.Namespace, settings: Settings) -> int:
    # Rendered first, outside the write: a running gateway's writer is not held meanwhile.
    prepared = with_db(settings, lambda s: held.render_for_approval(
        s, settings, args.id, redacted=args.redact), read_only=True)
    message = with_db(settings, lambda s: held.approve(
        s, settings, args.id, actor=args.actor, now=now(), note=args.note, redacted=args.redact,
        prepared=prepared))
    print(f"message {message.id} approved{' with redaction' if args.redact else ''}: queued for delivery")
    return 0


def queue_reject(args: argparse.Namespace, settings: Settings) -> int:
    message = with_db(settings, lambda s: held.reject(
        s, settings, args.id, actor=args.actor, now=now(), reason=args.reason))
    print(f"message {message.id} rejected; the sender will be told why")
    return 0


def rules_check(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.moderation.rules import check_rules

    problems = check_rules(Path(settings.gateway.rules_dir))
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 2
    print(f"{settings.gateway.rules_dir}: all rules are valid")
    return 0


def rules_test(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.moderation.chain import evaluate
    from gateway.moderation.facts import facts_from_message
    from gateway.moderation.rules import load_rules

    rules = load_rules(Path(settings.gateway.rules_dir))
    direction: Literal["mentor_to_mentee", "mentee_to_mentor"] = (
        "mentor_to_mentee" if args.sender == "mentor" else "mentee_to_mentor")
    facts = facts_from_message(args.file.read_bytes(), direction=direction,
                               sender_is_minor=args.minor and args.sender == "mentee",
                               recipient_is_minor=args.minor and args.sender == "mentor",
                               first_message=args.first)
    decision = evaluate(rules, facts)
    if args.json:
        print(json.dumps(decision.to_json(), ensure_ascii=False))
        return 0
    print(f"verdict: {decision.verdict}")
    for hit in decision.hits:
        print(f"  {hit.rule} ({hit.action}) in {hit.field}: {hit.evidence!r}")
    return 0


def moderator_add(args: argparse.Namespace, settings: Settings) -> int:
    staff = with_db(settings, lambda s: add_staff(
        s, email=args.email, name=args.name, role="moderator", org=args.org, lang=args.lang,
        now=now()))
    print(f"moderator {staff.id}: {staff.display_name} <{staff.email}>")
    return 0
