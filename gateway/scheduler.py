"""APScheduler 3 inside `serve`: reminders, hold escalation, the moderators' and coordinators' digests, retention."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from gateway.durations import parse_duration
from gateway.review.escalation import escalate_overdue, send_digest

if TYPE_CHECKING:
    from gateway.runtime import Runtime

log = logging.getLogger("gateway.scheduler")


async def moderation_chores(app: Runtime) -> None:
    now = app.clock.now()
    postgres = not app.db.is_sqlite
    escalated = await app.db.write(lambda s: escalate_overdue(
        s, app.settings, now, postgres=postgres, actions=app.moderator_actions))
    digests = await app.db.write(lambda s: send_digest(s, app.settings, now))
    if escalated or digests:
        app.wake_delivery()


async def reminder_check(app: Runtime) -> None:
    from gateway.reminders.service import run_reminders

    count = await run_reminders(app.db, app.settings, app.clock.now())
    if count:
        log.info("%d reminder(s) queued", count)
        app.metrics.reminders.inc(count)
        app.wake_delivery()


async def retention_chores(app: Runtime) -> None:
    from gateway.store.retention import Erased, erase_batch, record_erasure

    now, keep = app.clock.now(), parse_duration(app.settings.retention.keep_bodies_for)
    total = Erased(0, 0)
    while erased := await app.db.write(lambda s: erase_batch(s, now, keep)):
        total += erased  # each batch commits on its own: incoming mail is never held up long
    if total:
        await app.db.write(lambda s: record_erasure(s, now, keep, total))
        log.info("retention: erased %d message(s) and %d outgoing copie(s)", total.messages,
                 total.outbox_copies)


async def weekly_digests(app: Runtime) -> None:
    from gateway.insights.digest import send_weekly_digests

    if await app.db.write(lambda s: send_weekly_digests(s, app.settings, app.clock.now())):
        app.wake_delivery()


async def missions_and_badges(app: Runtime) -> None:
    from gateway.missions.service import award_badges, send_due_missions

    now = app.clock.now()
    sent = await app.db.write(lambda s: send_due_missions(s, app.settings, now))
    awarded = await app.db.write(lambda s: award_badges(s, app.settings, now))
    if sent or awarded:
        log.info("%d mission(s) sent, %d badge(s) awarded", sent, awarded)
        app.wake_delivery()


async def consent_chores(app: Runtime) -> None:
    from gateway.program.consent import send_reminders

    now = app.clock.now()
    if await app.db.write(lambda s: send_reminders(s, app.settings, now)):
        app.wake_delivery()


async def run_scheduler(app: Runtime) -> None:
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(moderation_chores, "interval", args=[app], minutes=5, max_instances=1,
                      coalesce=True, id="moderation")
    scheduler.add_job(consent_chores, "interval", args=[app], hours=1, max_instances=1,
                      coalesce=True, id="consent")
    if app.settings.reminders.enabled:
        every = parse_duration(app.settings.reminders.check_every)
        scheduler.add_job(reminder_check, "interval", args=[app], seconds=every.total_seconds(),
                          max_instances=1, coalesce=True, id="reminders")
    if app.settings.retention.enabled:
        scheduler.add_job(retention_chores, "interval", args=[app], hours=1, max_instances=1,
                          coalesce=True, id="retention")
    scheduler.add_job(weekly_digests, "interval", args=[app], hours=1, max_instances=1,
                      coalesce=True, id="weekly_digest")
    if app.settings.missions.enabled:
        scheduler.add_job(missions_and_badges, "interval", args=[app], hours=1, max_instances=1,
                          coalesce=True, id="missions")
    scheduler.start()
    try:
        await app.stopping.wait()
    finally:
        scheduler.shutdown(wait=False)
