"""A seeded program in the database (organizations, pairs, ten weeks of mail, decisions, reminders)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from gateway.store.models import AuditEvent, Message, Organization, Outbox, Pair, Participant

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # a Monday
NOW = T0 + timedelta(weeks=10, days=3, hours=5)
# Final state -> the verdicts that can lead there.
OUTCOMES = [("delivered", "pass"), ("delivered", "pass"), ("delivered", "pass"), ("delivered", "flag"),
            ("delivered", "hold"), ("queued", "pass"), ("queued", "hold"), ("held", "hold"),
            ("rejected", "reject"), ("rejected", "hold"), ("received", None), ("failed", "pass")]


@dataclass(frozen=True)
class Seeded:
    org_a: int
    org_b: int
    now: datetime


def _at(rng: random.Random, start: datetime, end: datetime) -> datetime:
    seconds = int((end - start).total_seconds())
    return start + timedelta(seconds=rng.randrange(max(1, seconds)))


def seed_program(session: Session, *, seed: int = 15, pairs: int = 60,
                 org_names: tuple[str, str] = ("École A", "École B"),
                 unprocessed: bool = True) -> Seeded:
    """`unprocessed=False` leaves no message in `received` (for a gateway that would process it)."""
    rng = random.Random(seed)
    org_a = Organization(name=org_names[0], created_at=T0)
    org_b = Organization(name=org_names[1], created_at=T0)
    session.add_all([org_a, org_b])
    session.flush()
    orgs = [org_a.id, org_b.id, None]
    mentees: list[int] = []
    for index in range(pairs):
        mentor = Participant(email=f"mentor{index}@example.org", display_name=f"Mentor {index}",
                             role="mentor", created_at=T0)
        session.add(mentor)
        if mentees and rng.random() < 0.15:  # a mentee with a second mentor
            mentee_id = rng.choice(mentees)
        else:
            mentee = Participant(email=f"mentee{index}@example.org", display_name=f"Jeune {index}",
                                 role="mentee", created_at=T0)
            session.add(mentee)
            session.flush()
            assert mentee.id is not None
            mentee_id = mentee.id
            mentees.append(mentee_id)
        session.flush()
        assert mentor.id is not None
        created = _at(rng, T0, T0 + timedelta(weeks=5))
        state = rng.choice(["active"] * 6 + ["paused", "closed"])
        pair = Pair(mentor_id=mentor.id, mentee_id=mentee_id, org_id=orgs[index % 3], state=state,
                    created_at=created)
        session.add(pair)
        session.flush()
        _seed_mail(session, rng, pair, created, mentor.id, mentee_id, unprocessed)
    return Seeded(org_a.id or 0, org_b.id or 0, NOW)


def _seed_mail(session: Session, rng: random.Random, pair: Pair, created: datetime, mentor_id: int,
               mentee_id: int, unprocessed: bool) -> None:
    assert pair.id is not None
    count = rng.choice([0, 0, 1, 2, 4, 7, 10, 14])
    at = created
    times: list[datetime] = []
    from_mentee = rng.random() < 0.5
    for n in range(count):
        at += timedelta(seconds=rng.choice([30, 600, 4000, 20_000, 80_000, 200_000, 500_000, 1_500_000]))
        if at >= NOW + timedelta(days=4):  # a little mail after "now": figures must ignore it
            break
        if n == 2 and rng.random() < 0.3:
            at -= timedelta(seconds=rng.randrange(0, 5))  # same-second neighbours happen
        from_mentee = from_mentee if rng.random() < 0.3 else not from_mentee
        state, verdict = rng.choice(OUTCOMES)
        if state == "received" and not unprocessed:
            state, verdict = "delivered", "pass"
        message = Message(
            pair_id=pair.id, sender_id=mentee_id if from_mentee else mentor_id,
            recipient_id=mentor_id if from_mentee else mentee_id,
            direction="mentee_to_mentor" if from_mentee else "mentor_to_mentee", state=state,
            envelope_from="x@example.org", dedup_key=f"{pair.id}-{n}", raw=b"Subject: x\r\n\r\nx\r\n",
            received_at=at, updated_at=at, verdict=verdict, auto_reply=rng.random() < 0.08)
        session.add(message)
        session.flush()
        times.append(at)
        if state == "delivered" and not message.auto_reply and at < NOW:
            # What the delivery worker records (delivered at once here).
            pair.last_delivered_at = at
            pair.last_delivered_from = "mentee" if from_mentee else "mentor"
            session.add(pair)
        if verdict == "hold":
            session.add(AuditEvent(at=at, actor="system", subject_type="message", subject_id=message.id,
                                   action="held", from_state="received", to_state="held"))
            if state != "held":
                decided = at + timedelta(seconds=rng.randrange(60, 3 * 86_400))
                for later in (decided, decided + timedelta(hours=2)):  # the first move counts
                    session.add(AuditEvent(at=later, actor="mod@example.org", subject_type="message",
                                           subject_id=message.id, action=state, from_state="held",
                                           to_state=state))
        if rng.random() < 0.05:
            session.add(AuditEvent(at=at + timedelta(hours=1), actor="mentee", subject_type="message",
                                   subject_id=message.id, action="report"))
    for _ in range(rng.choice([0, 0, 1, 2])):
        sent = _at(rng, created, NOW + timedelta(days=2))
        if times and rng.random() < 0.5:  # a reminder some hours before a message: resumed or not
            sent = rng.choice(times) - timedelta(hours=rng.randrange(1, 120))
        kind, state = rng.choice([("reminder", "sent"), ("reminder", "sent"), ("reminder", "queued"),
                                  ("notice", "sent")])
        session.add(Outbox(kind=kind, pair_id=pair.id, envelope_from="b@x", recipient="r@x",
                           data=b"x", state=state, created_at=sent, next_attempt_at=sent,
                           sent_at=sent if state == "sent" else None))
    if rng.random() < 0.1:
        session.add(AuditEvent(at=_at(rng, created, NOW), actor="mod", subject_type="pair",
                               subject_id=pair.id, action="report"))
