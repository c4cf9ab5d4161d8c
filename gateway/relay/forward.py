"""Turn one stored message into its anonymized forward: thread ids translated, outbox row queued."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

from sqlmodel import Session, col, select

from gateway.clock import as_utc
from gateway.config import Settings
from gateway.mail.autoreply import mark_auto_reply
from gateway.mail.parse import header_message_ids, parse
from gateway.mail.rewrite import Party, RewriteContext, anonymize
from gateway.mail.threading import new_message_id, reference_ids
from gateway.notices import bounce_address
from gateway.reminders.unsubscribe import own_unsubscribe_links
from gateway.store.lifecycle import enqueue
from gateway.store.models import Alias, Message, MessageIdMap, Outbox, Pair, Participant


@dataclass(frozen=True)
class PairPeople:
    pair: Pair
    sender: Participant
    recipient: Participant
    sender_alias: str
    recipient_alias: str


def load_people(session: Session, settings: Settings, message: Message) -> PairPeople:
    return load_people_many(session, settings, [message])[message.id or 0]


def load_people_many(session: Session, settings: Settings,
                     messages: Sequence[Message]) -> dict[int, PairPeople]:
    """Pairs, participants and aliases of a whole batch in three queries (by message id)."""
    pair_ids = {m.pair_id for m in messages}
    people_ids = {m.sender_id for m in messages} | {m.recipient_id for m in messages}
    pairs = {p.id: p for p in session.exec(select(Pair).where(col(Pair.id).in_(pair_ids))).all()}
    persons = {p.id: p for p in session.exec(
        select(Participant).where(col(Participant.id).in_(people_ids))).all()}
    aliases: dict[tuple[int, int | None], str] = {
        (a.pair_id, a.participant_id): a.local_part
        for a in session.exec(select(Alias).where(col(Alias.pair_id).in_(pair_ids))).all()}
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


def translate_references(
    session: Session, pair_id: int, sender_id: int, recipient_id: int, refs: list[str]
) -> list[str]:
    """Map ids the sender's client knows to ids the recipient's client knows; drop the rest.

    An id we minted for the sender's copy stands for the recipient's original; the sender's own
    original ids become the ids we minted when forwarding them. Unknown ids are dropped, because
    a client's Message-ID can embed its owner's real address.
    """
    translated: list[str] = []
    for ref in refs:
        mapped = session.exec(
            select(MessageIdMap.original_id).where(
                MessageIdMap.pair_id == pair_id, MessageIdMap.gateway_id == ref,
                MessageIdMap.sender_id == recipient_id)
        ).first()
        if mapped is None:
            mapped = session.exec(
                select(MessageIdMap.gateway_id).where(
                    MessageIdMap.pair_id == pair_id, MessageIdMap.original_id == ref,
                    MessageIdMap.sender_id == sender_id)
            ).first()
        if mapped is not None and mapped not in translated:
            translated.append(mapped)
    return translated


@dataclass(frozen=True)
class PreparedForward:
    """A forward rendered ahead of time, outside the single writer (the rewrite is the costly
    part: ~1.5 s of CPU for a 20 MiB message), for the thread ids known when it was rendered."""

    data: bytes
    gateway_id: str
    thread: tuple[tuple[str, ...], tuple[str, ...]]  # (in_reply_to, references)


def _thread_ids(session: Session, people: PairPeople,
                parsed: EmailMessage) -> tuple[tuple[str, ...], tuple[str, ...]]:
    assert people.pair.id is not None
    translated = translate_references(session, people.pair.id, people.sender.id or 0,
                                      people.recipient.id or 0, reference_ids(parsed))
    replied_to = translate_references(
        session, people.pair.id, people.sender.id or 0, people.recipient.id or 0,
        header_message_ids(_safe_header(parsed, "In-Reply-To")),
    )
    return tuple(replied_to[:1] or translated[-1:]), tuple(translated)


def _render(settings: Settings, message: Message, people: PairPeople, source: bytes,
            gateway_id: str, thread: tuple[tuple[str, ...], tuple[str, ...]],
            auto_reply: bool) -> bytes:
    context = RewriteContext(
        sender=Party(people.sender.email, people.sender.display_name, people.sender_alias),
        recipient=Party(people.recipient.email, people.recipient.display_name, people.recipient_alias),
        program_name=settings.gateway.program_name,
        new_message_id=gateway_id,
        in_reply_to=thread[0],
        references=thread[1],
        fallback_date=format_datetime(as_utc(message.received_at)),
        private_text=(own_unsubscribe_links(settings),),
    )
    data = anonymize(source, context)
    return mark_auto_reply(data) if auto_reply else data


def prepare_forward(session: Session, settings: Settings, message: Message, people: PairPeople,
                    parsed: EmailMessage, *, auto_reply: bool) -> PreparedForward:
    """Render the forward in a read transaction (the plan step), for queue_forward to use."""
    thread = _thread_ids(session, people, parsed)
    gateway_id = new_message_id(settings.gateway.domain)
    return PreparedForward(_render(settings, message, people, message.raw, gateway_id, thread,
                                   auto_reply), gateway_id, thread)


def queue_forward(
    session: Session, settings: Settings, message: Message, people: PairPeople, now: datetime,
    *, raw: bytes | None = None, actor: str = "system", parsed: EmailMessage | None = None,
    audit_later: list[tuple[Outbox, str]] | None = None,
    prepared: PreparedForward | None = None,
) -> Outbox:
    """Rewrite `raw` (default: the stored message) and queue it for the recipient.

    `parsed` is the stored message already parsed by the caller (saves parsing it twice);
    `audit_later` is passed on to enqueue() (a batch flushes once instead of once per message);
    `prepared` is the forward rendered by the plan step, used when the thread ids are still the
    same (a message it replies to may have been forwarded in between: then it is rendered again)."""
    source = raw if raw is not None else message.raw
    assert message.id is not None and people.pair.id is not None
    if parsed is None or raw is not None:
        parsed = parse(source)
    thread = _thread_ids(session, people, parsed)
    if prepared is not None and raw is None and prepared.thread == thread:
        data, gateway_id = prepared.data, prepared.gateway_id
    else:
        gateway_id = new_message_id(settings.gateway.domain)
        data = _render(settings, message, people, source, gateway_id, thread, message.auto_reply)
    session.add(MessageIdMap(pair_id=people.pair.id, sender_id=people.sender.id or 0,
                             original_id=message.original_message_id or gateway_id,
                             gateway_id=gateway_id))
    message.gateway_message_id = gateway_id
    people.pair.forwarded_count += 1
    session.add(people.pair)
    return enqueue(
        session, kind="forward", envelope_from=bounce_address(settings),
        recipient=people.recipient.email, data=data, now=now, message_id=message.id,
        pair_id=people.pair.id, recipient_participant_id=people.recipient.id, actor=actor,
        audit_later=audit_later,
    )


def _safe_header(msg: object, name: str) -> str | None:
    try:
        value = msg.get(name)  # type: ignore[attr-defined]
        return str(value) if value is not None else None
    except Exception:  # malformed header: as good as absent
        return None
