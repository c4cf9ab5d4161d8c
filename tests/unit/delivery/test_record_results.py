"""Recording delivered forwards: the messages become DELIVERED and count as their pair's turns
(automatic replies never do), whatever else the group holds."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, col, select

from gateway.delivery.results import record_results
from gateway.delivery.retry import RetryPolicy
from gateway.delivery.transports import SendResult
from gateway.store.lifecycle import claim_due, enqueue
from gateway.store.models import Message, Outbox, Pair, Participant
from tests.unit.conftest import NOW, Program

POLICY = RetryPolicy.from_config(["1m"], "1d")
SENT, LATER = SendResult("sent", "250 ok"), SendResult("temporary", "451 later")


def _message(session: Session, pair: Pair, sender: Participant, recipient: Participant,
             n: int, *, auto_reply: bool = False) -> int:
    message = Message(pair_id=pair.id, sender_id=sender.id, recipient_id=recipient.id,
                      direction=f"{sender.role}_to_{recipient.role}", state="queued",
                      envelope_from=sender.email, dedup_key=f"k{n}", raw=b"x",
                      received_at=NOW, updated_at=NOW, auto_reply=auto_reply)
    session.add(message)
    session.flush()
    assert message.id is not None
    return message.id


def test_delivered_forwards_are_turns_of_their_pair(program: Program) -> None:
    def setup(session: Session) -> list[int]:
        pair = session.exec(select(Pair)).one()
        mentor = session.exec(select(Participant).where(col(Participant.role) == "mentor")).one()
        mentee = session.exec(select(Participant).where(col(Participant.role) == "mentee")).one()
        ids = [_message(session, pair, mentor, mentee, 1),
               _message(session, pair, mentee, mentor, 2, auto_reply=True),
               _message(session, pair, mentee, mentor, 3),
               _message(session, pair, mentor, mentee, 4)]
        for message_id in ids:
            enqueue(session, kind="forward", envelope_from="b@gw.example", recipient="r@x.example",
                    data=b"x", now=NOW, message_id=message_id, pair_id=pair.id)
        enqueue(session, kind="notice", envelope_from="", recipient="n@x.example", data=b"x",
                now=NOW)
        return ids

    ids = program.db.transaction(setup)
    at = NOW + timedelta(minutes=5)

    def deliver(session: Session) -> None:
        claimed = claim_due(session, NOW, "me", postgres=False)
        assert len(claimed) >= 5  # the forwards, the notice, the pair's introductions

        def answer(outbox_id: int) -> SendResult:  # the 4th forward is deferred
            row = session.get(Outbox, outbox_id)
            return LATER if row is not None and row.message_id == ids[3] else SENT

        record_results(session, POLICY, at, [(c.id, answer(c.id)) for c in claimed], "me")

    program.db.transaction(deliver)

    def read(session: Session) -> tuple[list[str], Pair]:
        states = [session.get(Message, i).state for i in ids]  # type: ignore[union-attr]
        return states, session.exec(select(Pair)).one()

    states, pair = program.db.transaction(read)
    assert states == ["delivered", "delivered", "delivered", "queued"]
    assert pair.delivered_count == 2  # the automatic reply is relayed, never counted
    assert pair.last_delivered_from == "mentee"
    assert pair.last_delivered_message_id == ids[2]
    assert pair.last_delivered_at is not None
    assert pair.last_delivered_at.replace(tzinfo=None) == at.replace(tzinfo=None)
