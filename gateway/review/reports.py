"""Reports and contact mail: open one (pause the pair, tell everyone), list, show, and decide them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from gateway.clock import as_utc
from gateway.config import Settings
from gateway.errors import GatewayError
from gateway.mail.parse import parse
from gateway.mail.text import text_of
from gateway.program.service import change_pair_state
from gateway.review import report_notices as notices
from gateway.review.overview import HistoryRow, pair_history
from gateway.store.audit import record
from gateway.store.models import Message, Outbox, Pair, Participant, Report

ACTIONS = ("resume", "close", "block")
# What each decision leaves the report in; contact mail is simply marked done.
REPORT_STATES = {"resume": "resumed", "close": "closed", "block": "blocked"}


class ReportError(GatewayError):
    """A refused report action (unknown id, already decided), phrased for the staff member."""


@dataclass(frozen=True)
class ReportItem:
    id: int
    kind: str
    source: str
    state: str
    pair_id: int | None
    created_at: datetime
    reporter: str
    subject: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "source": self.source, "state": self.state,
                "pair_id": self.pair_id, "created_at": self.created_at.isoformat(),
                "reporter": self.reporter, "subject": self.subject}


@dataclass(frozen=True)
class ReportDetail:
    item: ReportItem
    pair_state: str | None
    report_text: str
    reported_text: str
    reported_message_id: int | None
    history: list[HistoryRow]


def open_report(session: Session, settings: Settings, *, pair: Pair, reporter: Participant,
                source: str, now: datetime, from_address: str, message: Message | None = None,
                report_message: Message | None = None, raw: bytes | None = None,
                subject: str | None = None, actions: notices.StaffActions | None = None) -> Report:
    """Pause the pair at once, store the report, tell both sides and alert staff (not a digest)."""
    assert pair.id is not None and reporter.id is not None
    reported_id = pair.mentor_id if reporter.id == pair.mentee_id else pair.mentee_id
    message = message or last_received(session, pair.id, reporter.id)
    report = Report(kind="report", source=source, pair_id=pair.id, org_id=pair.org_id,
                    reporter_id=reporter.id, reported_id=reported_id,
                    message_id=message.id if message else None,
                    report_message_id=report_message.id if report_message else None,
                    from_address=from_address, subject=(subject or "")[:500] or None, raw=raw,
                    created_at=now)
    session.add(report)
    session.flush()
    if pair.state == "active":
        change_pair_state(session, pair.id, "pause", now=now, actor="system",
                          reason=f"report {report.id}")
    hold_back_forwards(session, pair.id, now)
    # The actor is the participant's number, not their address: forgetting them must leave no trace.
    record(session, at=now, actor=f"participant:{reporter.id}", subject_type="pair", subject_id=pair.id,
           action="report", detail=f"report {report.id} ({source})")
    reported = session.get(Participant, reported_id)
    assert reported is not None
    notices.acknowledge_report(session, settings, report, reporter, now)
    notices.tell_paused(session, settings, report, reported, now)
    notices.alert_staff(session, settings, report, now, actions)
    return report


def open_contact(session: Session, settings: Settings, *, from_address: str, raw: bytes,
                 subject: str | None, now: datetime, answer: bool,
                 actions: notices.StaffActions | None = None) -> Report:
    """Mail to the program address: a `contact` item for staff, an acknowledgement unless `answer`
    is False (auto-replies and bounces are never answered: two robots would write forever)."""
    person = session.exec(select(Participant).where(Participant.email == from_address)).first()
    report = Report(kind="contact", source="program", from_address=from_address[:320],
                    reporter_id=person.id if person else None,
                    org_id=person.org_id if person else None,
                    subject=(subject or "")[:500] or None, raw=raw, created_at=now)
    session.add(report)
    session.flush()
    record(session, at=now, actor=f"participant:{person.id}" if person else "program-address",
           subject_type="report", subject_id=report.id,
           action="contact", detail=f"contact {report.id}")
    if answer:
        notices.acknowledge_contact(session, settings, report, person, now)
    notices.alert_staff(session, settings, report, now, actions)
    return report


def hold_back_forwards(session: Session, pair_id: int, now: datetime) -> int:
    """Forwards of the pair still waiting in the outbox (queued, or deferred by the provider)
    stop there: "nothing flows either way" includes what was accepted a minute ago."""
    rows = session.exec(select(Outbox).where(
        Outbox.pair_id == pair_id, Outbox.kind == "forward",
        col(Outbox.state).in_(("queued", "deferred")))).all()
    for row in rows:
        row.state = "paused"
        session.add(row)
        record(session, at=now, actor="system", subject_type="outbox", subject_id=row.id,
               action="paused", to_state="paused", detail="pair paused by a report")
    return len(rows)


def _release_forwards(session: Session, pair_id: int, now: datetime, *, deliver: bool) -> None:
    """Resumed: the held-back forwards leave now. Closed: they never leave (recorded as failed)."""
    rows = session.exec(select(Outbox).where(Outbox.pair_id == pair_id,
                                             Outbox.state == "paused")).all()
    for row in rows:
        row.state = "queued" if deliver else "failed"
        row.next_attempt_at = now
        if not deliver:
            row.last_error = "not sent: the pair was closed after a report"
        session.add(row)
        record(session, at=now, actor="system", subject_type="outbox", subject_id=row.id,
               action="released" if deliver else "cancelled", to_state=row.state)


def last_received(session: Session, pair_id: int, reporter_id: int) -> Message | None:
    """The latest message the reporter was sent in this pair: what a report is most likely about."""
    return session.exec(
        select(Message).where(Message.pair_id == pair_id, Message.recipient_id == reporter_id,
                              col(Message.state).in_(("queued", "delivered")))
        .order_by(col(Message.id).desc())).first()


def _item(session: Session, report: Report) -> ReportItem:
    reporter = session.get(Participant, report.reporter_id) if report.reporter_id else None
    assert report.id is not None
    return ReportItem(id=report.id, kind=report.kind, source=report.source, state=report.state,
                      pair_id=report.pair_id, created_at=as_utc(report.created_at),
                      reporter=reporter.display_name if reporter else report.from_address,
                      subject=report.subject or "")


def list_reports(session: Session, org_ids: tuple[int, ...] | None = None, *,
                 state: str | None = "open", limit: int = 100) -> list[ReportItem]:
    """Reports before contact mail, oldest first: a report is the most urgent thing in the queue."""
    query = select(Report)
    if state is not None:
        query = query.where(Report.state == state)
    if org_ids is not None:
        query = query.where(col(Report.org_id).in_(org_ids))
    query = query.order_by(col(Report.kind).desc(), col(Report.created_at), col(Report.id)).limit(limit)
    return [_item(session, r) for r in session.exec(query).all()]


def get_report(session: Session, report_id: int, org_ids: tuple[int, ...] | None = None) -> Report:
    report = session.get(Report, report_id)
    if report is None or (org_ids is not None and report.org_id not in org_ids):
        raise ReportError(f"no report with id {report_id}")  # same answer: no probing
    return report


def _text(raw: bytes | None) -> str:
    if not raw:
        return ""
    try:
        return text_of(parse(raw))
    except Exception:  # unreadable: staff still see the rest of the report
        return "(unreadable)"


def show_report(session: Session, report_id: int, org_ids: tuple[int, ...] | None = None) -> ReportDetail:
    report = get_report(session, report_id, org_ids)
    reported = session.get(Message, report.message_id) if report.message_id else None
    written = session.get(Message, report.report_message_id) if report.report_message_id else None
    pair = session.get(Pair, report.pair_id) if report.pair_id else None
    return ReportDetail(
        item=_item(session, report), pair_state=pair.state if pair else None,
        report_text=_text(written.raw if written else report.raw),
        reported_text=_text(reported.raw) if reported else "",
        reported_message_id=reported.id if reported else None,
        history=pair_history(session, report.pair_id, limit=10) if report.pair_id else [],
    )


def decide(session: Session, settings: Settings, report_id: int, action: str, *, actor: str,
           now: datetime, note: str | None = None, org_ids: tuple[int, ...] | None = None) -> Report:
    """resume (the pair goes on), close (the pair ends), block (close, and the reported
    participant may not be paired again). Contact mail only closes (marked done)."""
    if action not in ACTIONS:
        raise ReportError(f"unknown action {action!r} (one of: {', '.join(ACTIONS)})")
    session.get(Report, report_id, with_for_update=True, populate_existing=True)
    report = get_report(session, report_id, org_ids)
    if report.state != "open":
        raise ReportError(f"report {report_id} is {report.state}, not open: nothing to do")
    if report.kind == "contact":
        if action != "close":
            raise ReportError(f"item {report_id} is contact mail: it can only be closed")
        report.state = "done"
    else:
        _apply_to_pair(session, settings, report, action, actor=actor, now=now)
        report.state = REPORT_STATES[action]
    report.decided_at, report.decided_by, report.note = now, actor, note
    session.add(report)
    record(session, at=now, actor=actor, subject_type="pair" if report.pair_id else "report",
           subject_id=report.pair_id or report.id, action=f"report_{action}",
           detail=f"report {report.id}" + (f": {note}" if note else ""))
    return report


def _apply_to_pair(session: Session, settings: Settings, report: Report, action: str, *,
                   actor: str, now: datetime) -> None:
    pair = session.get(Pair, report.pair_id) if report.pair_id else None
    if pair is None or pair.id is None:
        return
    if action == "resume" and pair.state == "paused":
        change_pair_state(session, pair.id, "resume", now=now, actor=actor,
                          reason=f"report {report.id}")
        notices.tell_pair(session, settings, pair, "pair_resumed", now)
        _release_forwards(session, pair.id, now, deliver=True)
    elif action in ("close", "block") and pair.state != "closed":
        change_pair_state(session, pair.id, "close", now=now, actor=actor,
                          reason=f"report {report.id}")
        notices.tell_pair(session, settings, pair, "pair_closed", now)
        _release_forwards(session, pair.id, now, deliver=False)
    if action == "block" and report.reported_id is not None:
        reported = session.get(Participant, report.reported_id)
        if reported is not None and reported.blocked_at is None:
            reported.blocked_at = now
            session.add(reported)
            record(session, at=now, actor=actor, subject_type="participant", subject_id=reported.id,
                   action="block", detail=f"report {report.id}: no new pairs")
