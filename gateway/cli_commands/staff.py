"""`staff` sub-commands: register moderators and coordinators, mail them a password-reset link."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from gateway.cli_commands.base import CliError, command, emit, now, with_db
from gateway.config import Settings
from gateway.program.staff import STAFF_ROLES, add_staff


@command
def register(sub: Any) -> None:
    staff = sub.add_parser("staff", help="moderators and coordinators (web page accounts)")
    actions = staff.add_subparsers(dest="action", required=True)
    p = actions.add_parser("add", help="register a moderator or coordinator")
    p.add_argument("email")
    p.add_argument("--name", required=True)
    p.add_argument("--role", required=True, choices=STAFF_ROLES)
    p.add_argument("--org", default=None, help="organization name (required for coordinators)")
    p.add_argument("--lang", default="fr", choices=("fr", "en"))
    p.add_argument("--password-stdin", action="store_true",
                   help="read the password from standard input (else: use reset-password)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=staff_add)
    p = actions.add_parser("reset-password", help="e-mail a one-time link to choose a password")
    p.add_argument("email")
    p.add_argument("--base-url", default=None,
                   help="public address of the web page (default: http://[web] host:port)")
    p.set_defaults(handler=staff_reset_password)


def read_password(stream: Any = None) -> str:
    stream = stream or sys.stdin
    if stream.isatty():
        return getpass.getpass("password: ")
    line: str = stream.readline()
    password = line.rstrip("\r\n")
    if not password:
        raise CliError("no password on standard input")
    return password


def staff_add(args: argparse.Namespace, settings: Settings) -> int:
    password = read_password() if args.password_stdin else None
    member = with_db(settings, lambda s: add_staff(
        s, email=args.email, name=args.name, role=args.role, org=args.org, lang=args.lang,
        password=password, now=now()))
    emit(args, {"id": member.id, "email": member.email, "role": member.role,
                "org_id": member.org_id, "lang": member.lang},
         f"{member.role} {member.id}: {member.display_name} <{member.email}>"
         + ("" if password else "  (no password yet: run `mentor-gateway staff reset-password`)"))
    return 0


def staff_reset_password(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.program.password_reset import issue_reset

    member = with_db(settings, lambda s: issue_reset(s, settings, args.email, now=now(),
                                                     base_url=args.base_url))
    print(f"a reset link for {member.email} is queued; it is delivered by the running gateway")
    return 0
