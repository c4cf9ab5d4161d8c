"""`participant list/show/edit/export/consent` and `org list/edit`: looking after the enrolled."""

from __future__ import annotations

import argparse
import json
from typing import Any

from gateway.cli_commands.base import CliError, emit, now, with_db
from gateway.config import Settings
from gateway.program import consent, participants
from gateway.program.export import export_participant
from gateway.program.service import ROLES, participant_by_email


def add_commands(part: Any, org: Any) -> None:
    """Called by program.py with its `participant` and `org` sub-command groups."""
    p = part.add_parser("list", help="list participants")
    p.add_argument("--org", default=None)
    p.add_argument("--role", choices=ROLES)
    p.add_argument("--search", default="", help="part of a name or address")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=participant_list)
    p = part.add_parser("show", help="one participant's profile, consent and pairs")
    p.add_argument("email")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=participant_show)
    p = part.add_parser("edit", help="change a participant's profile")
    p.add_argument("email")
    for option, helptext in (("--name", "display name"), ("--first-name", None), ("--last-name", None),
                             ("--lang", "fr or en"), ("--org", "organization name ('' = none)"),
                             ("--tz", "IANA time zone"), ("--birth", "2010-03-14, 14/03/2010 or 2010"),
                             ("--school-level", "e.g. 'Secondaire 4'"), ("--bio", "mentors"),
                             ("--capacity", "mentors: how many mentees at once"),
                             ("--guardian", "a parent's or guardian's e-mail"),
                             ("--interests", "career fields, separated by ';' (replaces the list)")):
        p.add_argument(option, default=None, help=helptext)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=participant_edit)
    p = part.add_parser("export", help="everything the program holds about one person (JSON)")
    p.add_argument("email")
    p.set_defaults(handler=participant_export)
    group = part.add_parser("consent", help="a guardian's consent").add_subparsers(
        dest="consent_action", required=True)
    for action, helptext in (("give", "record a consent received another way (paper, phone)"),
                             ("withdraw", "withdraw consent: their pairs are paused at once"),
                             ("request", "send the guardian the consent e-mail again")):
        p = group.add_parser(action, help=helptext)
        p.add_argument("email")
        p.set_defaults(handler=participant_consent, consent=action)

    p = org.add_parser("list", help="list organizations")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=org_list)
    p = org.add_parser("edit", help="rename an organization")
    p.add_argument("name")
    p.add_argument("--name", dest="new_name", required=True)
    p.set_defaults(handler=org_edit)


def participant_list(args: argparse.Namespace, settings: Settings) -> int:
    def load(session: Any) -> list[participants.ParticipantView]:
        people, _total = participants.search(session, org=args.org, role=args.role, text=args.search,
                                             limit=100_000)
        return [participants.view(session, p) for p in people]

    views = with_db(settings, load, read_only=True)
    emit(args, [v.to_json() for v in views],
         "\n".join(f"{v.id:>6}  {v.role:<6} {v.display_name} <{v.email}>  {v.org or '-'}"
                   + (f"  consent {v.consent_state}" if v.consent_state != "not_needed" else "")
                   for v in views) or "no participants")
    return 0


def participant_show(args: argparse.Namespace, settings: Settings) -> int:
    found = with_db(settings, lambda s: participants.view(s, participant_by_email(s, args.email)),
                    read_only=True)
    lines = [f"{k}: {v}" for k, v in found.to_json().items() if k != "pairs"]
    lines += [f"pair {pid}: {state}" + ("  (waiting for a guardian's consent)"
                                        if state == "awaiting_consent" else "")
              for pid, state in found.pairs]
    emit(args, found.to_json(), "\n".join(lines))
    return 0


def participant_edit(args: argparse.Namespace, settings: Settings) -> int:
    changes = {"name": args.name, "first_name": args.first_name, "last_name": args.last_name,
               "lang": args.lang, "org": args.org, "time_zone": args.tz, "birth": args.birth,
               "school_level": args.school_level, "bio": args.bio, "capacity": args.capacity,
               "guardian_email": args.guardian, "interests": args.interests}
    if args.capacity is not None and not args.capacity.isdigit():
        raise CliError(f"--capacity: {args.capacity!r} is not a number")
    if all(v is None for v in changes.values()):
        raise CliError("nothing to change: give at least one option (see participant edit --help)")

    def apply(session: Any) -> participants.ParticipantView:
        person = participants.edit(session, settings, args.email, changes, now=now())
        return participants.view(session, person)

    found = with_db(settings, apply)
    emit(args, found.to_json(), f"participant {found.id} updated" + (
        f" (consent {found.consent_state})" if found.consent_state != "not_needed" else ""))
    return 0


def participant_export(args: argparse.Namespace, settings: Settings) -> int:
    data = with_db(settings, lambda s: export_participant(s, args.email), read_only=True)
    print(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    return 0


def participant_consent(args: argparse.Namespace, settings: Settings) -> int:
    def apply(session: Any) -> str:
        person = participant_by_email(session, args.email)
        if args.consent == "give":
            consent.give_by_staff(session, settings, person, actor="cli", method="cli", now=now())
        elif args.consent == "withdraw":
            consent.withdraw(session, person, method="cli", actor="cli", now=now())
        else:
            consent.request_consent(session, settings, person, now=now(), actor="cli")
        return person.consent_state

    try:
        state = with_db(settings, apply)
    except consent.ConsentError as exc:
        raise CliError(f"{args.email} has no guardian e-mail: add one with participant edit "
                       f"{args.email} --guardian ADDRESS") from exc
    print(f"{args.email}: consent {state}")
    return 0


def org_list(args: argparse.Namespace, settings: Settings) -> int:
    orgs = with_db(settings, participants.list_organizations, read_only=True)
    emit(args, orgs, "\n".join(f"{o['id']:>5}  {o['name']}  ({o['participants']} participant(s))"
                               for o in orgs) or "no organizations")
    return 0


def org_edit(args: argparse.Namespace, settings: Settings) -> int:
    org = with_db(settings, lambda s: participants.rename_organization(
        s, args.name, args.new_name, now=now()))
    print(f"organization {org.id}: {org.name}")
    return 0
