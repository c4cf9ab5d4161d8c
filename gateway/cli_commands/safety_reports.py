"""`reports` sub-commands (`report` prints the program figures): list, show and decide reports and contact mail (resume, close, block)."""

from __future__ import annotations

import argparse
from typing import Any

from gateway.cli_commands.base import command, emit, now, with_db
from gateway.config import Settings
from gateway.review import reports


@command
def register(sub: Any) -> None:
    report = sub.add_parser("reports", help="safeguarding reports and contact mail").add_subparsers(
        dest="action", required=True)
    p = report.add_parser("list", help="open reports first, then contact mail")
    p.add_argument("--state", default="open",
                   choices=("open", "resumed", "closed", "blocked", "done", "all"))
    p.add_argument("--limit", type=int, default=100)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=report_list)
    p = report.add_parser("show", help="one report: what was written, the reported message, history")
    p.add_argument("id", type=int)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=report_show)
    for action, text in (("resume", "resume the paused pair"), ("close", "close the pair"),
                         ("block", "close the pair and block the reported participant from new pairs")):
        p = report.add_parser(action, help=text)
        p.add_argument("id", type=int)
        p.add_argument("--note", default=None)
        p.add_argument("--as", dest="actor", default="cli", help="who decides (for the audit trail)")
        p.set_defaults(handler=report_decide, decision=action)


def report_list(args: argparse.Namespace, settings: Settings) -> int:
    state = None if args.state == "all" else args.state
    items = with_db(settings, lambda s: reports.list_reports(s, state=state, limit=args.limit),
                    read_only=True)
    emit(args, [i.to_json() for i in items],
         "\n".join(f"{i.id:>6}  {i.kind:<7} {i.state:<8} pair {i.pair_id or '-':<6} "
                   f"{i.created_at:%Y-%m-%d %H:%M}  {i.source:<8} {i.reporter}  {i.subject[:40]}"
                   for i in items) or "no reports")
    return 0


def report_show(args: argparse.Namespace, settings: Settings) -> int:
    detail = with_db(settings, lambda s: reports.show_report(s, args.id), read_only=True)
    item = detail.item
    if args.json:
        emit(args, {**item.to_json(), "pair_state": detail.pair_state, "text": detail.report_text,
                    "reported_message_id": detail.reported_message_id,
                    "reported_text": detail.reported_text,
                    "history": [{"id": h.id, "received_at": h.received_at.isoformat(),
                                 "direction": h.direction, "state": h.state, "subject": h.subject}
                                for h in detail.history]}, "")
        return 0
    print(f"{item.kind} {item.id}  {item.state}  pair {item.pair_id or '-'} ({detail.pair_state or '-'})"
          f"  from {item.reporter}  {item.created_at:%Y-%m-%d %H:%M}  by {item.source}")
    print(f"subject: {item.subject}\n\n{detail.report_text}")
    if detail.reported_message_id:
        print(f"\n--- reported message {detail.reported_message_id} ---\n{detail.reported_text}")
    if detail.history:
        print("\n--- recent history ---")
        for h in detail.history:
            print(f"{h.id:>7}  {h.received_at:%Y-%m-%d %H:%M}  {h.direction:<17} {h.state:<9} {h.subject[:40]}")
    return 0


def report_decide(args: argparse.Namespace, settings: Settings) -> int:
    report = with_db(settings, lambda s: reports.decide(
        s, settings, args.id, args.decision, actor=args.actor, now=now(), note=args.note))
    print(f"report {report.id}: {report.state}")
    return 0
