"""Missions and badges at the edge: queue due missions to both people of a pair (program mail that
answers through the partner's alias), record the badges pairs earn, congratulate the mentee once."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from gateway.config import Settings
from gateway.insights.load import epoch
from gateway.missions.badges import Turn, badges_of, mission_completed
from gateway.missions.catalog import Mission, load_missions
from gateway.notices import queue_program_mail
from gateway.store.audit import record
from gateway.store.models import Alias, Badge, Message, Organization, Outbox, Pair, Participant

log = logging.getLogger("gateway.missions")
# A mission is sent when its day comes, or up to this much later (a stopped gateway, a new file);
# never to pairs that passed its day long ago.
LATE_BY = timedelta(days=7)
# Badges are re-examined for pairs with a delivery or a mission this recent (the job runs hourly).
LOOK_BACK = timedelta(days=2)
KEY = "mission:"


def missions(settings: Settings) -> tuple[Mission, ...]:
    if not settings.missions.enabled:
        return ()
    return load_missions(Path(settings.gateway.templates_dir) / "missions")


def _aliases(session: Session, settings: Settings, pair_id: int) -> dict[int, str]:
    return {a.participant_id: f"{a.local_part}@{settings.gateway.domain}"
            for a in session.exec(select(Alias).where(Alias.pair_id == pair_id)).all()}


def send_due_missions(session: Session, settings: Settings, now: datetime) -> int:
    """Queue each mission whose day has come to both people of every active pair, once."""
    sent = 0
    for mission in missions(settings):
        due = (col(Pair.created_at) <= now - mission.send_after,
               col(Pair.created_at) > now - mission.send_after - LATE_BY)
        pairs = session.exec(select(Pair).where(col(Pair.state) == "active", *due)).all()
        for pair in pairs:
            assert pair.id is not None
            key = f"{KEY}{pair.id}:{mission.name}"
            if session.exec(select(Outbox.id).where(Outbox.dedup_key == f"{key}:mentee")).first():
                continue
            savepoint = session.begin_nested()  # another instance may queue it at the same moment
            try:
                _queue_mission(session, settings, mission, pair, key, now)
                savepoint.commit()
                sent += 1
            except IntegrityError:
                savepoint.rollback()
    return sent


def _queue_mission(session: Session, settings: Settings, mission: Mission, pair: Pair, key: str,
                   now: datetime) -> None:
    mentor, mentee = session.get(Participant, pair.mentor_id), session.get(Participant, pair.mentee_id)
    assert mentor is not None and mentee is not None and pair.id is not None
    aliases = _aliases(session, settings, pair.id)
    for person, partner, role in ((mentee, mentor, "mentee"), (mentor, mentee, "mentor")):
        queue_program_mail(
            session, settings, kind="mission", to_address=person.email,
            to_name=person.display_name, template="mission_prompt", lang=person.lang,
            context={"recipient_name": person.display_name, "partner_name": partner.display_name,
                     "partner_alias": aliases[partner.id or 0], "role": role,
                     "title": mission.title[_lang(person.lang)],
                     "prompt": mission.prompt[_lang(person.lang)],
                     "days": mission.window.days},
            now=now, pair_id=pair.id, recipient_participant_id=person.id,
            reply_to=aliases[partner.id or 0], dedup_key=f"{key}:{role}")
    record(session, at=now, actor="system", subject_type="pair", subject_id=pair.id,
           action="mission_sent", detail=mission.name)


def _lang(lang: str) -> str:
    return lang if lang in ("fr", "en") else "fr"


def _turns(session: Session, pair_ids: Sequence[int]) -> dict[int, list[Turn]]:
    rows = session.execute(
        sa_select(col(Message.pair_id), col(Message.direction), epoch(col(Message.received_at)))
        .where(col(Message.pair_id).in_(pair_ids), col(Message.auto_reply).is_(False),
               col(Message.state).in_(("queued", "delivered")))
        .order_by(col(Message.pair_id), col(Message.received_at), col(Message.id))).all()
    turns: dict[int, list[Turn]] = {}
    for pair_id, direction, at in rows:
        turns.setdefault(pair_id, []).append(Turn(direction == "mentee_to_mentor", at))
    return turns


def _missions_sent(session: Session, pair_ids: Sequence[int]) -> dict[int, list[tuple[str, int]]]:
    rows = session.execute(
        sa_select(col(Outbox.pair_id), col(Outbox.dedup_key), epoch(col(Outbox.created_at)))
        .where(col(Outbox.pair_id).in_(pair_ids), col(Outbox.kind) == "mission",
               col(Outbox.dedup_key).like(f"{KEY}%:mentee"))).all()
    sent: dict[int, list[tuple[str, int]]] = {}
    for pair_id, key, at in rows:
        sent.setdefault(pair_id, []).append((key.split(":")[2], at))
    return sent


def award_badges(session: Session, settings: Settings, now: datetime) -> int:
    """Record the badges recently active pairs reached; congratulate the mentee once per badge."""
    recent = now - LOOK_BACK
    mission_pairs = sa_select(col(Outbox.pair_id)).where(col(Outbox.kind) == "mission",
                                                         col(Outbox.created_at) >= recent - LOOK_BACK
                                                         - max((m.window for m in missions(settings)),
                                                               default=timedelta(0)))
    pair_ids = [pid for pid in session.exec(select(Pair.id).where(
        (col(Pair.last_delivered_at) >= recent) | col(Pair.id).in_(mission_pairs))).all()
        if pid is not None]
    if not pair_ids:
        return 0
    windows = {m.name: m.window.total_seconds() for m in missions(settings)}
    turns, sent = _turns(session, pair_ids), _missions_sent(session, pair_ids)
    held = {(b.pair_id, b.name) for b in session.exec(
        select(Badge).where(col(Badge.pair_id).in_(pair_ids))).all()}
    awarded = 0
    for pair_id in pair_ids:
        pair_turns = turns.get(pair_id, [])
        completed = sum(1 for name, at in sent.get(pair_id, [])
                        if name in windows and mission_completed(at, windows[name], pair_turns))
        for name in badges_of(pair_turns, completed) if pair_turns or completed else ():
            if (pair_id, name) in held:
                continue
            awarded += _award(session, settings, pair_id, name, now)
    return awarded


def _award(session: Session, settings: Settings, pair_id: int, name: str, now: datetime) -> int:
    savepoint = session.begin_nested()
    try:
        session.add(Badge(pair_id=pair_id, name=name, earned_at=now))
        session.flush()
        record(session, at=now, actor="system", subject_type="pair", subject_id=pair_id,
               action="badge", detail=name)
        if settings.missions.congratulate_mentee:
            _congratulate(session, settings, pair_id, name, now)
        savepoint.commit()
        return 1
    except IntegrityError:
        savepoint.rollback()  # another instance recorded it first
        return 0


def _congratulate(session: Session, settings: Settings, pair_id: int, name: str,
                  now: datetime) -> None:
    pair = session.get(Pair, pair_id)
    assert pair is not None
    mentee, mentor = session.get(Participant, pair.mentee_id), session.get(Participant, pair.mentor_id)
    assert mentee is not None and mentor is not None
    alias = _aliases(session, settings, pair_id).get(mentor.id or 0)
    queue_program_mail(
        session, settings, kind="badge", to_address=mentee.email, to_name=mentee.display_name,
        template="badge_earned", lang=mentee.lang,
        context={"recipient_name": mentee.display_name, "partner_name": mentor.display_name,
                 "badge": name, "partner_alias": alias or ""},
        now=now, pair_id=pair_id, recipient_participant_id=mentee.id, reply_to=alias,
        dedup_key=f"badge:{pair_id}:{name}")


def badges_by_organization(session: Session, scope: tuple[int, ...] | None) -> list[tuple[str, str, int]]:
    """(organization, badge, pairs) for the dashboard."""
    query = (sa_select(func.coalesce(col(Organization.name), "—"), col(Badge.name), func.count())
             .join(Pair, col(Pair.id) == col(Badge.pair_id))
             .outerjoin(Organization, col(Organization.id) == col(Pair.org_id))
             .group_by(col(Organization.name), col(Badge.name))
             .order_by(col(Organization.name), col(Badge.name)))
    if scope is not None:
        query = query.where(col(Pair.org_id).in_(scope))
    return [(org, name, int(n)) for org, name, n in session.execute(query).all()]


def badges_by_pair(session: Session, scope: tuple[int, ...] | None) -> list[tuple[int, str, str]]:
    query = (sa_select(col(Badge.pair_id), col(Badge.name), col(Badge.earned_at))
             .join(Pair, col(Pair.id) == col(Badge.pair_id))
             .order_by(col(Badge.pair_id), col(Badge.earned_at)))
    if scope is not None:
        query = query.where(col(Pair.org_id).in_(scope))
    return [(pid, name, str(at)[:10]) for pid, name, at in session.execute(query).all()]
