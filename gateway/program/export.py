"""Everything the program holds about one participant, for a Law 25 access request, and nothing more.

One key per table. What a partner wrote or is (their address, name, aliases' owner, the mail we
forwarded to this person) stays out: received messages and outgoing mail appear as facts (when,
what kind, what happened), and any partner's address or name in a kept text is masked.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, SQLModel, col, select

from gateway.mail.parse import parse
from gateway.mail.text import text_of
from gateway.program.service import participant_by_email
from gateway.store.models import (
    Alias,
    AuditEvent,
    Badge,
    ConsentRequest,
    MatchApproval,
    MatchBlock,
    MatchOffer,
    MatchSuggestion,
    Message,
    MessageIdMap,
    Organization,
    Outbox,
    Pair,
    Participant,
    ParticipantInterest,
    Report,
    UsedToken,
)

MASK = "[partenaire/partner]"


def export_participant(session: Session, email: str) -> dict[str, Any]:
    person = participant_by_email(session, email)
    pid = person.id
    pairs = list(session.exec(select(Pair).where(
        (col(Pair.mentor_id) == pid) | (col(Pair.mentee_id) == pid))).all())
    pair_ids = [p.id for p in pairs]
    partners = [session.get(Participant, p.mentee_id if p.mentor_id == pid else p.mentor_id)
                for p in pairs]
    sent = list(session.exec(select(Message).where(Message.sender_id == pid)).all())
    received = list(session.exec(select(Message).where(Message.recipient_id == pid)).all())
    requests = list(session.exec(select(ConsentRequest).where(ConsentRequest.participant_id == pid)).all())
    outbox = session.exec(select(Outbox).where(
        (col(Outbox.recipient_participant_id) == pid) | (col(Outbox.recipient) == person.email))).all()
    message_ids = [m.id for m in sent + received]
    events = session.exec(select(AuditEvent).where(
        ((col(AuditEvent.subject_type) == "participant") & (col(AuditEvent.subject_id) == pid))
        | ((col(AuditEvent.subject_type) == "pair") & col(AuditEvent.subject_id).in_(pair_ids))
        | ((col(AuditEvent.subject_type) == "message") & col(AuditEvent.subject_id).in_(message_ids))
        | (col(AuditEvent.actor) == person.email)).order_by(col(AuditEvent.id))).all()
    org = session.get(Organization, person.org_id) if person.org_id else None
    data: dict[str, Any] = {
        "participant": [_row(person)],
        "organization": [_row(org)] if org else [],
        "participantinterest": [_row(r) for r in session.exec(select(ParticipantInterest).where(
            ParticipantInterest.participant_id == pid)).all()],
        "consentrequest": [_row(r) for r in requests],
        "pair": [{**_row(p, drop=("mentor_id", "mentee_id", "last_delivered_message_id")),
                  "role_in_pair": "mentor" if p.mentor_id == pid else "mentee"} for p in pairs],
        "badge": [_row(b) for b in session.exec(select(Badge).where(
            col(Badge.pair_id).in_(pair_ids))).all()],
        "alias": [_row(a) for a in session.exec(select(Alias).where(Alias.participant_id == pid)).all()],
        "message": [_sent(m) for m in sent] + [_received(m) for m in received],
        "messageidmap": [_row(r) for r in session.exec(select(MessageIdMap).where(
            MessageIdMap.sender_id == pid)).all()],
        "outbox": [_row(o, drop=("data", "envelope_from", "claimed_by", "claimed_until",
                                 "message_id")) for o in outbox],
        "auditevent": [_row(e) for e in events],
        "usedtoken": [_row(t) for t in session.exec(select(UsedToken).where(
            col(UsedToken.used_by).in_([person.email, *(r.guardian_email for r in requests)]))).all()],
        **_matching(session, pid),
        "report": [_report(r, pid) for r in session.exec(select(Report).where(
            (col(Report.reporter_id) == pid) | (col(Report.reported_id) == pid))).all()],
    }
    return _masked(data, [p for p in partners if p is not None and p.id != pid])


def _matching(session: Session, pid: int | None) -> dict[str, list[dict[str, Any]]]:
    """Suggestions, approvals, blocks and offers naming them; the other side's id is left out."""
    either = ("mentee_id", "mentor_id")
    return {
        "matchsuggestion": [{**_row(m, drop=either), "role": "mentee" if m.mentee_id == pid else "mentor"}
                            for m in session.exec(select(MatchSuggestion).where(
                                (col(MatchSuggestion.mentee_id) == pid)
                                | (col(MatchSuggestion.mentor_id) == pid))).all()],
        "matchapproval": [_row(a) for a in session.exec(select(MatchApproval).where(
            MatchApproval.mentor_id == pid)).all()],
        "matchblock": [{**_row(b, drop=either), "role": "mentee" if b.mentee_id == pid else "mentor"}
                       for b in session.exec(select(MatchBlock).where(
                           (col(MatchBlock.mentee_id) == pid) | (col(MatchBlock.mentor_id) == pid))).all()],
        "matchoffer": [_row(o, drop=("mentor_ids",)) for o in session.exec(select(MatchOffer).where(
            MatchOffer.mentee_id == pid)).all()],
    }


def _report(report: Report, pid: int | None) -> dict[str, Any]:
    """A report they made in full (their own words); one about them as facts only."""
    if report.reporter_id == pid:
        return _row(report, drop=("raw", "reported_id", "note", "decided_by"))
    keep = ("id", "kind", "state", "pair_id", "created_at", "decided_at")
    return {k: _plain(getattr(report, k)) for k in keep}


def _row(obj: SQLModel | None, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    assert obj is not None
    return {k: _plain(v) for k, v in obj.model_dump().items() if k not in drop}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return None
    return value


def _sent(message: Message) -> dict[str, Any]:
    row = _row(message, drop=("raw", "hits_json", "recipient_id", "decision_note", "decided_by"))
    row["written_by"] = "you"
    try:
        row["text"] = text_of(parse(message.raw)) if message.raw else None
    except Exception:  # an unreadable message is still listed, without its text
        row["text"] = None
    return row


def _received(message: Message) -> dict[str, Any]:
    keep = ("id", "pair_id", "direction", "state", "received_at", "updated_at", "erased_at")
    return {**{k: _plain(getattr(message, k)) for k in keep}, "written_by": "partner"}


def _masked(data: Any, partners: list[Participant]) -> Any:
    words = {w for p in partners for w in (p.email, p.display_name, p.last_name, p.first_name,
                                           p.guardian_email) if w and len(w) > 1}
    if not words:
        return data
    pattern = re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)),
                         re.IGNORECASE)

    def walk(value: Any) -> Any:
        if isinstance(value, str):
            return pattern.sub(MASK, value)
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        return value

    return walk(data)
