"""The mail a report or contact item sends: the reporter's acknowledgement, the paused notice, staff alerts."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime

from sqlmodel import Session, col, or_, select

from gateway.config import Settings
from gateway.notices import program_address, queue_program_mail
from gateway.store.models import Outbox, Pair, Participant, Report, Staff

# The signed reply addresses (resume / close / block) a staff alert carries; app.py passes them.
StaffActions = Callable[[Session, Staff, Report, datetime], dict[str, str]]


def report_address(settings: Settings) -> str:
    return f"{settings.safety.report_local_part}@{settings.gateway.domain}"


def staff_for(session: Session, org_id: int | None) -> list[Staff]:
    """Every active moderator who sees the organization, and its coordinators."""
    query = select(Staff).where(Staff.active == True)  # noqa: E712
    if org_id is None:
        query = query.where(Staff.role == "moderator", col(Staff.org_id).is_(None))
    else:
        query = query.where(or_(
            (col(Staff.role) == "moderator") & (col(Staff.org_id).is_(None) | (Staff.org_id == org_id)),
            (col(Staff.role) == "coordinator") & (Staff.org_id == org_id)))
    return list(session.exec(query.order_by(col(Staff.id))).all())


def acknowledge_report(session: Session, settings: Settings, report: Report, reporter: Participant,
                       now: datetime) -> None:
    queue_program_mail(
        session, settings, kind="notice", to_address=reporter.email, to_name=reporter.display_name,
        template="report_ack", lang=reporter.lang,
        context={"recipient_name": reporter.display_name,
                 "help_resources": list(settings.safety.help_resources),
                 "program_address": program_address(settings)},
        now=now, pair_id=report.pair_id, recipient_participant_id=reporter.id,
        auto_submitted="auto-replied", dedup_key=f"report-ack:{report.id}",
    )


def tell_paused(session: Session, settings: Settings, report: Report, person: Participant,
                now: datetime) -> None:
    """The reported side learns only that the pair is paused: not who asked, nor why."""
    queue_program_mail(
        session, settings, kind="notice", to_address=person.email, to_name=person.display_name,
        template="pair_paused", lang=person.lang,
        context={"recipient_name": person.display_name},
        now=now, pair_id=report.pair_id, recipient_participant_id=person.id,
        dedup_key=f"pair-paused:{report.id}",
    )


def tell_pair(session: Session, settings: Settings, pair: Pair, template: str, now: datetime) -> None:
    """pair_resumed / pair_closed to both participants."""
    for person_id in (pair.mentor_id, pair.mentee_id):
        person = session.get(Participant, person_id)
        if person is None:
            continue
        queue_program_mail(
            session, settings, kind="notice", to_address=person.email, to_name=person.display_name,
            template=template, lang=person.lang, context={"recipient_name": person.display_name},
            now=now, pair_id=pair.id, recipient_participant_id=person.id,
        )


def acknowledge_contact(session: Session, settings: Settings, report: Report,
                        person: Participant | None, now: datetime) -> None:
    # One acknowledgement a day per address: a sender that answers every mail (a robot that
    # does not say so) gets one, and the loop stops there.
    who = hashlib.sha256(report.from_address.encode()).hexdigest()[:24]  # no address in the key
    key = f"contact-ack:{who}:{now.date().isoformat()}"
    if _queued(session, key):
        return
    queue_program_mail(
        session, settings, kind="notice", to_address=report.from_address,
        to_name=person.display_name if person else "", template="contact_ack",
        lang=person.lang if person else "fr",
        context={"recipient_name": person.display_name if person else "",
                 "report_address": report_address(settings), "known": person is not None},
        now=now, recipient_participant_id=person.id if person else None,
        auto_submitted="auto-replied", dedup_key=key,
    )


def alert_staff(session: Session, settings: Settings, report: Report, now: datetime,
                actions: StaffActions | None) -> None:
    """Right away, to each moderator and coordinator of the organization (never in a digest)."""
    public = settings.web.public_url or f"http://{settings.web.host}:{settings.web.port}"
    for staff in staff_for(session, report.org_id):
        # Coordinators read; moderators decide (the page, the CLI, or these reply addresses).
        decides = actions is not None and report.kind == "report" and staff.role == "moderator"
        links = actions(session, staff, report, now) if actions is not None and decides else {}
        queue_program_mail(
            session, settings, kind="alert", to_address=staff.email, to_name=staff.display_name,
            template="report_alert", lang=staff.lang,
            context={"recipient_name": staff.display_name, "report": report,
                     "page": f"{public.rstrip('/')}/reports/{report.id}", "actions": links},
            now=now, dedup_key=f"report-alert:{report.id}:{staff.id}",
        )


def _queued(session: Session, key: str) -> bool:
    return session.exec(select(Outbox.id).where(Outbox.dedup_key == key)).first() is not None
