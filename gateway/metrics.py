"""Operators' view: Prometheus metrics (queue and outbox gauges read from the database at scrape
time, so every instance reports the shared truth; per-instance counters of what this process
handled) and the one INFO log line per message handled (ids only: never an address or a body)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from gateway.clock import as_utc
from gateway.store.models import Message, Outbox

log = logging.getLogger("gateway.relay")
OUTCOMES = {"queued": "forwarded", "held": "held", "rejected": "rejected"}
WAITING_STATES = ("received", "held", "queued")
BACKLOG_STATES = ("queued", "sending", "deferred")
# Seconds from arrival to the moderation decision: group commit and rules, typically well under 1 s.
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


@dataclass(frozen=True)
class Handled:
    """What became of one message the relay just processed."""

    message_id: int
    pair_id: int
    outcome: str  # forwarded | held | rejected
    reason: str  # the first rule that hit, "none" when none did
    seconds: float  # since it arrived


def handled_messages(session: Session, ids: Sequence[int], now: datetime) -> list[Handled]:
    """The outcome of the messages just processed, from the transaction's own rows (the write
    step's rows are in the session already: no query for them)."""
    out = []
    for message_id in ids:
        message = session.get(Message, message_id)
        if message is None or message.state not in OUTCOMES:
            continue
        out.append(Handled(message_id, message.pair_id, OUTCOMES[message.state],
                           _first_rule(message.hits_json),
                           max(0.0, (now - as_utc(message.received_at)).total_seconds())))
    return out


def _first_rule(hits_json: str | None) -> str:
    try:
        hits = json.loads(hits_json or "[]")
    except ValueError:
        return "unknown"
    names = [str(h.get("rule")) for h in hits if isinstance(h, dict) and h.get("rule")]
    return names[0][:60] if names else "none"


class GatewayMetrics:
    """One registry per gateway process (tests run several gateways in one process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.handled = Counter("mentor_gateway_messages_handled", "Messages the relay decided on "
                               "(this instance), by outcome and first rule hit",
                               ["outcome", "reason"], registry=self.registry)
        self.latency = Histogram("mentor_gateway_processing_seconds", "From arrival to the "
                                 "relay's decision (this instance)", buckets=LATENCY_BUCKETS,
                                 registry=self.registry)
        self.reminders = Counter("mentor_gateway_reminders_queued", "Reminders queued by this "
                                 "instance's scheduler", registry=self.registry)

    def record(self, handled: Iterable[Handled]) -> None:
        for item in handled:
            self.handled.labels(item.outcome, item.reason).inc()
            self.latency.observe(item.seconds)
            log.info("message %d of pair %d %s (%s) after %.0f ms", item.message_id, item.pair_id,
                     item.outcome, item.reason, item.seconds * 1000,
                     extra={"event": "message_handled", "message_id": item.message_id,
                            "pair_id": item.pair_id, "outcome": item.outcome,
                            "reason": item.reason, "latency_ms": round(item.seconds * 1000)})

    def exposition(self, snapshot: DatabaseSnapshot) -> bytes:
        """The text format, with the database gauges of `snapshot` added to this registry's."""
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Merged(self.registry, snapshot))
        return generate_latest(registry)


@dataclass(frozen=True)
class DatabaseSnapshot:
    messages: dict[str, int]  # waiting messages by state
    oldest_held_seconds: float
    outbox: dict[str, int]  # backlog by state, and failed
    oldest_backlog_seconds: float
    failed_by_kind: dict[str, int]


def database_snapshot(session: Session, now: datetime) -> DatabaseSnapshot:
    """A few index-range counts; the failed outbox rows are few (each one was a human's problem)."""
    messages = dict(session.execute(
        sa_select(col(Message.state), func.count()).where(col(Message.state).in_(WAITING_STATES))
        .group_by(col(Message.state))).all())
    oldest_held = session.execute(sa_select(func.min(col(Message.received_at)))
                                  .where(col(Message.state) == "held")).scalar_one()
    outbox = dict(session.execute(
        sa_select(col(Outbox.state), func.count()).where(col(Outbox.state).in_(BACKLOG_STATES))
        .group_by(col(Outbox.state))).all())
    oldest_backlog = session.execute(sa_select(func.min(col(Outbox.created_at)))
                                     .where(col(Outbox.state).in_(BACKLOG_STATES))).scalar_one()
    failed = dict(session.execute(
        sa_select(col(Outbox.kind), func.count()).where(col(Outbox.state) == "failed")
        .group_by(col(Outbox.kind))).all())

    def age(moment: datetime | None) -> float:
        return max(0.0, (now - as_utc(moment)).total_seconds()) if moment is not None else 0.0

    return DatabaseSnapshot({s: int(messages.get(s, 0)) for s in WAITING_STATES}, age(oldest_held),
                            {s: int(outbox.get(s, 0)) for s in BACKLOG_STATES}, age(oldest_backlog),
                            {k: int(v) for k, v in failed.items()})


class _Merged(Collector):
    def __init__(self, registry: CollectorRegistry, snapshot: DatabaseSnapshot) -> None:
        self._registry, self._snapshot = registry, snapshot

    def collect(self) -> Iterator[Any]:
        yield from self._registry.collect()
        snap = self._snapshot
        waiting = GaugeMetricFamily("mentor_gateway_messages_waiting", "Participants' messages "
                                    "not settled yet, by state (whole database)", labels=["state"])
        for state, count in snap.messages.items():
            waiting.add_metric([state], count)
        yield waiting
        yield GaugeMetricFamily("mentor_gateway_review_queue_length", "Held messages waiting for "
                                "a moderator", value=snap.messages.get("held", 0))
        yield GaugeMetricFamily("mentor_gateway_review_queue_oldest_age_seconds", "Age of the "
                                "oldest held message (0 when none)", value=snap.oldest_held_seconds)
        backlog = GaugeMetricFamily("mentor_gateway_outbox_backlog", "Outgoing mail not sent yet, "
                                    "by state", labels=["state"])
        for state, count in snap.outbox.items():
            backlog.add_metric([state], count)
        yield backlog
        yield GaugeMetricFamily("mentor_gateway_outbox_oldest_age_seconds", "Age of the oldest "
                                "unsent outgoing mail (0 when none)", value=snap.oldest_backlog_seconds)
        failed = GaugeMetricFamily("mentor_gateway_delivery_failures", "Outgoing mail given up "
                                   "on (state failed), by kind", labels=["kind"])
        for kind, count in sorted(snap.failed_by_kind.items()):
            failed.add_metric([kind], count)
        yield failed
