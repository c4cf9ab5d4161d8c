"""Turn one stored message into its anonymized forward: thread ids translated, outbox row queued."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from sqlalchemy import and_, bindparam, insert, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from gateway.clock import as_utc
from gateway.config import Settings
from gateway.mail.autoreply import mark_auto_reply
from gateway.mail.dates import date_value
from gateway.mail.footer import append_footer
from gateway.mail.parse import header_message_ids, parse, parse_headers
from gateway.mail.privacy import Person, Privacy
from gateway.mail.rewrite import Party, RewriteContext, anonymize_report
from gateway.mail.threading import new_message_id, reference_ids
from gateway.notices import bounce_address, queue_program_mail
from gateway.reminders.unsubscribe import OWN_LINKS_WORD, own_unsubscribe_links
from gateway.safeguarding.footer import footer_html, footer_text
from gateway.store.deferred import defer, write_deferred
from gateway.store.lifecycle import Later, enqueue
from gateway.store.models import Alias, Message, MessageIdMap, Outbox, Pair, Participant
from gateway.store.raw import Raw


@dataclass(frozen=True)
class PairPeople:
    pair: Pair
    sender: Participant
    recipient: Participant
    sender_alias: str
    recipient_alias: str


def party(settings: Settings, person: Participant, alias: str) -> Party:
    """A participant as the rewrite sees them: shown under the name the program uses."""
    return Party(person.email, settings.privacy.shown_name(person.display_name, person.role),
                 alias, real_name=person.display_name)


def privacy_for(settings: Settings, people: PairPeople) -> Privacy:
    """What the rewrite will replace, for the rules to read the message as it will be shown."""
    return Privacy([Person(p.address, p.alias, p.real_name, p.display_name) for p in (
        party(settings, people.sender, people.sender_alias),
        party(settings, people.recipient, people.recipient_alias))],
        settings.privacy.personal_domains)


def load_people(session: Session, settings: Settings, message: Message) -> PairPeople:
    return load_people_many(session, settings, [message])[message.id or 0]


def load_people_many(session: Session, settings: Settings,
                     messages: Sequence[Message]) -> dict[int, PairPeople]:
    """Pairs, participants and aliases of a whole batch in one query (by message id)."""
    if not messages:
        return {}
    pairs: dict[int | None, Pair] = {}
    persons: dict[int | None, Participant] = {}
    aliases: dict[tuple[int | None, int | None], str] = {}
    for pair, person, local_part in session.execute(
            _PEOPLE, {"ids": sorted({m.pair_id for m in messages})}):
        pairs[pair.id], persons[person.id] = pair, person
        aliases[(pair.id, person.id)] = local_part
    domain = settings.gateway.domain
    found: dict[int, PairPeople] = {}
    for message in messages:
        pair, sender = pairs.get(message.pair_id), persons.get(message.sender_id)
        recipient = persons.get(message.recipient_id)
        assert pair is not None and sender is not None and recipient is not None
        found[message.id or 0] = PairPeople(
            pair=pair, sender=sender, recipient=recipient,
            sender_alias=f"{aliases[(message.pair_id, sender.id)]}@{domain}",
            recipient_alias=f"{aliases[(message.pair_id, recipient.id)]}@{domain}",
        )
    return found


# Built once (the relay's hot path): building a statement costs about as much as running it.
_ALIAS = Alias.__table__  # type: ignore[attr-defined]
# A pair's two people and their aliases with it: one round trip for the batch, not three
# (a message's sender and recipient are its pair's mentor and mentee).
_PEOPLE = (select(Pair, Participant, _ALIAS.c.local_part)
           .join(Participant, or_(col(Participant.id) == col(Pair.mentor_id),
                                  col(Participant.id) == col(Pair.mentee_id)))
           .join(_ALIAS, and_(_ALIAS.c.pair_id == col(Pair.id),
                              _ALIAS.c.participant_id == col(Participant.id)))
           .where(col(Pair.id).in_(bindparam("ids", expanding=True))))
_MAP = MessageIdMap.__table__  # type: ignore[attr-defined]
_ORIGINAL_OF = Raw(sa_select(_MAP.c.original_id).limit(1)
                    .where(_MAP.c.pair_id == bindparam("pair"), _MAP.c.gateway_id == bindparam("ref"),
                           _MAP.c.sender_id == bindparam("sender")))
_GATEWAY_ID_OF = Raw(sa_select(_MAP.c.gateway_id).limit(1)
                      .where(_MAP.c.pair_id == bindparam("pair"),
                             _MAP.c.original_id == bindparam("ref"),
                             _MAP.c.sender_id == bindparam("sender")))


_INSERT_ID_MAP = Raw(insert(_MAP))
_PAIR = Pair.__table__  # type: ignore[attr-defined]
_FORWARDED = (update(_PAIR).where(_PAIR.c.id == bindparam("pair"))
              .values(forwarded_count=_PAIR.c.forwarded_count + 1))


def translate_references(
    session: Session, pair_id: int, sender_id: int, recipient_id: int, refs: list[str]
) -> list[str]:
    """Map ids the sender's client knows to ids the recipient's client knows; drop the rest.

    An id we minted for the sender's copy stands for the recipient's original; the sender's own
    original ids become the ids we minted when forwarding them. Unknown ids are dropped, because
    a client's Message-ID can embed its owner's real address.
    """
    translated: list[str] = []
    if refs:  # a message of the same batch forwarded just before may be the one replied to
        write_deferred(session)
        session.flush()
    for ref in refs:
        mapped = _first(_ORIGINAL_OF.rows(session, {"pair": pair_id, "ref": ref,
                                                     "sender": recipient_id}))
        if mapped is None:
            mapped = _first(_GATEWAY_ID_OF.rows(session, {"pair": pair_id, "ref": ref,
                                                           "sender": sender_id}))
        if mapped is not None and mapped not in translated:
            translated.append(mapped)
    return translated


def _first(rows: list[Any]) -> str | None:
    return rows[0][0] if rows else None


@dataclass(frozen=True)
class PreparedForward:
    """A forward rendered ahead of time, outside the single writer (the rewrite is the costly
    part: ~1.5 s of CPU for a 20 MiB message), for the thread ids known when it was rendered."""

    data: bytes
    gateway_id: str
    thread: tuple[tuple[str, ...], tuple[str, ...]]  # (in_reply_to, references)
    withheld: tuple[str, ...] = ()  # parts the recipient gets as one 'withheld' line
    source: bytes | None = None  # what was rendered, when not the stored message (redacted)


# The ids a message refers to, as its headers give them: (In-Reply-To then References, each
# once; In-Reply-To alone).
Refs = tuple[tuple[str, ...], tuple[str, ...]]


def thread_refs(parsed: EmailMessage) -> Refs:
    return (tuple(reference_ids(parsed)),
            tuple(header_message_ids(_safe_header(parsed, "In-Reply-To"))))


def thread_refs_of(raw: bytes) -> Refs:
    """thread_refs of a stored message from its header section alone (the body is not parsed:
    the ids are top-level headers, read the same way as by a full parse). A message whose
    header section names neither header (a new conversation) is not parsed at all."""
    end = raw.find(b"\n\n")
    crlf_end = raw.find(b"\r\n\r\n")
    head = raw[:max(end, crlf_end) if min(end, crlf_end) < 0 else min(end, crlf_end)].lower()
    if b"in-reply-to" not in head and b"references" not in head:
        return (), ()
    return thread_refs(parse_headers(raw))


def thread_ids(session: Session, people: PairPeople,
               refs: Refs) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(in_reply_to, references) as the recipient's client knows them."""
    assert people.pair.id is not None
    translated = translate_references(session, people.pair.id, people.sender.id or 0,
                                      people.recipient.id or 0, list(refs[0]))
    replied_to = translate_references(session, people.pair.id, people.sender.id or 0,
                                      people.recipient.id or 0, list(refs[1]))
    return tuple(replied_to[:1] or translated[-1:]), tuple(translated)


def _render(settings: Settings, message: Message, people: PairPeople, source: bytes,
            gateway_id: str, thread: tuple[tuple[str, ...], tuple[str, ...]],
            auto_reply: bool) -> tuple[bytes, tuple[str, ...]]:
    context = RewriteContext(
        sender=party(settings, people.sender, people.sender_alias),
        recipient=party(settings, people.recipient, people.recipient_alias),
        program_name=settings.gateway.program_name,
        new_message_id=gateway_id,
        in_reply_to=thread[0],
        references=thread[1],
        fallback_date=date_value(as_utc(message.received_at)),
        private_text=(_own_links(settings),), private_text_word=OWN_LINKS_WORD,
        private_domains=tuple(settings.privacy.personal_domains),
    )
    rewritten = anonymize_report(source, context)
    data = mark_auto_reply(rewritten.data) if auto_reply else rewritten.data
    if settings.safety.report_footer and people.recipient.minor:
        report_to = f"{settings.safety.report_local_part}@{settings.gateway.domain}"
        data = append_footer(data, footer_text(report_to), footer_html(report_to))
    return data, rewritten.withheld


_links_of: tuple[Settings, re.Pattern[str]] | None = None


def _own_links(settings: Settings) -> re.Pattern[str]:
    """own_unsubscribe_links(settings), made once for the settings the relay runs with."""
    global _links_of
    last = _links_of
    if last is None or last[0] is not settings:
        last = _links_of = (settings, own_unsubscribe_links(settings))
    return last[1]


def prepare_forward(session: Session, settings: Settings, message: Message, people: PairPeople,
                    parsed: EmailMessage, *, auto_reply: bool) -> PreparedForward:
    """Render the forward in a read transaction (the plan step), for queue_forward to use."""
    thread = thread_ids(session, people, thread_refs(parsed))
    return render_ahead(settings, message, people, thread, auto_reply=auto_reply)


def render_ahead(settings: Settings, message: Message, people: PairPeople,
                 thread: tuple[tuple[str, ...], tuple[str, ...]], *,
                 auto_reply: bool, source: bytes | None = None) -> PreparedForward:
    """The forward for thread ids already translated: no database (a worker process may run it).
    `source`: what to render instead of the stored message (a redacted copy)."""
    gateway_id = new_message_id(settings.gateway.domain)
    data, withheld = _render(settings, message, people,
                             message.raw if source is None else source, gateway_id, thread,
                             auto_reply)
    return PreparedForward(data, gateway_id, thread, withheld, source)


def queue_forward(
    session: Session, settings: Settings, message: Message, people: PairPeople, now: datetime,
    *, raw: bytes | None = None, actor: str = "system", parsed: EmailMessage | None = None,
    audit_later: Later | None = None,
    prepared: PreparedForward | None = None, refs: Refs | None = None,
) -> Outbox | None:
    """Rewrite `raw` (default: the stored message) and queue it for the recipient.

    `parsed` is the stored message already parsed by the caller (saves parsing it twice), or
    `refs` its thread_refs;
    `audit_later` is passed on to enqueue() (a batch flushes once instead of once per message);
    `prepared` is the forward rendered ahead (the plan step, an approval's read), used when it
    was rendered from `raw` and the thread ids are still the same (a message it replies to may have been forwarded in between: then it is rendered again)."""
    source = raw if raw is not None else message.raw
    assert message.id is not None and people.pair.id is not None
    if refs is None or raw is not None:
        refs = thread_refs(parse(source) if parsed is None or raw is not None else parsed)
    thread = thread_ids(session, people, refs)
    if prepared is not None and prepared.source == raw and prepared.thread == thread:
        data, gateway_id, withheld = prepared.data, prepared.gateway_id, prepared.withheld
    else:
        gateway_id = new_message_id(settings.gateway.domain)
        data, withheld = _render(settings, message, people, source, gateway_id, thread,
                                 message.auto_reply)
    if withheld:
        _tell_sender_withheld(session, settings, message, people, withheld, now)
    id_map = {"pair_id": people.pair.id, "sender_id": people.sender.id or 0,
              "original_id": message.original_message_id or gateway_id, "gateway_id": gateway_id}
    if audit_later is None:
        session.add(MessageIdMap(**id_map))  # type: ignore[arg-type]  # the model's columns
        message.gateway_message_id = gateway_id
    else:  # a batch's forward writes its rows with the batch's, without the ORM's unit of
        # work (its flush cost ~1 ms per message): set_state_written stores the message's values
        defer(session, _INSERT_ID_MAP, id_map)
        set_committed_value(message, "gateway_message_id", gateway_id)
    # An atomic increment (instances sharing PostgreSQL may forward in the same pair at once);
    # the loaded row gets the new count without being marked for an UPDATE of its own. In a
    # batch (audit_later), record_queued counts the batch's forwards per pair in one statement.
    if audit_later is None:
        session.connection().execute(_FORWARDED, {"pair": people.pair.id})
    set_committed_value(people.pair, "forwarded_count", people.pair.forwarded_count + 1)
    return enqueue(
        session, kind="forward", envelope_from=bounce_address(settings),
        recipient=people.recipient.email, data=data, now=now, message_id=message.id,
        pair_id=people.pair.id, recipient_participant_id=people.recipient.id, actor=actor,
        audit_later=audit_later,
    )

def _tell_sender_withheld(session: Session, settings: Settings, message: Message,
                          people: PairPeople, withheld: tuple[str, ...], now: datetime) -> None:
    """The sender learns which parts did not travel and why (the recipient sees one line)."""
    sender = people.sender
    queue_program_mail(
        session, settings, kind="notice", to_address=sender.email, to_name=sender.display_name,
        template="part_withheld", lang=sender.lang,
        context={"recipient_name": settings.privacy.shown_name(sender.display_name, sender.role),
                 "partner_name": settings.privacy.shown_name(people.recipient.display_name,
                                                             people.recipient.role),
                 "subject": message.subject or "", "parts": list(withheld)},
        now=now, pair_id=people.pair.id, recipient_participant_id=sender.id,
        auto_submitted="auto-replied",
    )


def _safe_header(msg: object, name: str) -> str | None:
    try:
        value = msg.get(name)  # type: ignore[attr-defined]
        return str(value) if value is not None else None
    except Exception:  # malformed header: as good as absent
        return None
