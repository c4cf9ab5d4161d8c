"""Flood limits: how many messages a participant and a pair sent recently, counted in the database
(so every instance sharing it counts the same), and the hold reason once a limit is passed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, literal, select, union_all

from gateway.store.db import Executes
from gateway.store.models import Message
from gateway.store.raw import Raw

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@dataclass(frozen=True)
class RateLimits:
    per_participant_hour: int
    per_pair_day: int


@dataclass
class RateCounter:
    """Counts for one transaction: what the database holds plus what this batch adds."""

    limits: RateLimits
    now: datetime
    _senders: dict[int, int]
    _pairs: dict[int, int]

    @classmethod
    def load(cls, session: Executes, limits: RateLimits, now: datetime, *,
             sender_ids: set[int], pair_ids: set[int]) -> RateCounter:
        """Both counts in one statement (a round trip less for every stored batch)."""
        counts: dict[str, dict[int, int]] = {"sender": {}, "pair": {}}
        if sender_ids or pair_ids:
            for kind, key, count in _COUNTS.rows(session, {
                    "senders": sorted(sender_ids), "hour_ago": now - HOUR,
                    "pairs": sorted(pair_ids), "day_ago": now - DAY}):
                counts[kind][int(key)] = int(count)
        return cls(limits, now, counts["sender"], counts["pair"])

    def add(self, sender_id: int, pair_id: int) -> str | None:
        """Count one more message; which limit it passes ("participant", "pair") or None."""
        self._senders[sender_id] = self._senders.get(sender_id, 0) + 1
        self._pairs[pair_id] = self._pairs.get(pair_id, 0) + 1
        if self._senders[sender_id] > self.limits.per_participant_hour:
            return "participant"
        if self._pairs[pair_id] > self.limits.per_pair_day:
            return "pair"
        return None


_MESSAGE = Message.__table__  # type: ignore[attr-defined]
# Built once: building a statement costs about as much as running it on SQLite.
_COUNTS = Raw(union_all(
    select(literal("sender").label("kind"), _MESSAGE.c.sender_id, func.count())
    .where(_MESSAGE.c.sender_id.in_(bindparam("senders", expanding=True)),
           _MESSAGE.c.received_at > bindparam("hour_ago"))
    .group_by(_MESSAGE.c.sender_id),
    select(literal("pair").label("kind"), _MESSAGE.c.pair_id, func.count())
    .where(_MESSAGE.c.pair_id.in_(bindparam("pairs", expanding=True)),
           _MESSAGE.c.received_at > bindparam("day_ago"))
    .group_by(_MESSAGE.c.pair_id)))


def flood_hit(which: str, limits: RateLimits) -> dict[str, object]:
    """The hold reason a moderator sees (same shape as a rule hit)."""
    if which == "participant":
        fr = f"Plus de {limits.per_participant_hour} messages de cette personne en une heure."
        en = f"More than {limits.per_participant_hour} messages from this person in an hour."
    else:
        fr = f"Plus de {limits.per_pair_day} messages dans ce jumelage en 24 heures."
        en = f"More than {limits.per_pair_day} messages in this pair in 24 hours."
    return {"rule": "flood", "action": "hold", "field": "rate", "evidence": which,
            "start": 0, "end": 0, "reason_fr": fr, "reason_en": en}
