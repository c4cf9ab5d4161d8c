"""`participant`, `pair` and `org` sub-commands."""

from __future__ import annotations

import argparse
from typing import Any

from gateway.cli_commands.base import CliError, command, emit, now, with_db
from gateway.cli_commands.participants import add_commands
from gateway.config import Settings
from gateway.program import profile, service


@command
def register(sub: Any) -> None:
    org = sub.add_parser("org", help="organizations (schools, programs)").add_subparsers(
        dest="action", required=True)
    p = org.add_parser("add", help="add an organization")
    p.add_argument("name")
    p.set_defaults(handler=org_add)

    part = sub.add_parser("participant", help="mentors and mentees").add_subparsers(
        dest="action", required=True)
    p = part.add_parser("add", help="register a participant")
    p.add_argument("--email", required=True)
    p.add_argument("--name", required=True, help="display name shown to the partner")
    p.add_argument("--role", required=True, choices=service.ROLES)
    p.add_argument("--lang", default="fr", choices=service.LANGS)
    p.add_argument("--minor", action="store_true")
    p.add_argument("--org", default=None, help="organization name")
    p.add_argument("--tz", default=None, help="IANA time zone, e.g. America/Toronto")
    p.add_argument("--first-name", default=None)
    p.add_argument("--last-name", default=None)
    p.add_argument("--birth", default=None, help="birth date (2010-03-14, 14/03/2010) or year")
    p.add_argument("--school-level", default=None, help="e.g. 'Secondaire 4', 'Cégep 1'")
    p.add_argument("--interests", default=None, help="career fields, separated by ';'")
    p.add_argument("--bio", default=None, help="mentors: a few words shown to their mentees")
    p.add_argument("--capacity", type=int, default=1, help="mentors: how many mentees at once")
    p.add_argument("--guardian", default=None,
                   help="a parent's or guardian's e-mail (required under [consent] age)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=participant_add)
    p = part.add_parser("forget", help="erase a participant for good: close their pairs, erase "
                                       "what was written in them, replace their address and name")
    p.add_argument("email")
    p.add_argument("--yes", action="store_true", help="confirm: this cannot be undone")
    p.set_defaults(handler=participant_forget)

    add_commands(part, org)

    pair = sub.add_parser("pair", help="mentor-mentee pairs").add_subparsers(dest="action", required=True)
    p = pair.add_parser("create", help="pair a mentor and a mentee; sends introductions")
    p.add_argument("--mentor", required=True)
    p.add_argument("--mentee", required=True)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=pair_create)
    p = pair.add_parser("list", help="list pairs")
    p.add_argument("--state", choices=("awaiting_consent", "active", "paused", "closed"))
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=pair_list)
    p = pair.add_parser("show", help="one pair")
    p.add_argument("id", type=int)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=pair_show)
    for action in service.PAIR_TRANSITIONS:
        p = pair.add_parser(action, help=f"{action} a pair")
        p.add_argument("id", type=int)
        p.add_argument("--reason", default=None)
        p.set_defaults(handler=pair_transition, transition=action)


def org_add(args: argparse.Namespace, settings: Settings) -> int:
    org = with_db(settings, lambda s: service.add_organization(s, args.name, now=now()))
    print(f"organization {org.id}: {org.name}")
    return 0


def participant_add(args: argparse.Namespace, settings: Settings) -> int:
    moment = now()
    born, year = None, None
    if args.birth:
        try:
            born, year = profile.parse_birth(args.birth, moment.date())
        except profile.BadDate as exc:
            raise CliError(f"--birth: unreadable date {args.birth!r} (e.g. 2010-03-14, "
                           "14/03/2010, 2010)") from exc
    person = with_db(settings, lambda s: service.add_participant(
        s, email=args.email, name=args.name, role=args.role, lang=args.lang, minor=args.minor,
        org=args.org, time_zone=args.tz, now=moment, settings=settings,
        first_name=args.first_name, last_name=args.last_name, birth_date=born, birth_year=year,
        school_level=args.school_level, bio=args.bio, capacity=args.capacity,
        guardian_email=args.guardian, interests=[args.interests or ""]))
    consent_note = ("; the guardian was asked for consent"
                    if person.consent_state == "pending" else "")
    emit(args, {"id": person.id, "email": person.email, "role": person.role,
                "consent_state": person.consent_state},
         f"participant {person.id}: {person.display_name} <{person.email}> ({person.role})"
         + consent_note)
    return 0


def participant_forget(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.program.forget import forget_participant

    if not args.yes:
        raise CliError(f"forgetting {args.email} closes their pairs and erases what was written "
                       "in them, for good: run again with --yes")
    done = with_db(settings, lambda s: forget_participant(s, args.email, now=now()))
    print(f"participant {done.participant_id} forgotten: {done.pairs_closed} pair(s) closed, "
          f"{done.messages_erased} message(s) erased")
    return 0


def _describe(view: service.PairView) -> str:
    waiting = ("\n  waiting for a guardian's consent: no introductions until it is recorded"
               if view.state == "awaiting_consent" else "")
    return (f"pair {view.id} [{view.state}]{waiting}\n"
            f"  mentor: {view.mentor_name} <{view.mentor_email}>  alias {view.mentor_alias}\n"
            f"  mentee: {view.mentee_name} <{view.mentee_email}>  alias {view.mentee_alias}")


def pair_create(args: argparse.Namespace, settings: Settings) -> int:
    view = with_db(settings, lambda s: service.create_pair(
        s, settings, mentor=args.mentor, mentee=args.mentee, now=now()))
    emit(args, {"id": view.id, "mentor_alias": view.mentor_alias, "mentee_alias": view.mentee_alias},
         _describe(view) + ("\n  introductions queued for both participants"
                            if view.state == "active" else ""))
    return 0


def pair_list(args: argparse.Namespace, settings: Settings) -> int:
    views = with_db(settings, lambda s: service.list_pairs(s, settings, state=args.state), read_only=True)
    emit(args, [v.to_json() for v in views],
         "\n".join(f"{v.id:>6}  {v.state:<7} {v.mentor_name} <-> {v.mentee_name}" for v in views)
         or "no pairs")
    return 0


def pair_show(args: argparse.Namespace, settings: Settings) -> int:
    view = with_db(settings, lambda s: service.pair_view(s, settings, args.id), read_only=True)
    emit(args, view.to_json(), _describe(view))
    return 0


def pair_transition(args: argparse.Namespace, settings: Settings) -> int:
    pair = with_db(settings, lambda s: service.change_pair_state(
        s, args.id, args.transition, now=now(), reason=args.reason))
    print(f"pair {pair.id} is now {pair.state}")
    return 0
