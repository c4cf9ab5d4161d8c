"""The relay's plan/apply step on a real database: forward clean mail, hold and refuse by rule, hold paused pairs."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from gateway.config import Settings
from gateway.moderation.chain import Decision
from gateway.moderation.rules import load_rules
from gateway.relay.decide import make_moderator
from gateway.relay.forward import PairPeople
from gateway.relay.processor import Moderate, OnHeld, apply_plans, plan_batch
from gateway.store.models import AuditEvent, Message, Outbox, Pair, Participant
from tests.unit.conftest import NOW, Program, letter

MENTOR = "mentor@example.org"


def store_from_mentor(program: Program, body: str, *, headers: str = "") -> int:
    """A RECEIVED message from the mentor; `headers` are put before the letter's own."""
    alias_local = program.pair.mentee_alias.split("@")[0]
    raw = headers.encode() + letter(f"Marie Mentor <{MENTOR}>", program.pair.mentee_alias, body)
    return _store_raw(program, raw, None, dedup_key=f"{alias_local}:{len(raw)}:{body[:30]}")


def relay(program: Program, moderate: Moderate | None = None, on_held: OnHeld | None = None) -> int:
    settings: Settings = program.settings
    moderate = moderate or make_moderator(load_rules(Path(settings.gateway.rules_dir)))
    plans = program.db.transaction(lambda s: plan_batch(s, moderate, settings), read_only=True)
    return program.db.transaction(lambda s: apply_plans(
        s, settings, plans, NOW, postgres=not program.db.is_sqlite, on_held=on_held))


def outbox(program: Program, kind: str) -> list[Outbox]:
    return program.db.transaction(lambda s: list(s.exec(
        select(Outbox).where(col(Outbox.kind) == kind)).all()))


def message(program: Program, message_id: int) -> Message:
    found = program.db.transaction(lambda s: s.get(Message, message_id))
    assert found is not None
    return found


def test_a_clean_message_is_queued_anonymized_for_the_partner(program: Program) -> None:
    mid = store_from_mentor(program, "Salut Léa, comment vas-tu ?")
    assert relay(program) == 1
    assert message(program, mid).state == "queued"
    [forward] = outbox(program, "forward")
    assert forward.recipient == "lea@example.net" and forward.message_id == mid
    assert MENTOR.encode() not in forward.data.lower()
    assert program.pair.mentor_alias.encode() in forward.data
    events = program.db.transaction(lambda s: [e.to_state for e in s.exec(
        select(AuditEvent).where(AuditEvent.subject_type == "message", AuditEvent.subject_id == mid))])
    assert events == ["queued"]
    assert relay(program) == 0  # nothing RECEIVED is left


def test_a_rule_hit_holds_it_tells_the_sender_and_calls_on_held(program: Program) -> None:
    mid = store_from_mentor(program, "Appelle-moi au 514-555-1234")
    seen: list[tuple[int | None, str]] = []

    def on_held(session: Session, held: Message, people: PairPeople, now: object) -> None:
        seen.append((held.id, people.recipient.email))

    relay(program, on_held=on_held)
    held = message(program, mid)
    assert held.state == "held" and held.verdict == "hold"
    assert "514-555-1234" in (held.hits_json or "")
    assert seen == [(mid, "lea@example.net")]
    assert outbox(program, "forward") == []
    assert [n.recipient for n in outbox(program, "notice")] == [MENTOR]


def test_a_paused_pair_holds_even_clean_mail(program: Program) -> None:
    def pause(session: Session) -> None:
        pair = session.get(Pair, program.pair.id)
        assert pair is not None
        pair.state = "paused"
        session.add(pair)

    program.db.transaction(pause)
    mid = store_from_mentor(program, "Bonne semaine !")
    relay(program)
    assert message(program, mid).state == "held"
    assert "pair_paused" in (message(program, mid).hits_json or "")


@pytest.mark.parametrize("verdict", ["reject", "crash"])
def test_a_refusal_or_a_failing_check_never_forwards(program: Program, verdict: str) -> None:
    def moderate(_message: Message, _people: PairPeople, _first: bool, _parsed: EmailMessage) -> Decision:
        if verdict == "crash":
            raise RuntimeError("rule engine broke")
        return Decision(verdict="reject", hits=())

    mid = store_from_mentor(program, "Bonjour")
    relay(program, moderate)
    expected = "rejected" if verdict == "reject" else "held"
    assert message(program, mid).state == expected
    assert outbox(program, "forward") == []
    if verdict == "crash":  # a moderator looks at what could not be checked
        assert "internal_error" in (message(program, mid).hits_json or "")


def test_the_forward_is_rendered_in_the_plan_step_not_in_the_writer(program: Program,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The rewrite (seconds of CPU for a large message) runs in the read transaction; the single
    writer only stores what the plan rendered."""
    import gateway.relay.forward as forward

    store_from_mentor(program, "Bonjour, voici le plan de la semaine.")
    settings: Settings = program.settings
    moderate = make_moderator(load_rules(Path(settings.gateway.rules_dir)))
    plans = program.db.transaction(lambda s: plan_batch(s, moderate, settings), read_only=True)
    [plan] = plans
    assert plan.prepared is not None

    def no_rewrite_here(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("the writer must not rewrite a message the plan rendered")

    monkeypatch.setattr(forward, "anonymize_report", no_rewrite_here)
    program.db.transaction(lambda s: apply_plans(s, settings, plans, NOW,
                                                 postgres=not program.db.is_sqlite))
    [row] = outbox(program, "forward")
    assert row.data == plan.prepared.data


def test_a_message_the_rewrite_gives_up_on_is_held_not_replaced(program: Program,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The rewrite's placeholder is a last resort: the message waits for a moderator and its
    sender hears that it is being reviewed; nothing goes out in its place."""
    import gateway.mail.rewrite as rewrite
    import gateway.relay.forward as forward

    message_id = store_from_mentor(program, "Bonjour, un message ordinaire.")

    def gives_up(raw: bytes, ctx: rewrite.RewriteContext) -> rewrite.Rewritten:
        return rewrite.Rewritten(rewrite._placeholder(ctx), ("message",))

    monkeypatch.setattr(forward, "anonymize_report", gives_up)
    relay(program)
    held = message(program, message_id)
    assert held.state == "held" and '"unrenderable"' in (held.hits_json or "")
    assert outbox(program, "forward") == []
    assert [row.recipient for row in outbox(program, "notice")] == [MENTOR]


def _forwarded(program: Program) -> int:
    def read(session: Session) -> int:
        pair = session.get(Pair, program.pair.id)
        assert pair is not None
        return pair.forwarded_count

    return program.db.transaction(read)


def test_a_batch_counts_each_forward_of_its_pair_once(program: Program) -> None:
    """forwarded_count (the first-message hold reads it) grows by the batch's forwards."""
    before = _forwarded(program)
    for body in ("Bonjour Léa, voici le plan.", "Et la suite du plan.", "Et la fin du plan."):
        store_from_mentor(program, body)
    relay(program)
    after = _forwarded(program)
    queued = program.db.transaction(lambda s: len(s.exec(
        select(Outbox).where(Outbox.kind == "forward")).all()))
    assert queued == 3
    assert after == before + 3


def _store_raw(program: Program, raw: bytes, original_id: str | None, *,
               dedup_key: str | None = None) -> int:
    def insert(session: Session) -> int:
        pair = session.get(Pair, program.pair.id)
        mentor = session.exec(select(Participant).where(Participant.email == MENTOR)).one()
        assert pair is not None and mentor.id is not None
        message = Message(pair_id=pair.id or 0, sender_id=mentor.id, recipient_id=pair.mentee_id,
                          direction="mentor_to_mentee", envelope_from=MENTOR,
                          original_message_id=original_id, dedup_key=dedup_key or str(original_id),
                          raw=raw,
                          size=len(raw), received_at=NOW, updated_at=NOW, subject="Bonjour")
        session.add(message)
        session.flush()
        return message.id or 0

    return program.db.transaction(insert)


def test_a_batch_stores_each_forward_and_threads_replies_within_it(program: Program) -> None:
    """The batch's forwards are written without the ORM's flush: each row still ends QUEUED
    with its verdict, its automatic-reply mark and the Message-ID its forward carries, and a
    reply to a message of the same batch is threaded to that message's forward."""
    sender = f"Marie Mentor <{MENTOR}>"
    to = program.pair.mentee_alias
    first = _store_raw(program, letter(sender, to, "Voici le plan pour jeudi."),
                       "<a1@client.example.org>")
    auto = _store_raw(program, b"Auto-Submitted: auto-replied\r\n"
                      + letter(sender, to, "Je suis absente cette semaine."),
                      "<a2@client.example.org>")
    reply = _store_raw(program, b"In-Reply-To: <a1@client.example.org>\r\n"
                       + letter(sender, to, "Et voici la suite du plan."),
                       "<a3@client.example.org>")
    assert relay(program) == 3
    rows = {mid: message(program, mid) for mid in (first, auto, reply)}
    assert {row.state for row in rows.values()} == {"queued"}
    assert all(row.verdict in ("pass", "flag") and row.hits_json is not None
               for row in rows.values())
    assert [rows[mid].auto_reply for mid in (first, auto, reply)] == [False, True, False]
    forwards = {f.message_id: f.data.decode() for f in outbox(program, "forward")}
    for mid, row in rows.items():
        assert row.gateway_message_id and f"Message-ID: {row.gateway_message_id}" in forwards[mid]
    assert f"In-Reply-To: {rows[first].gateway_message_id}" in forwards[reply]


def test_of_two_automatic_replies_in_one_batch_only_the_first_is_forwarded(
        program: Program) -> None:
    """The first one's forward is held back to be written with its batch's: the second still
    finds it and is set aside (one automatic reply a day per sender and pair)."""
    sender = f"Marie Mentor <{MENTOR}>"
    to = program.pair.mentee_alias
    first, second = (_store_raw(program, b"Auto-Submitted: auto-replied\r\n"
                                + letter(sender, to, f"Je suis absente ({n})."),
                                f"<away{n}@client.example.org>") for n in (1, 2))
    assert relay(program) == 2
    assert message(program, first).state == "queued"
    assert (message(program, second).state, message(program, second).verdict) == \
        ("rejected", "reject")
    assert "auto_reply_repeat" in (message(program, second).hits_json or "")
    assert [f.message_id for f in outbox(program, "forward")] == [first]


def test_a_reply_to_the_message_just_before_it_in_its_batch_is_threaded(program: Program) -> None:
    """Nothing else in the batch reads the store in between: the thread look-up itself writes
    the first forward's held-back rows before it reads."""
    sender = f"Marie Mentor <{MENTOR}>"
    to = program.pair.mentee_alias
    first = _store_raw(program, letter(sender, to, "Le plan pour jeudi."), "<t1@client.example.org>")
    reply = _store_raw(program, b"References: <t1@client.example.org>\r\n"
                       + letter(sender, to, "La suite du plan."), "<t2@client.example.org>")
    assert relay(program) == 2
    forwards = {f.message_id: f.data.decode() for f in outbox(program, "forward")}
    gateway_id = message(program, first).gateway_message_id
    assert gateway_id and f"References: {gateway_id}" in forwards[reply]
