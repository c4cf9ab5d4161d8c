"""`retention run`: erase what participants wrote once the retention period is over (also hourly in serve)."""

from __future__ import annotations

import argparse
from typing import Any

from gateway.cli_commands.base import CliError, at_time, command, with_db
from gateway.config import Settings
from gateway.durations import parse_duration


@command
def register(sub: Any) -> None:
    ret = sub.add_parser("retention", help="erase old message bodies").add_subparsers(
        dest="action", required=True)
    p = ret.add_parser("run", help="erase what was settled more than [retention] keep_bodies_for ago")
    p.add_argument("--at", default=None, help="ISO time to count from (default: now)")
    p.add_argument("--dry-run", action="store_true",
                   help="only say how much would be erased; change nothing")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.store.retention import Erased, count_due, erase_batch, record_erasure

    if not settings.retention.enabled:
        raise CliError("[retention] enabled = false in the configuration: nothing is erased")
    at, keep = at_time(args.at), parse_duration(settings.retention.keep_bodies_for)
    if args.dry_run:
        due = with_db(settings, lambda s: count_due(s, at, keep), read_only=True)
        print(f"dry run: would erase {due.messages} message(s) and {due.outbox_copies} outgoing "
              f"copie(s) settled more than {settings.retention.keep_bodies_for} before {at:%Y-%m-%d %H:%M %Z}; "
              "nothing was changed")
        return 0
    total = Erased(0, 0)
    while erased := with_db(settings, lambda s: erase_batch(s, at, keep)):
        total += erased  # one short transaction per batch, as in `serve`
    if total:
        with_db(settings, lambda s: record_erasure(s, at, keep, total))
    print(f"erased {total.messages} message(s) and {total.outbox_copies} outgoing copie(s) "
          f"settled more than {settings.retention.keep_bodies_for} ago")
    return 0
