"""The coordinators' weekly digest: their organization's last seven days and its quiet pairs, once
per week from Monday 08:00 (program time zone), through the outbox; unique per coordinator and week."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from gateway.config import Settings
from gateway.insights.export import summary
from gateway.insights.figures import from_epoch
from gateway.insights.load import program_figures
from gateway.notices import queue_program_mail
from gateway.store.models import Organization, Outbox, Staff

log = logging.getLogger("gateway.insights")
SEND_FROM_HOUR = 8
MAX_QUIET_LISTED = 30


def digest_week(now: datetime, time_zone: str) -> str | None:
    """The ISO week whose digest is due at `now` ("2026-W10"), or None before Monday 08:00 local."""
    local = now.astimezone(ZoneInfo(time_zone))
    if local.weekday() == 0 and local.hour < SEND_FROM_HOUR:
        return None
    year, week, _ = local.isocalendar()
    return f"{year}-W{week:02d}"


def _link(settings: Settings, path: str) -> str:
    web = settings.web
    base = web.public_url.rstrip("/") or f"http://{web.host}:{web.port}"
    return base + path


def send_weekly_digests(session: Session, settings: Settings, now: datetime) -> int:
    """Queue this week's digest for every active coordinator who has not opted out."""
    week = digest_week(now, settings.gateway.time_zone)
    if week is None:
        return 0
    coordinators = session.exec(select(Staff).where(
        col(Staff.role) == "coordinator", col(Staff.active).is_(True),
        col(Staff.weekly_digest).is_(True), col(Staff.org_id).is_not(None))).all()
    sent = 0
    for staff in coordinators:
        key = f"weekly_digest:{staff.id}:{week}"
        if session.exec(select(Outbox.id).where(Outbox.dedup_key == key)).first() is not None:
            continue
        assert staff.org_id is not None
        figures = program_figures(session, (staff.org_id,), since=now - timedelta(days=7),
                                  until=now, now=now, quiet_days=settings.insights.quiet_days)
        org = session.get(Organization, staff.org_id)
        quiet = [{"pair": pid, "since": from_epoch(at).strftime("%Y-%m-%d"),
                  "link": _link(settings, f"/pairs?q={pid}")}
                 for pid, at in figures.pairs.quiet[:MAX_QUIET_LISTED]]
        savepoint = session.begin_nested()  # another instance may queue it at the same moment
        try:
            queue_program_mail(
                session, settings, kind="digest", to_address=staff.email,
                to_name=staff.display_name, template="weekly_digest", lang=staff.lang,
                context={"recipient_name": staff.display_name, "organization": org.name if org else "",
                         "week": week, "figures": summary(figures), "quiet": quiet,
                         "quiet_total": len(figures.pairs.quiet),
                         "dashboard": _link(settings, "/program")},
                now=now, dedup_key=key)
            savepoint.commit()
            sent += 1
        except IntegrityError:
            savepoint.rollback()
    if sent:
        log.info("%d weekly digest(s) queued for %s", sent, week)
    return sent


def set_weekly_digest(session: Session, staff_id: int, wanted: bool) -> None:
    staff = session.get(Staff, staff_id)
    if staff is not None:
        staff.weekly_digest = wanted
        session.add(staff)
