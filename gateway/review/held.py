"""The held-message service: list, show, approve (optionally redacted), reject. CLI, web, email call it."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any

from sqlalchemy import and_, case, func, or_
from sqlalchemy.orm import defer
from sqlmodel import Session, col, select

from gateway.clock import as_utc
from gateway.config import Settings
from gateway.errors import GatewayError
from gateway.mail.bodies import rewrite_text_leaf
from gateway.mail.leaves import withhold_unreadable
from gateway.mail.parse import parse
from gateway.mail.rewrite import replace_in_text_parts
from gateway.mail.text import html_to_text
from gateway.moderation.facts import facts_from_message
from gateway.relay.forward import (
    PreparedForward,
    load_people,
    queue_forward,
    render_ahead,
    thread_ids,
    thread_refs,
    thread_refs_of,
)
from gateway.relay.notify import notify_rejection
from gateway.store.lifecycle import set_state
from gateway.store.models import Message, Organization, Pair, Participant, Report

REDACTED = "[retiré / removed]"


class QueueError(GatewayError):
    """A refused queue action (unknown id, already decided), phrased for the moderator."""


@dataclass(frozen=True)
class HeldItem:
    id: int
    pair_id: int
    org: str | None
    direction: str
    received_at: datetime
    subject: str
    reasons: list[str]
    hits: list[dict[str, Any]]
    severity: str | None = None  # low | medium | high: the highest of the hits that held it

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "pair_id": self.pair_id, "organization": self.org,
                "direction": self.direction, "received_at": self.received_at.isoformat(),
                "subject": self.subject, "reasons": self.reasons, "hits": self.hits,
                "severity": self.severity}


@dataclass(frozen=True)
class HeldFilter:
    org_ids: tuple[int, ...] | None = None  # None = every organization
    reason: str | None = None
    pair_id: int | None = None
    state: str = "held"


def _item(message: Message, org: str | None) -> HeldItem:
    hits = json.loads(message.hits_json or "[]")
    reasons = sorted({h["rule"] for h in hits})
    assert message.id is not None
    return HeldItem(id=message.id, pair_id=message.pair_id, org=org, direction=message.direction,
                    received_at=as_utc(message.received_at), subject=message.subject or "",
                    reasons=reasons, hits=hits, severity=message.severity)


def _filtered(query: Any, where: HeldFilter) -> Any:
    query = query.where(Message.state == where.state)
    if where.org_ids is not None:
        query = query.where(col(Pair.org_id).in_(where.org_ids))
    if where.pair_id is not None:
        query = query.where(Message.pair_id == where.pair_id)
    if where.reason:
        # A substring test on the stored JSON (as json.dumps writes it): a scan of the held rows,
        # measured at ~10 ms for 10,000 (docs/performance.md); escaped so '%' and '_' are literal.
        needle = json.dumps({"rule": where.reason}, ensure_ascii=False)[1:-1]
        query = query.where(col(Message.hits_json).contains(needle, autoescape=True))
    return query


# high first, then medium, low, and holds without a severity (paused pair, internal error)
_SEVERITY_ORDER = case({"high": 0, "medium": 1, "low": 2}, value=col(Message.severity), else_=3)


def list_held(session: Session, where: HeldFilter = HeldFilter(), *, limit: int = 100,
              offset: int = 0, by_severity: bool = False) -> list[HeldItem]:
    """Oldest first (or most severe first, then oldest); one query, so 10,000 held messages
    page quickly."""
    order = (_SEVERITY_ORDER,) if by_severity else ()
    query = (select(Message, Organization.name)
             .join(Pair, Pair.id == Message.pair_id)  # type: ignore[arg-type]
             .outerjoin(Organization, Organization.id == Pair.org_id)  # type: ignore[arg-type]
             .options(defer(Message.raw))  # type: ignore[arg-type]  # no 5 MB bodies for a list
             .order_by(*order, col(Message.received_at), col(Message.id))
             .offset(offset).limit(limit))
    return [_item(m, org) for m, org in session.exec(_filtered(query, where)).all()]


def count_held(session: Session, where: HeldFilter = HeldFilter()) -> int:
    query = select(func.count()).select_from(Message)
    if where.org_ids is not None:  # without it, the count is answered from (state, id) alone
        query = query.join(Pair, Pair.id == Message.pair_id)  # type: ignore[arg-type]
    return int(session.exec(_filtered(query, where)).one())


_SEVERITY_RANK = {"high": 0, "medium": 1, "low": 2}


def neighbours(session: Session, where: HeldFilter, message_id: int) -> tuple[int | None, int | None]:
    """The held items just before and just after `message_id` in the queue's order (most severe
    first, then oldest), within `where` (the message itself may already be decided): what
    "next" and "previous" open."""
    row = session.exec(select(Message.severity, Message.received_at, Message.id)
                       .where(Message.id == message_id)).first()
    if row is None:
        return None, None
    severity, at, mid = row
    rank = _SEVERITY_RANK.get(severity or "", 3)
    base = select(Message.id).join(Pair, Pair.id == Message.pair_id)  # type: ignore[arg-type]
    when, ident = col(Message.received_at), col(Message.id)
    same_rank = _SEVERITY_ORDER == rank  # noqa: SIM300  (a SQL expression, not a bool)
    later = or_(rank < _SEVERITY_ORDER, and_(same_rank, or_(
        when > at, and_(when == at, ident > mid))))
    earlier = or_(rank > _SEVERITY_ORDER, and_(same_rank, or_(
        when < at, and_(when == at, ident < mid))))
    after = session.exec(_filtered(base, where).where(later)
                         .order_by(_SEVERITY_ORDER, when, ident).limit(1)).first()
    before = session.exec(_filtered(base, where).where(earlier)
                          .order_by(_SEVERITY_ORDER.desc(), when.desc(), ident.desc())
                          .limit(1)).first()
    return before, after


@dataclass(frozen=True)
class HeldDetail:
    item: HeldItem
    text: str
    sender_name: str
    recipient_name: str
    pair_state: str


def get_message(session: Session, message_id: int, org_ids: tuple[int, ...] | None = None) -> Message:
    message = session.get(Message, message_id)
    if message is None:
        raise QueueError(f"no message with id {message_id}")
    if org_ids is not None:
        pair = session.get(Pair, message.pair_id)
        if pair is None or pair.org_id not in org_ids:
            raise QueueError(f"no message with id {message_id}")  # same answer: no probing
    return message


def show_held(session: Session, message_id: int, org_ids: tuple[int, ...] | None = None) -> HeldDetail:
    message = get_message(session, message_id, org_ids)
    pair = session.get(Pair, message.pair_id)
    org = session.get(Organization, pair.org_id) if pair and pair.org_id else None
    sender = session.get(Participant, message.sender_id)
    recipient = session.get(Participant, message.recipient_id)
    assert pair is not None and sender is not None and recipient is not None
    # The text the rules saw (an HTML copy that shows more is included), so every evidence
    # span the moderator is told about can be found in it.
    text = facts_from_message(message.raw, direction=message.direction).text  # type: ignore[arg-type]
    return HeldDetail(item=_item(message, org.name if org else None), text=text,
                      sender_name=sender.display_name, recipient_name=recipient.display_name,
                      pair_state=pair.state)


def _decidable(session: Session, message_id: int, org_ids: tuple[int, ...] | None) -> Message:
    # Lock and re-read the row (PostgreSQL): two moderators deciding at the same moment must not
    # both see "held" and both deliver; the second waits, then reads the first one's decision.
    session.get(Message, message_id, with_for_update=True, populate_existing=True)
    message = get_message(session, message_id, org_ids)
    if message.state != "held":
        raise QueueError(f"message {message_id} is {message.state}, not held: nothing to do")
    return message


_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212"


def _span_regex(span: str) -> str:
    # Any run of white space may separate the words, and any dash stand for another: the same
    # number in the HTML copy often has non-breaking spaces or hyphens, or breaks across lines.
    def word(w: str) -> str:
        return "".join(f"[{_DASHES}]" if c in _DASHES else re.escape(c) for c in w)
    return r"\s+".join(word(w) for w in span.split())


def _evidence_pattern(evidence: list[str]) -> re.Pattern[str] | None:
    spans = sorted({e.strip() for e in evidence if e.strip()}, key=len, reverse=True)
    if not spans:
        return None
    return re.compile("|".join(_span_regex(s) for s in spans), re.IGNORECASE)


def _redact_html(html: str, pattern: re.Pattern[str]) -> tuple[str, int]:
    """Markup or entities inside a span (<b>514</b>&nbsp;555-1234) hide it from a search of the
    source; when the rendered text still shows it, the part becomes the redacted text, escaped."""
    text = html_to_text(html)
    if not pattern.search(text):
        return html, 0
    return f'<div style="white-space: pre-wrap">{escape(pattern.sub(REDACTED, text))}</div>', 1


def redact(raw: bytes, evidence: list[str]) -> bytes:
    """Replace every evidence span in the text parts (HTML as rendered, too) by the placeholder."""
    raw = withhold_unreadable(raw)  # parts no one could check go no further
    pattern = _evidence_pattern(evidence)
    if pattern is None:
        return raw
    msg = parse(raw)
    replace_in_text_parts(msg, pattern, REDACTED)
    for part in msg.walk():
        if part.get_content_type() == "text/html" and not part.is_attachment():
            rewrite_text_leaf(part, lambda html: _redact_html(html, pattern))
    subject = msg.get("Subject")
    if subject is not None:
        del msg["Subject"]
        msg["Subject"] = pattern.sub(REDACTED, str(subject))
    return msg.as_bytes()


def render_for_approval(session: Session, settings: Settings, message_id: int,
                        org_ids: tuple[int, ...] | None = None, *,
                        redacted: bool = False) -> PreparedForward | None:
    """The forward of a held message, rendered in a read transaction before the write that
    approves it: the rewrite of a large message takes seconds (4 MB of HTML: 5 s on a slow
    machine), and on SQLite the single writer held everyone's incoming mail for as long.
    None when there is nothing to render; approve() then says why, or renders it itself."""
    message = get_message(session, message_id, org_ids)
    if message.state != "held":
        return None
    people = load_people(session, settings, message)
    source = _redacted(message) if redacted else None
    thread = thread_ids(session, people, thread_refs(parse(source)) if source is not None
                        else thread_refs_of(message.raw))
    return render_ahead(settings, message, people, thread, auto_reply=message.auto_reply,
                        source=source)


def _redacted(message: Message) -> bytes:
    return redact(message.raw, [h.get("evidence", "") for h in json.loads(message.hits_json or "[]")])


def approve(session: Session, settings: Settings, message_id: int, *, actor: str, now: datetime,
            note: str | None = None, redacted: bool = False,
            org_ids: tuple[int, ...] | None = None,
            prepared: PreparedForward | None = None) -> Message:
    """Deliver a held message as it is (the rules are not run again), or with evidence removed.
    `prepared`: its forward from render_for_approval, used if its thread is still the same."""
    message = _decidable(session, message_id, org_ids)
    people = load_people(session, settings, message)
    if people.pair.state == "closed":
        # Closing a pair ends the relationship: nothing more may reach the other side.
        raise QueueError(f"pair {people.pair.id} is closed: message {message_id} cannot be "
                         "delivered; reject it instead")
    if session.exec(select(Report.id).where(Report.pair_id == people.pair.id,
                                            Report.state == "open")).first() is not None:
        # A report paused the pair: nothing reaches either side until staff decide the report.
        raise QueueError(f"pair {people.pair.id} has an open report: resume the pair from the "
                         f"report first (mentor-gateway reports list), then approve message {message_id}")
    raw = None
    if redacted:  # the copy the read step redacted (held messages do not change), or anew
        raw = prepared.source if prepared is not None and prepared.source is not None \
            else _redacted(message)
    queue_forward(session, settings, message, people, now, raw=raw, actor=actor,
                  prepared=prepared, refs=None if redacted else thread_refs_of(message.raw))
    message.decided_by, message.decision_note = actor, note
    set_state(session, message, "queued", now, actor=actor,
              detail=("approved with redaction" if redacted else "approved") + (f": {note}" if note else ""))
    return message


def reject(session: Session, settings: Settings, message_id: int, *, actor: str, now: datetime,
           reason: str, org_ids: tuple[int, ...] | None = None) -> Message:
    """Refuse a held message; the sender gets `reason` (in the words the moderator chose)."""
    if not reason.strip():
        raise QueueError("a rejection needs a reason for the sender")
    message = _decidable(session, message_id, org_ids)
    people = load_people(session, settings, message)
    message.decided_by, message.decision_note = actor, reason
    set_state(session, message, "rejected", now, actor=actor, detail=f"rejected: {reason}")
    notify_rejection(session, settings, message, people, (), now, reason=reason.strip())
    return message
