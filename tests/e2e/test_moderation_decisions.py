"""Moderators' decisions on held mail through the real gateway: approve, redact, reject, once only."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from gateway.clock import MovableClock
from gateway.review import held
from gateway.review.held import QueueError
from gateway.store.db import Database
from gateway.store.models import Outbox
from tests.e2e.moderation_helpers import (
    MOD_EN,
    MOD_FR,
    PHONE,
    REMOVED,
    MakeGateway,
    approve,
    assert_participant_notice,
    decisions,
    held_and_rendered,
    mail,
    make_gateway_fixture,  # noqa: F401  (fixture make_gateway)
    messages,
    ready_pair,
    received_by,
    reject,
    send,
    text_body,
)


async def test_approve_delivers_once_anonymized_without_running_the_rules_again(
        make_gateway: MakeGateway, smarthost: Any, clock: MovableClock) -> None:
    h = await make_gateway(first_message=False)
    pair = await ready_pair(h, smarthost)
    await send(h, pair, f"Mon numéro est {PHONE}, de la part de {pair.mentee_email}\n")
    [stored] = await messages(h)
    smarthost.clear()

    clock.advance(timedelta(minutes=30))
    await approve(h, stored.id, actor=MOD_FR, note="numéro du bureau de l'école")
    await h.pump()
    await h.pump()

    [delivered] = received_by(smarthost, pair.mentor_email)
    assert len(smarthost.messages) == 1  # no second copy, no notice to anyone
    raw = smarthost.messages[0].data.decode(errors="replace").lower()
    assert "eleves.example.net" not in raw  # the mentee's real address appears nowhere
    assert pair.mentee_alias in str(delivered["Reply-To"])  # the mentor answers the alias
    assert PHONE in text_body(delivered.as_bytes())  # delivered as it is: the hold is not redone
    [after] = await messages(h)
    assert after.state == "delivered" and after.decided_by == MOD_FR
    [(actor, to_state, at, detail)] = await decisions(h, stored.id)
    assert (actor, to_state) == (MOD_FR, "queued")
    assert at.replace(tzinfo=None) == clock.now().replace(tzinfo=None)
    assert detail is not None and "numéro du bureau de l'école" in detail


@pytest.mark.parametrize("secret", [PHONE, "5 1 4\n5 5 5 1 2 3 4"], ids=["plain", "split-lines"])
async def test_approve_with_redaction_replaces_the_evidence(make_gateway: MakeGateway,
                                                            smarthost: Any, secret: str) -> None:
    h = await make_gateway(first_message=False)
    pair = await ready_pair(h, smarthost)
    await send(h, pair, f"Bonjour Léa,\nappelle-moi au {secret} demain.\nMarie\n",
               subject=f"Mon numéro : {PHONE}", from_mentee=False)
    [stored] = await messages(h)
    smarthost.clear()

    await approve(h, stored.id, actor=MOD_FR, redacted=True)
    await h.pump()

    [delivered] = received_by(smarthost, pair.mentee_email)
    assert str(delivered["Subject"]) == f"Mon numéro : {REMOVED}"
    text = text_body(delivered.as_bytes())
    assert REMOVED in text and "appelle-moi au" in text and "demain" in text
    assert "555" not in text and "1234" not in text
    [(actor, _, _, detail)] = await decisions(h, stored.id)
    assert actor == MOD_FR and detail is not None and "redact" in detail


@pytest.mark.parametrize("html", ["<p>Appelle-moi au <b>514</b> 555-1234 demain.</p>",
                                  "<p>Appelle-moi au 514&nbsp;555&#8209;1234 demain.</p>",
                                  "<p>Appelle-moi au<br>514<br>555-1234 demain.</p>"],
                         ids=["bold", "entities", "line-breaks"])
async def test_redaction_also_covers_the_html_part(make_gateway: MakeGateway, smarthost: Any,
                                                  html: str) -> None:
    """Mail clients send an HTML copy; markup inside the number must not let it through."""
    h = await make_gateway(first_message=False)
    pair = await ready_pair(h, smarthost)
    sender, alias = pair.mentor_email, pair.mentee_alias
    data = mail(sender, alias, "Appelle-moi au 514 555-1234 demain.\n", html=html)
    assert (await h.send(sender, [alias], data)).code == 250
    await h.pump()
    [stored] = await messages(h)
    await approve(h, stored.id, redacted=True)
    await h.pump()

    [delivered] = received_by(smarthost, pair.mentee_email)
    for subtype in ("plain", "html"):
        shown = text_body(delivered.as_bytes(), subtype)
        assert REMOVED in shown and "demain" in shown, subtype
        digits = "".join(c for c in shown if c.isdigit())
        assert "5551234" not in digits and "1234" not in digits, (subtype, shown)


@pytest.mark.parametrize(("lang", "subject_words"), [("fr", "n'a pas été transmis"),
                                                     ("en", "was not delivered")])
async def test_reject_tells_the_sender_the_reason_in_their_language(
        make_gateway: MakeGateway, smarthost: Any, lang: str, subject_words: str) -> None:
    h = await make_gateway(first_message=False)
    pair = await ready_pair(h, smarthost, mentee_lang=lang, mentor_lang="fr")
    await send(h, pair, f"Mon numéro : {PHONE}\n")
    [stored] = await messages(h)
    smarthost.clear()

    reason = "Pas de numéro de téléphone, s.v.p." if lang == "fr" else "No phone numbers, please."
    await reject(h, stored.id, reason, actor=MOD_EN)
    await h.pump()

    assert received_by(smarthost, pair.mentor_email) == []
    [notice] = received_by(smarthost, pair.mentee_email)
    assert subject_words in str(notice["Subject"])
    body = assert_participant_notice(notice, forbidden=(PHONE,))
    assert reason in body
    [after] = await messages(h)
    assert after.state == "rejected"
    [(actor, to_state, _, detail)] = await decisions(h, stored.id)
    assert (actor, to_state) == (MOD_EN, "rejected") and detail is not None and reason in detail


async def test_acting_twice_on_a_message_is_refused(make_gateway: MakeGateway, smarthost: Any) -> None:
    h = await make_gateway(first_message=False)
    pair = await ready_pair(h, smarthost)
    await send(h, pair, f"Mon numéro : {PHONE}\n")
    [stored] = await messages(h)
    await approve(h, stored.id, actor=MOD_FR)
    await h.pump()

    with pytest.raises(QueueError, match="not held"):
        await approve(h, stored.id, actor=MOD_EN)
    with pytest.raises(QueueError, match="not held"):
        await reject(h, stored.id, "trop tard", actor=MOD_EN)
    await h.pump()
    assert len(received_by(smarthost, pair.mentor_email)) == 1
    assert [a for a, *_ in await decisions(h, stored.id)] == [MOD_FR]



async def test_moderators_deciding_at_the_same_moment_deliver_once(make_gateway: MakeGateway,
                                                                    smarthost: Any) -> None:
    """Two moderators (web page, CLI, e-mail) click at once: one decision wins, one delivery."""
    h = await make_gateway(first_message=False)
    pair = await ready_pair(h, smarthost)
    await send(h, pair, f"Mon numéro : {PHONE}\n")
    [stored] = await messages(h)
    smarthost.clear()

    async def attempt(actor: str) -> str:
        try:
            await approve(h, stored.id, actor=actor)
        except QueueError:
            return "refused"
        return "approved"

    outcomes = await asyncio.gather(*(attempt(f"mod{i}@program.example.org") for i in range(4)))
    assert sorted(outcomes) == ["approved", "refused", "refused", "refused"]
    forwards = await h.db.read(lambda s: s.exec(select(Outbox.id).where(Outbox.kind == "forward",
                                                                        Outbox.message_id == stored.id)).all())
    assert len(forwards) == 1
    await h.pump()
    assert len(received_by(smarthost, pair.mentor_email)) == 1
    assert len(await decisions(h, stored.id)) == 1


async def test_a_cli_decision_racing_the_running_gateway_delivers_once(
        make_gateway: MakeGateway, smarthost: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI (its own process, its own connection) and the web page approve the same message.

    The CLI has read "held" and is about to write when the web page decides: the web page must
    wait for the CLI's decision and then refuse, not deliver a second copy."""
    h = await make_gateway(first_message=False)
    pair = await ready_pair(h, smarthost)
    await send(h, pair, f"Mon numéro : {PHONE}\n")
    [stored] = await messages(h)
    smarthost.clear()
    cli_db, cli_thread = Database(h.settings.database.url), threading.get_ident()
    cli_has_read, web_decided = threading.Event(), threading.Event()
    load_people = held.load_people

    def load_people_then_let_the_web_page_try(session: Session, settings: Any, message: Any) -> Any:
        people = load_people(session, settings, message)
        if threading.get_ident() == cli_thread:
            cli_has_read.set()
            web_decided.wait(0.5)  # the web page runs now, unless it must wait for us
        return people

    monkeypatch.setattr(held, "load_people", load_people_then_let_the_web_page_try)

    async def web_page() -> str:
        await asyncio.to_thread(cli_has_read.wait, 10)
        try:
            await approve(h, stored.id, actor="web@program.example.org")
            return "approved"
        except QueueError:
            return "refused"
        finally:
            web_decided.set()

    def cli() -> None:
        nonlocal cli_thread
        cli_thread = threading.get_ident()
        cli_db.transaction(lambda s: held.approve(s, h.settings, stored.id, actor="cli",
                                                  now=h.clock.now()) and None)

    web = asyncio.ensure_future(web_page())
    try:
        await asyncio.to_thread(cli)
    finally:
        web_outcome = await web
        cli_db.engine.dispose()
    assert web_outcome == "refused"
    forwards = await h.db.read(lambda s: s.exec(select(Outbox.id).where(Outbox.kind == "forward",
                                                                        Outbox.message_id == stored.id)).all())
    assert len(forwards) == 1
    await h.pump()
    assert len(received_by(smarthost, pair.mentor_email)) == 1
    [(actor, _, _, _)] = await decisions(h, stored.id)
    assert actor == "cli"


@pytest.mark.parametrize("invitation", ["Ajoute-moi sur snap : lea_2009", "add me on discord: lea_2009",
                                        "écris-moi sur insta lea_2009 ce soir"])
async def test_redaction_removes_the_handle_after_an_add_me_phrase(make_gateway: MakeGateway,
                                                                    smarthost: Any, invitation: str) -> None:
    h = await make_gateway(first_message=False)
    pair = await ready_pair(h, smarthost)
    await send(h, pair, f"{invitation}\n")
    [stored] = await messages(h)
    await approve(h, stored.id, redacted=True)
    await h.pump()
    [delivered] = received_by(smarthost, pair.mentor_email)
    assert "lea_2009" not in text_body(delivered.as_bytes())


async def test_a_closed_pairs_held_message_cannot_be_approved_only_rejected(
        make_gateway: MakeGateway, smarthost: Any, clock: MovableClock) -> None:
    from gateway.program.service import change_pair_state

    h = await make_gateway(first_message=False)
    pair = await ready_pair(h, smarthost)
    await send(h, pair, f"Mon numéro est {PHONE}\n")
    [stored] = await messages(h)
    await h.db.write(lambda s: change_pair_state(s, pair.id, "close", now=clock.now()))
    smarthost.clear()

    with pytest.raises(QueueError, match="closed"):
        await approve(h, stored.id, actor=MOD_FR)
    await h.pump()
    assert received_by(smarthost, pair.mentor_email) == []
    [still] = await messages(h)
    assert still.state == "held"
    await reject(h, stored.id, "La relation de mentorat est terminée.", actor=MOD_FR)
    [after] = await messages(h)
    assert after.state == "rejected"


async def test_an_approval_rendered_before_the_write_is_sent_as_rendered(
        make_gateway: MakeGateway, smarthost: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The web page, the CLI and e-mail replies render the forward in a read transaction first:
    rendering a large message took seconds, during which SQLite's writer held all incoming mail."""
    from gateway.relay import forward

    h = await make_gateway(first_message=False)
    pair, message_id, prepared = await held_and_rendered(h, smarthost)

    def no_render(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("rendered again inside the write")

    with monkeypatch.context() as patched:
        patched.setattr(forward, "_render", no_render)
        await approve(h, message_id, prepared=prepared)
    await h.pump()
    [delivered] = received_by(smarthost, pair.mentor_email)
    assert delivered["Message-ID"] == prepared.gateway_id
    assert PHONE in text_body(delivered.as_bytes())
    assert "eleves.example.net" not in smarthost.messages[0].data.decode(errors="replace").lower()


async def test_an_approval_rendered_for_another_thread_is_rendered_again(
        make_gateway: MakeGateway, smarthost: Any) -> None:
    # A message it replies to may be forwarded between the render and the write: the
    # recipient's client would then thread it wrongly, so the write renders it afresh.
    import dataclasses

    h = await make_gateway(first_message=False)
    pair, message_id, prepared = await held_and_rendered(h, smarthost)
    stale = dataclasses.replace(prepared, thread=(("<gone@mentor.test>",), ()))
    await approve(h, message_id, prepared=stale)
    await h.pump()
    [delivered] = received_by(smarthost, pair.mentor_email)
    assert delivered["Message-ID"] != prepared.gateway_id
    assert "gone@mentor.test" not in str(delivered.get("In-Reply-To", ""))
