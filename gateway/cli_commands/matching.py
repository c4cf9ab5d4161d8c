"""`match` sub-commands: global suggestions, accepting or skipping them, approvals and blocks."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from gateway.cli_commands.base import CliError, command, emit, now, with_db
from gateway.config import Settings

if TYPE_CHECKING:
    from gateway.matching.service import SuggestionView


@command
def register(sub: Any) -> None:
    match = sub.add_parser("match", help="suggest mentors for unpaired mentees").add_subparsers(
        dest="action", required=True)
    p = match.add_parser("suggest", help="one global assignment for the unpaired mentees")
    p.add_argument("--org", default=None, help="only this organization's mentees")
    p.add_argument("--limit", type=int, default=None, help="at most N suggestions (best first)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=suggest)
    p = match.add_parser("list", help="stored suggestions")
    p.add_argument("--state", default="proposed",
                   choices=("proposed", "accepted", "skipped", "superseded"))
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=list_)
    p = match.add_parser("accept", help="create the pairs (consent rules apply; introductions)")
    p.add_argument("ids", type=int, nargs="*")
    p.add_argument("--all", action="store_true", help="every proposed suggestion")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=accept)
    p = match.add_parser("skip", help="drop a suggestion; never suggest these two again")
    p.add_argument("id", type=int)
    p.set_defaults(handler=skip)
    p = match.add_parser("unmapped", help="stored interests that match no career field")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=unmapped)
    p = match.add_parser("approve", help="an organization accepts only mentors it approved")
    p.add_argument("--org", required=True)
    p.add_argument("mentors", nargs="+", help="mentor email addresses")
    p.set_defaults(handler=approve)
    p = match.add_parser("block", help="never suggest this mentor to this mentee")
    p.add_argument("mentee")
    p.add_argument("mentor")
    p.add_argument("--reason", default="")
    p.set_defaults(handler=block)


def _line(s: SuggestionView) -> str:
    why = ", ".join(s.reasons) if s.reasons else "same language only"
    return (f"#{s.id}  {s.mentee_name} <{s.mentee}>  ->  {s.mentor_name} <{s.mentor}>  "
            f"score {s.score:.2f}  ({why}){f'  [{s.org}]' if s.org else ''}")


def suggest(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.matching import service

    if args.limit is not None and args.limit < 0:
        raise CliError("--limit must be 0 or more")
    views = with_db(settings, lambda s: service.suggest(
        s, settings, org=args.org, limit=args.limit, now=now()))
    emit(args, [v.to_json() for v in views],
         "\n".join(_line(v) for v in views) or "no suggestion: no unpaired mentee fits a mentor "
                                                "with a free place")
    return 0


def list_(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.matching import service

    views = with_db(settings, lambda s: service.list_suggestions(s, state=args.state),
                    read_only=True)
    emit(args, [v.to_json() for v in views], "\n".join(_line(v) for v in views) or "none")
    return 0


def accept(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.matching import service

    if bool(args.ids) == bool(args.all):
        raise CliError("give suggestion ids, or --all")
    results = with_db(settings, lambda s: service.accept(
        s, settings, None if args.all else args.ids, now=now()))
    emit(args, [{"id": i, "pair_id": v.pair_id if v else None, "error": e} for i, v, e in results],
         "\n".join(f"#{i}: pair {v.pair_id} created" if v else f"#{i}: not accepted: {e}"
                   for i, v, e in results) or "nothing to accept")
    return 1 if any(e for _, _, e in results) else 0


def skip(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.matching import service

    view = with_db(settings, lambda s: service.skip(s, args.id, now=now()))
    print(f"#{view.id} skipped: {view.mentor} will not be suggested to {view.mentee} again")
    return 0


def approve(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.matching import service

    added = with_db(settings, lambda s: service.approve_mentors(s, args.org, args.mentors,
                                                                 now=now()))
    print(f"{added} mentor(s) approved for {args.org}; its mentees now get approved mentors only")
    return 0


def block(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.matching import service

    with_db(settings, lambda s: service.block(s, args.mentee, args.mentor, now=now(),
                                               reason=args.reason))
    print(f"{args.mentor} will not be suggested to {args.mentee}")
    return 0


def unmapped(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.matching import service

    _, mapper = service.vocabulary(settings.matching.taxonomy_file)
    rows = with_db(settings, lambda s: service.unmapped_interests(s, mapper), read_only=True)
    emit(args, [{"interest": text, "participants": n} for text, n in rows],
         "\n".join(f"{n:6d}  {text}" for text, n in rows)
         or "every stored interest matches a career field")
    return 0
