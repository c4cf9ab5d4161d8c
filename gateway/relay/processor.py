"""Move RECEIVED messages on: moderate, then forward (QUEUED), hold (HELD) or refuse (REJECTED)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage

from sqlmodel import Session

from gateway.config import Settings
from gateway.moderation.chain import Decision, Hit, hit_json
from gateway.relay.checking import Checked, Job, Moderate, check_all
from gateway.relay.doors import (
    AUTO_REPLY_REPEAT,
    auto_reply_already_forwarded,
    door_hits,
    notify_flood,
)
from gateway.relay.forward import (
    PairPeople,
    PreparedForward,
    Refs,
    load_people,
    load_people_many,
    queue_forward,
    thread_ids,
    thread_refs_of,
)
from gateway.relay.notify import notify_hold, notify_rejection
from gateway.store.lifecycle import (
    Later,
    claim_received,
    record_queued,
    set_state,
    set_state_written,
    still_received,
)
from gateway.store.models import Message

log = logging.getLogger("gateway.relay")

# Called for every newly held message (the review room's moderator notices, wired in app.py).
OnHeld = Callable[[Session, Message, PairPeople, datetime], None]
# Called for a message that is a report (SIGNALER/REPORT first): the review room opens it.
OnReport = Callable[[Session, Message, PairPeople, datetime], None]

PAIR_PAUSED = Hit(rule="pair_paused", action="hold", reason_fr="Le jumelage est en pause.",
                  reason_en="The pair is paused.", field="pair", evidence="", start=0, end=0)
INTERNAL = Hit(rule="internal_error", action="hold",
               reason_fr="Message à vérifier.", reason_en="Message needs a check.",
               field="gateway", evidence="", start=0, end=0)


@dataclass(frozen=True)
class Plan:
    """What the moderation step decided for one message, before anything is written."""

    message_id: int
    parsed: EmailMessage | None  # None when checked in a worker process
    auto_reply: bool
    decision: Decision | None  # None: the check itself failed; a moderator looks at it
    # The forward rendered here, in the read transaction, so that the single writer only stores
    # it (None: rendered at apply time, or not forwarded).
    prepared: PreparedForward | None = None
    report: bool = False  # the sender's first word is a report keyword: never forwarded
    # The rows the plan step loaded, reused by apply_plans once it has checked that the
    # message is still RECEIVED (loading them again cost as much as the rest of the write).
    message: Message | None = None
    people: PairPeople | None = None
    refs: Refs | None = None  # the ids its headers refer to (forward.thread_refs)


# Checks a batch of jobs (in this thread, or in worker processes: relay/pool.py).
CheckJobs = Callable[[list[Job]], list[Checked]]


def plan_batch(session: Session, moderate: Moderate, settings: Settings, *,
               lock: bool = False, check_jobs: CheckJobs | None = None) -> list[Plan]:
    """Read-only step: parse and moderate the oldest RECEIVED messages.

    On SQLite it runs in a read transaction, outside the single writer, so that storing incoming
    mail never waits behind the rules (the costliest step). On PostgreSQL (`lock`) it runs in the
    write transaction of apply_plans, its rows locked: instances moderate different messages.
    The checking itself (checking.check) needs no database: `check_jobs` may run it elsewhere."""
    messages = claim_received(session, postgres=lock)
    if not messages:
        return []
    jobs = _jobs(session, settings, messages)
    if check_jobs is None:
        checked = check_all(jobs, moderate, settings, keep_parsed=True)
    else:
        checked = check_jobs(jobs)
    return [Plan(job.message.id or 0, done.parsed, done.auto_reply, done.decision, done.prepared,
                 report=done.report, message=job.message, people=job.people,
                 refs=job.refs)
            for job, done in zip(jobs, checked, strict=True)]


def _jobs(session: Session, settings: Settings, messages: list[Message]) -> list[Job]:
    """What checking each message needs from the store: its people and, when a passing message
    would be forwarded now, its translated thread ids (the forward is then rendered ahead)."""
    try:
        batch_people = load_people_many(session, settings, messages)
    except Exception:  # one message's people missing: look them up one by one below
        log.exception("could not load the people of a batch of %d message(s)", len(messages))
        batch_people = {}
    jobs = []
    for message in messages:
        people = batch_people.get(message.id or 0)
        if people is None:
            try:
                people = load_people(session, settings, message)
            except Exception:
                log.exception("message %s: its pair's people could not be loaded", message.id)
        refs = thread_refs_of(message.raw)
        thread = None
        if people is not None and people.pair.state == "active" and not door_hits(message) \
                and message.id in batch_people:
            try:
                thread = thread_ids(session, people, refs)
            except Exception:  # rendered at apply time instead
                log.exception("message %s: thread ids could not be read", message.id)
        jobs.append(Job(message, people, thread, refs))
    return jobs


def apply_plans(session: Session, settings: Settings, plans: list[Plan], now: datetime,
                *, postgres: bool, on_held: OnHeld | None = None,
                on_report: OnReport | None = None) -> int:
    """Write step: forward, hold or refuse the planned messages that are still RECEIVED.

    The whole batch is tried in one go first. Only if something fails is it redone message by
    message, each in a savepoint: on SQLite a savepoint opened outside a transaction commits
    (and syncs to disk) when released, so savepoints for every message cost a disk sync each."""
    by_id = {plan.message_id: plan for plan in plans}
    try:
        messages, batch_people = _still_received(session, settings, plans, postgres=postgres)
        queued: Later = []
        events: list[dict[str, object]] = []
        for message in messages:
            process_one(session, settings, by_id[message.id or 0], message, now,
                        people=batch_people[message.id or 0], audit_later=queued, on_held=on_held,
                        on_report=on_report, events=events)
        record_queued(session, queued, now, events)  # flushes the whole batch
        return len(plans)
    except Exception:
        log.warning("a batch of %d message(s) failed; retrying one by one", len(plans))
        session.rollback()
    for message in claim_received(session, postgres=postgres, ids=list(by_id)):
        savepoint = session.begin_nested()
        try:
            process_one(session, settings, by_id[message.id or 0], message, now, on_held=on_held,
                        on_report=on_report)
            savepoint.commit()
        except Exception:
            savepoint.rollback()
            log.exception("message %s could not be processed; holding it for a moderator", message.id)
            session.refresh(message)
            set_state(session, message, "held", now, detail="internal error while processing",
                      hits=_stored((INTERNAL,)), verdict="hold")
    return len(plans)


def _still_received(session: Session, settings: Settings, plans: list[Plan], *,
                    postgres: bool) -> tuple[list[Message], dict[int, PairPeople]]:
    """The planned messages still RECEIVED, with their people: the plan step's own rows when it
    loaded them (one query checks the states), else loaded here."""
    if any(plan.message is None or plan.people is None for plan in plans):
        messages = claim_received(session, postgres=postgres, ids=[p.message_id for p in plans])
        return messages, load_people_many(session, settings, messages)
    if postgres and all(plan.message in session for plan in plans):
        # Claimed by this very transaction (FOR UPDATE, plan and write in one): nobody else
        # can have moved them, so no query to ask again (a round trip per batch).
        still = {plan.message_id for plan in plans}
    else:
        still = still_received(session, [plan.message_id for plan in plans], postgres=postgres)
    messages, people = [], {}
    for plan in plans:
        if plan.message_id in still:
            assert plan.message is not None and plan.people is not None
            # rows read in another (now closed) session join this one as they were: no SQL;
            # on PostgreSQL they are already this transaction's own, locked rows
            session.add_all((plan.message, plan.people.pair, plan.people.sender,
                             plan.people.recipient))
            messages.append(plan.message)
            people[plan.message_id] = plan.people
    return messages, people


def process_one(session: Session, settings: Settings, plan: Plan, message: Message,
                now: datetime, *, people: PairPeople | None = None,
                audit_later: Later | None = None,
                on_held: OnHeld | None = None, on_report: OnReport | None = None,
                events: list[dict[str, object]] | None = None) -> None:
    """`events`: where the state changes' audit rows go, for the caller to write at once."""
    people = people or load_people(session, settings, message)
    if message.auto_reply != plan.auto_reply:  # the same value would still make it dirty
        message.auto_reply = plan.auto_reply
    if plan.report and on_report is not None:
        # Whatever the rules say: a report pauses the pair and reaches staff, never the partner.
        set_state(session, message, "reported", now, detail="report by keyword", events=events)
        on_report(session, message, people, now)
        return
    at_door = door_hits(message)
    if plan.decision is None:
        set_state(session, message, "held", now, detail="internal error while checking",
                  hits=_stored((*at_door, INTERNAL)), verdict="hold", events=events)
        return
    hits = (*at_door, *plan.decision.hits)
    verdict = plan.decision.verdict
    if at_door and verdict in ("pass", "flag"):
        verdict = "hold"
    if people.pair.state != "active" and verdict in ("pass", "flag"):  # paused, awaiting consent
        verdict, hits = "hold", (*hits, PAIR_PAUSED)
    if plan.auto_reply and verdict in ("pass", "flag") \
            and auto_reply_already_forwarded(session, message, now):
        # Set aside without a notice: answering an automatic reply is how loops start.
        set_state(session, message, "rejected", now, hits=_stored((*hits, AUTO_REPLY_REPEAT)),
                  verdict="reject", events=events)
    elif verdict == "reject":
        set_state(session, message, "rejected", now, hits=_stored(hits), verdict=verdict, events=events)
        if not plan.auto_reply:
            notify_rejection(session, settings, message, people, hits, now)
    elif verdict == "hold":
        message.severity = plan.decision.severity or None
        set_state(session, message, "held", now, hits=_stored(hits), verdict=verdict, events=events)
        if any(hit.rule == "flood" for hit in at_door):
            tell_moderators = notify_flood(session, settings, message, people, now)
        else:
            if not plan.auto_reply:  # a responder is never answered
                notify_hold(session, settings, message, people, now)
            tell_moderators = True
        if on_held is not None and tell_moderators:
            on_held(session, message, people, now)
    else:
        queue_forward(session, settings, message, people, now, parsed=plan.parsed, refs=plan.refs,
                      audit_later=audit_later, prepared=plan.prepared)
        if audit_later is not None and events is not None:  # a batch: its row written at once
            set_state_written(session, message, "queued", now, hits=_stored(hits),
                              verdict=verdict, events=events)
        else:
            set_state(session, message, "queued", now, hits=_stored(hits), verdict=verdict,
                      events=events)


def _stored(hits: tuple[Hit, ...]) -> list[dict[str, object]]:
    return [hit_json(h) for h in hits]
