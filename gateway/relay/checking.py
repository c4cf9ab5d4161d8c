"""The pure part of processing a message: parse, rules, report keyword, forward rendered ahead.

No database and no clock: what it needs from the store (the message row, its pair's people,
the thread ids already translated) comes in a `Job`, so that the same function runs in the
gateway's own thread or in a worker process (relay/pool.py) on another core. The rows in a job
are detached ORM objects; on the way to a worker they travel as their loaded column values
(`Job.__reduce__`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, TypeVar

from gateway.config import Settings
from gateway.mail.autoreply import is_auto_reply
from gateway.mail.parse import parse
from gateway.moderation.chain import Decision
from gateway.relay.doors import UNRENDERABLE, is_placeholder
from gateway.relay.forward import PairPeople, PreparedForward, Refs, render_ahead
from gateway.safeguarding.keyword import is_report
from gateway.store.models import Message

R = TypeVar("R")
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

    def __reduce__(self) -> tuple[Any, ...]:
        # SQLAlchemy pickles an instance with its whole state (load path, class manager): about
        # 48 µs each way per job here, the pickling in the gateway's own busy process. The
        # check only reads loaded columns, so the rows travel as those values and come back as
        # plain instances without ORM state (21 and 19 µs).
        p = self.people
        people = p and _Call(PairPeople, _Row(p.pair), _Row(p.sender), _Row(p.recipient),
                             p.sender_alias, p.recipient_alias)
        return (Job, (_Row(self.message), people, self.thread, self.refs))


class _Call:
    """Unpickles as `fn(*args)`."""

    def __init__(self, fn: Callable[..., object], *args: object) -> None:
        self.fn, self.args = fn, args

    def __reduce__(self) -> tuple[Any, ...]:
        return (self.fn, self.args)


class _Row:
    """A detached row on its way to a worker: its class and loaded column values."""

    def __init__(self, row: object) -> None:
        self.row = row

    def __reduce__(self) -> tuple[Any, ...]:
        values = dict(vars(self.row))
        values.pop("_sa_instance_state", None)
        return (_rebuilt, (type(self.row), values))


def _rebuilt(cls: type[R], values: dict[str, Any]) -> R:
    # No ORM state: reading a column finds it in the instance's dict (SQLAlchemy's descriptor
    # looks there first, once the mappers are configured: relay/pool.py's worker start does
    # it); anything not loaded fails loudly, as it would on a detached row.
    row = cls.__new__(cls)
    vars(row).update(values)
    return row


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
