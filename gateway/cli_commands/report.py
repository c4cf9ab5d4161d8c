"""`report`: the program figures of the dashboard, for an organization and a period, as text or JSON."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from gateway.cli_commands.base import CliError, command, emit, now, with_db
from gateway.config import Settings


@command
def register(sub: Any) -> None:
    p = sub.add_parser("report", help="program figures (the /program dashboard's) for a period")
    p.add_argument("--org", default=None, help="only this organization's pairs (its exact name)")
    p.add_argument("--since", default=None, help="start, ISO date or time (default: the beginning)")
    p.add_argument("--until", default=None, help="end, excluded (default: now)")
    p.add_argument("--quiet-days", type=int, default=None,
                   help="days without an exchange that make a pair quiet ([insights] quiet_days)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=report)


def moment(option: str, value: str | None) -> datetime | None:
    """An ISO date (midnight UTC) or time (UTC if it has no offset)."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise CliError(f"{option}: {value!r} is not an ISO date or time such as 2026-09-01") from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def report(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.insights.export import summary, to_json
    from gateway.insights.load import program_figures
    from gateway.program.service import find_organization

    since, until = moment("--since", args.since), moment("--until", args.until)
    if since and until and since >= until:
        raise CliError("--since must be before --until")
    quiet_days = args.quiet_days or settings.insights.quiet_days
    if not 1 <= quiet_days <= 365:
        raise CliError("--quiet-days must be between 1 and 365")
    at = now()

    def figures(session: Any) -> Any:
        org = find_organization(session, args.org)
        scope = None if org is None or org.id is None else (org.id,)
        return program_figures(session, scope, since=since, until=until, now=at,
                               quiet_days=quiet_days)

    result = with_db(settings, figures, read_only=True)
    data = to_json(result)
    data["summary"]["organization"] = args.org
    lines = [f"{key:<32} {'—' if value is None else value}" for key, value in summary(result).items()]
    if result.pairs.quiet:
        lines.append("quiet pairs: " + " ".join(str(pid) for pid, _ in result.pairs.quiet))
    emit(args, data, "\n".join(lines))
    return 0
