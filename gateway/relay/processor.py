"""Move RECEIVED messages on: moderate, then forward (QUEUED), hold (HELD) or refuse (REJECTED)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage

from sqlalchemy import select as sa_select
from sqlmodel import Session

from gateway.config import Settings
from gateway.delivery.outbox import record_queued
from gateway.mail.autoreply import is_auto_reply
from gateway.mail.parse import parse
from gateway.moderation.chain import Decision, Hit
from gateway.relay.forward import PairPeople, load_people, load_people_many, queue_forward
from gateway.relay.notify import notify_hold, notify_rejection
from gateway.store.audit import record
from gateway.store.models import Message, Outbox

log = logging.getLogger("gateway.relay")
BATCH = 50

# (message, people, first_message) -> decision; the moderation room provides the real one.
Moderate = Callable[[Message, PairPeople, bool], Decision]

PAIR_PAUSED = Hit(rule="pair_paused", action="hold", reason_fr="Le jumelage est en pause.",
                  reason_en="The pair is paused.", field="pair", evidence="", start=0, end=0)
INTERNAL = Hit(rule="internal_error", action="hold",
               reason_fr="Message à vérifier.", reason_en="Message needs a check.",
               field="gateway", evidence="", start=0, end=0)


@dataclass(frozen=True)
class Plan:
    """What the moderation step decided for one message, before anything is written."""

    message_id: int
    parsed: EmailMessage
    auto_reply: bool
    decision: Decision | None  # None: the check itself failed; a moderator looks at it


def claim_received(session: Session, *, postgres: bool, limit: int = BATCH,
                   ids: list[int] | None = None) -> list[Message]:
    query = sa_select(Message).where(Message.state == "received").order_by(Message.id).limit(limit)  # type: ignore[arg-type]
    if ids is not None:
        query = query.where(Message.id.in_(ids))  # type: ignore[union-attr]
    if postgres:
        query = query.with_for_update(skip_locked=True)
    return list(session.execute(query).scalars().all())


def plan_batch(session: Session, moderate: Moderate, settings: Settings) -> list[Plan]:
    """Read-only step: parse and moderate the oldest RECEIVED messages.

    It runs in a read transaction, outside the single writer, so that storing incoming mail
    never waits behind the rules (the costliest step)."""
    plans = []
    messages = claim_received(session, postgres=False)
    try:
        batch_people = load_people_many(session, settings, messages)
    except Exception:  # one message's people missing: look them up one by one below
        log.exception("could not load the people of a batch of %d message(s)", len(messages))
        batch_people = {}
    for message in messages:
        assert message.id is not None
        parsed = parse(message.raw)
        try:
            people = batch_people.get(message.id) or load_people(session, settings, message)
            decision: Decision | None = moderate(message, people, people.pair.forwarded_count == 0)
        except Exception:
            log.exception("message %s could not be checked; holding it for a moderator", message.id)
            decision = None
        plans.append(Plan(message.id, parsed, is_auto_reply(parsed), decision))
    return plans


def apply_plans(session: Session, settings: Settings, plans: list[Plan], now: datetime,
                *, postgres: bool) -> int:
    """Write step: forward, hold or refuse the planned messages that are still RECEIVED.

    The whole batch is tried in one go first. Only if something fails is it redone message by
    message, each in a savepoint: on SQLite a savepoint opened outside a transaction commits
    (and syncs to disk) when released, so savepoints for every message cost a disk sync each."""
    by_id = {plan.message_id: plan for plan in plans}
    messages = claim_received(session, postgres=postgres, ids=list(by_id))
    try:
        batch_people = load_people_many(session, settings, messages)
        queued: list[tuple[Outbox, str]] = []
        for message in messages:
            process_one(session, settings, by_id[message.id or 0], message, now,
                        people=batch_people[message.id or 0], audit_later=queued)
        record_queued(session, queued, now)  # flushes the whole batch
        return len(plans)
    except Exception:
        log.warning("a batch of %d message(s) failed; retrying one by one", len(messages))
        session.rollback()
    for message in claim_received(session, postgres=postgres, ids=list(by_id)):
        savepoint = session.begin_nested()
        try:
            process_one(session, settings, by_id[message.id or 0], message, now)
            savepoint.commit()
        except Exception:
            savepoint.rollback()
            log.exception("message %s could not be processed; holding it for a moderator", message.id)
            session.refresh(message)
            set_state(session, message, "held", now, detail="internal error while processing",
                      hits=(INTERNAL,), verdict="hold")
    return len(plans)


def process_batch(session: Session, settings: Settings, moderate: Moderate, now: datetime,
                  *, postgres: bool) -> int:
    """Plan and apply in one transaction (for callers that do not split the two steps)."""
    return apply_plans(session, settings, plan_batch(session, moderate, settings), now,
                       postgres=postgres)


def process_one(session: Session, settings: Settings, plan: Plan, message: Message,
                now: datetime, *, people: PairPeople | None = None,
                audit_later: list[tuple[Outbox, str]] | None = None) -> None:
    people = people or load_people(session, settings, message)
    message.auto_reply = plan.auto_reply
    if plan.decision is None:
        set_state(session, message, "held", now, detail="internal error while checking",
                  hits=(INTERNAL,), verdict="hold")
        return
    hits = plan.decision.hits
    verdict = plan.decision.verdict
    if people.pair.state == "paused" and verdict in ("pass", "flag"):
        verdict, hits = "hold", (*hits, PAIR_PAUSED)
    if verdict == "reject":
        set_state(session, message, "rejected", now, hits=hits, verdict=verdict)
        notify_rejection(session, settings, message, people, hits, now)
    elif verdict == "hold":
        set_state(session, message, "held", now, hits=hits, verdict=verdict)
        notify_hold(session, settings, message, people, now)
    else:
        queue_forward(session, settings, message, people, now, parsed=plan.parsed,
                      audit_later=audit_later)
        set_state(session, message, "queued", now, hits=hits, verdict=verdict)


def set_state(session: Session, message: Message, state: str, now: datetime, *,
              actor: str = "system", detail: str | None = None,
              hits: tuple[Hit, ...] | None = None, verdict: str | None = None) -> None:
    before = message.state
    message.state = state
    message.updated_at = now
    if hits is not None:
        message.hits_json = json.dumps([hit_json(h) for h in hits], ensure_ascii=False)
    if verdict is not None:
        message.verdict = verdict
    session.add(message)
    if detail is None and hits:
        detail = ", ".join(h.rule for h in hits)
    record(session, at=now, actor=actor, subject_type="message", subject_id=message.id,
           action=state, from_state=before, to_state=state, detail=detail)


def hit_json(hit: Hit) -> dict[str, object]:
    return {"rule": hit.rule, "action": hit.action, "field": hit.field, "evidence": hit.evidence,
            "start": hit.start, "end": hit.end, "reason_fr": hit.reason_fr, "reason_en": hit.reason_en}
