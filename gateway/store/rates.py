"""Flood limits: how many messages a participant and a pair sent recently, counted in the database
(so every instance sharing it counts the same), and the hold reason once a limit is passed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlmodel import Session, col

from gateway.store.models import Message

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
    def load(cls, session: Session, limits: RateLimits, now: datetime, *,
             sender_ids: set[int], pair_ids: set[int]) -> RateCounter:
        senders = dict(session.execute(
            select(col(Message.sender_id), func.count())
            .where(col(Message.sender_id).in_(sender_ids), col(Message.received_at) > now - HOUR)
            .group_by(col(Message.sender_id))).all()) if sender_ids else {}
        pairs = dict(session.execute(
            select(col(Message.pair_id), func.count())
            .where(col(Message.pair_id).in_(pair_ids), col(Message.received_at) > now - DAY)
            .group_by(col(Message.pair_id))).all()) if pair_ids else {}
        return cls(limits, now, {int(k): int(v) for k, v in senders.items()},
                   {int(k): int(v) for k, v in pairs.items()})

    def add(self, sender_id: int, pair_id: int) -> str | None:
        """Count one more message; which limit it passes ("participant", "pair") or None."""
        self._senders[sender_id] = self._senders.get(sender_id, 0) + 1
        self._pairs[pair_id] = self._pairs.get(pair_id, 0) + 1
        if self._senders[sender_id] > self.limits.per_participant_hour:
            return "participant"
        if self._pairs[pair_id] > self.limits.per_pair_day:
            return "pair"
        return None


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
