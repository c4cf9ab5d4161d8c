"""`serve`, `migrate` and `demo` sub-commands: run the gateway and prepare a first try."""

from __future__ import annotations

import argparse
import asyncio
import logging
import secrets
import signal
from collections.abc import Coroutine
from typing import Any

from gateway.cli_commands.base import command, now, with_db
from gateway.config import Settings
from gateway.program import service


@command
def register(sub: Any) -> None:
    p = sub.add_parser("serve", help="run SMTP ingress, workers, scheduler and web page")
    p.set_defaults(handler=serve)
    p = sub.add_parser("migrate", help="bring the database to the newest schema")
    p.set_defaults(handler=migrate_cmd)
    p = sub.add_parser("demo", help="add a clearly labelled demo pair when the database is empty")
    p.set_defaults(handler=demo)


def serve(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.logs import setup_logging

    setup_logging(settings.logging)
    from gateway.app import App
    from gateway.components import default_components

    async def main() -> None:
        # Handlers first: a signal while the components start (the SMTP port may already answer)
        # must still mean "finish in-flight work and exit 0", not a traceback.
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        app = App(settings, components=default_components(settings))
        await app.start()
        # the checking workers start beside the first minutes of traffic, not before the port
        warming = asyncio.create_task(asyncio.to_thread(_warm, app))
        await stop.wait()
        warming.cancel()
        logging.getLogger("gateway").info("signal received: finishing in-flight work")
        await app.stop()

    run_loop(main())
    return 0


def _warm(app: Any) -> None:
    try:
        pids = app.checker.warm()
    except Exception:  # checked in this process until a pool starts
        logging.getLogger("gateway").exception("the checking workers did not start")
        return
    if pids:
        logging.getLogger("gateway").info("checking workers ready: pid %s",
                                          ", ".join(map(str, pids)))


def run_loop(coroutine: Coroutine[Any, Any, None]) -> None:
    """uvloop when installed (the `fast` extra: less CPU per message in the event loop), else
    asyncio's own loop; the gateway behaves the same on both."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(coroutine)
        return
    uvloop.run(coroutine)


def migrate_cmd(args: argparse.Namespace, settings: Settings) -> int:
    with_db(settings, lambda s: None)
    print(f"database at {settings.database.url.split('@')[-1]} is up to date")
    return 0


DEMO_MENTOR = "demo-mentor@example.org"
DEMO_MENTEE = "demo-mentee@example.org"
DEMO_MODERATOR = "demo-moderator@example.org"


def demo(args: argparse.Namespace, settings: Settings) -> int:
    def ensure(s: Any) -> service.PairView:
        pairs = service.list_pairs(s, settings, limit=1)
        if pairs:
            return pairs[0]
        t = now()
        service.add_participant(s, email=DEMO_MENTOR, name="DEMO Mentor (Marie)", role="mentor",
                                lang="fr", now=t)
        service.add_participant(s, email=DEMO_MENTEE, name="DEMO Mentee (Sam)", role="mentee",
                                lang="en", now=t)
        return service.create_pair(s, settings, mentor=DEMO_MENTOR, mentee=DEMO_MENTEE, now=t)

    view = with_db(settings, ensure)
    password = with_db(settings, ensure_demo_moderator)
    login = (f"password {password}" if password else
             f"password set earlier; new one: .venv/bin/mentor-gateway staff reset-password {DEMO_MODERATOR}")
    host, port = settings.smtp.host, settings.smtp.port
    print(f"""
==== Mentor Gateway (demo data is labelled DEMO) ====
 pair {view.id}: {view.mentor_name} <{view.mentor_email}>  <->  {view.mentee_name} <{view.mentee_email}>
 the mentee writes to the mentor's alias:  {view.mentor_alias}
 the mentor writes to the mentee's alias:  {view.mentee_alias}

 Send a test message (in another terminal, once the gateway below is up):
   .venv/bin/python -m gateway.sendtest --port {port} --from {view.mentee_email} --to {view.mentor_alias}
 or with swaks:
   swaks --server {host}:{port} --from {view.mentee_email} --to {view.mentor_alias} \\
         --header 'From: {view.mentee_email}' --body 'Bonjour !'

 It appears, anonymized, as a file in {settings.outbound.maildir}/new/
 (outbound mode "{settings.outbound.mode}"; the first message of a pair waits for a moderator:
  .venv/bin/mentor-gateway queue list   then   .venv/bin/mentor-gateway queue approve ID)

 Review page: http://{settings.web.host}:{settings.web.port}/
   log in as {DEMO_MODERATOR}, {login}
====================================================
""")
    return 0


def ensure_demo_moderator(session: Any) -> str | None:
    """A demo moderator for the review page; its password is shown once, when it is created."""
    from gateway.program.staff import add_staff, staff_by_email

    if staff_by_email(session, DEMO_MODERATOR):
        return None
    password = secrets.token_urlsafe(12)
    add_staff(session, email=DEMO_MODERATOR, name="DEMO Moderator", role="moderator", now=now(),
              password=password)
    return password
