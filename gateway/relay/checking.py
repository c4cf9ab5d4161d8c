"""The pure part of processing a message: parse, rules, report keyword, forward rendered ahead.

No database and no clock: what it needs from the store (the message row, its pair's people,
the thread ids already translated) comes in a `Job`, so that the same function runs in the
gateway's own thread or in a worker process (relay/pool.py) on another core. The rows in a job
are detached ORM objects; they pickle with the columns that were loaded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage

from gateway.config import Settings
from gateway.mail.autoreply import is_auto_reply
from gateway.mail.parse import parse
from gateway.moderation.chain import Decision
from gateway.relay.doors import UNRENDERABLE, is_placeholder
from gateway.relay.forward import PairPeople, PreparedForward, Refs, render_ahead
from gateway.safeguarding.keyword import is_report
from gateway.store.models import Message

log = logging.getLogger("gateway.relay")

# (message, people, first_message, the message parsed once for the rules and the rewrite) ->
# decision; relay/decide.py builds the real one from the rules.
Moderate = Callable[[Message, PairPeople, bool, EmailMessage], Decision]

Thread = tuple[tuple[str, ...], tuple[str, ...]]  # (in_reply_to, references), translated


@dataclass(frozen=True)
class Job:
    """One RECEIVED message and what checking it needs from the store."""

    message: Message
    people: PairPeople | None  # None: they could not be loaded; a moderator looks at it
    # The translated thread ids when a passing message would be forwarded now (the pair is
    # active, nothing was noted at the door): the forward is then rendered ahead.
    thread: Thread | None
    refs: Refs = ((), ())  # the ids its headers refer to, kept for the write step


@dataclass(frozen=True)
class Checked:
    decision: Decision | None  # None: the check itself failed; a moderator looks at it
    auto_reply: bool
    report: bool  # the sender's first word is a report keyword: never forwarded
    prepared: PreparedForward | None
    parsed: EmailMessage | None = None  # kept when checked in this process (saves a parse)


def check(job: Job, moderate: Moderate, settings: Settings, *, keep_parsed: bool) -> Checked:
    message, people = job.message, job.people
    parsed = parse(message.raw)
    decision: Decision | None = None
    if people is not None:
        try:
            decision = moderate(message, people, people.pair.forwarded_count == 0, parsed)
        except Exception:
            log.exception("message %s could not be checked; holding it for a moderator", message.id)
    auto_reply = is_auto_reply(parsed)
    report = not auto_reply and is_report(parsed)
    prepared = None
    if people is not None and job.thread is not None and not report and decision is not None \
            and decision.verdict in ("pass", "flag"):
        try:
            prepared = render_ahead(settings, message, people, job.thread, auto_reply=auto_reply)
        except Exception:  # rendered again (and handled) at apply time
            log.exception("message %s could not be rendered ahead", message.id)
        if prepared is not None and is_placeholder(prepared.data):
            decision = Decision("hold", (*decision.hits, UNRENDERABLE))
            prepared = None
    return Checked(decision, auto_reply, report, prepared, parsed if keep_parsed else None)


def check_all(jobs: list[Job], moderate: Moderate, settings: Settings, *,
              keep_parsed: bool) -> list[Checked]:
    return [check(job, moderate, settings, keep_parsed=keep_parsed) for job in jobs]
