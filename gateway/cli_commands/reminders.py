"""`reminders preview` and `reminders run`: the scheduler's check, by hand or from cron."""

from __future__ import annotations

import argparse
from typing import Any

from gateway.cli_commands.base import at_time, command, emit, with_db
from gateway.config import Settings


@command
def register(sub: Any) -> None:
    rem = sub.add_parser("reminders", help="quiet-pair reminders").add_subparsers(dest="action", required=True)
    p = rem.add_parser("preview", help="what would be sent now (or --at a time), to whom and why")
    p.add_argument("--at", default=None, help="ISO time, e.g. 2026-12-01T10:00:00-05:00 (UTC if no offset)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=preview)
    p = rem.add_parser("run", help="queue the reminders that are due (once)")
    p.add_argument("--at", default=None)
    p.set_defaults(handler=run)


def preview(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.reminders.service import find_due

    at = at_time(args.at)
    due = with_db(settings, lambda s: find_due(s, settings, at), read_only=True)
    items = [{"pair_id": d.pair_id, "rule": d.rule, "step": d.step, "to_role": d.to_role,
              "reason": d.reason, "due_at": d.due_at.isoformat(), "key": d.key} for d in due]
    emit(args, items, "\n".join(f"pair {d.pair_id:<6} {d.rule:<16} step {d.step} -> {d.to_role:<11} {d.reason}"
                                for d in due) or "no reminder is due")
    return 0


def run(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.reminders.service import find_due, queue_reminders

    at = at_time(args.at)
    count = with_db(settings, lambda s: queue_reminders(s, settings, find_due(s, settings, at), at))
    print(f"{count} reminder(s) queued")
    return 0
