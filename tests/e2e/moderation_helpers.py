"""Helpers for the moderation end-to-end tests: rule folders, moderators, reading what arrived."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from gateway.clock import MovableClock
from gateway.program.service import add_organization
from gateway.program.staff import add_staff
from gateway.relay.forward import PreparedForward
from gateway.review import held
from gateway.store.models import AuditEvent, Message
from tests.conftest import ROOT, make_settings
from tests.e2e.harness import Harness, PairInfo

SHIPPED = ROOT / "relay_rules"
PHONE = "514 555-1234"
OBFUSCATED_PHONE = "cinq un quatre, cinq cinq cinq, un deux trois quatre"
REMOVED = "[retiré / removed]"
# What a participant must never see in a notice: rule names and moderator-facing wording.
INTERNAL_WORDS = ("contact_details", "first_message", "executables", "evidence", "hold)",
                  "queue show", "Message #")
MakeGateway = Callable[..., Awaitable[Harness]]


def rules_copy(folder: Path, *, first_message: bool = True, extra: dict[str, str] | None = None) -> Path:
    """The shipped rules, optionally without the first-message hold and with extra rule files."""
    shutil.copytree(SHIPPED, folder)
    if not first_message:
        path = folder / "first_message.toml"
        text = path.read_text(encoding="utf-8")
        assert "enabled = true" in text
        path.write_text(text.replace("enabled = true", "enabled = false"), encoding="utf-8")
    for name, text in (extra or {}).items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def parse(data: bytes) -> EmailMessage:
    return message_from_bytes(data, policy=policy.default)  # type: ignore[return-value]


def text_body(data: bytes, subtype: str = "plain") -> str:
    part = parse(data).get_body((subtype,))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def received_by(smarthost: Any, address: str) -> list[EmailMessage]:
    """The messages the smarthost accepted for one recipient address."""
    wanted = address.lower()
    return [parse(m.data) for m in smarthost.messages if wanted in (r.lower() for r in m.rcpt_tos)]


def mail(sender: str, to: str, body: str, *, subject: str = "Bonjour",
         attachment: tuple[str, str, bytes] | None = None, html: str | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain="client.example.com")
    msg.set_content(body)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    if attachment:
        name, ctype, payload = attachment
        maintype, subtype = ctype.split("/")
        msg.add_attachment(payload, maintype=maintype, subtype=subtype, filename=name)
    return msg.as_bytes(policy=SMTP_POLICY)


async def add_moderator(h: Harness, email: str, name: str, *, lang: str = "fr",
                        org: str | None = None) -> None:
    now = h.clock.now()
    await h.db.write(lambda s: add_staff(s, email=email, name=name, role="moderator", org=org,
                                         lang=lang, now=now) and None)


async def add_org(h: Harness, name: str) -> None:
    now = h.clock.now()
    await h.db.write(lambda s: add_organization(s, name, now=now) and None)


@dataclass(frozen=True)
class Stored:
    id: int
    state: str
    verdict: str | None
    rules: list[str]
    evidence: list[str]
    decided_by: str | None


async def messages(h: Harness) -> list[Stored]:
    """Every stored participant message, oldest first, with its state and rule hits."""
    import json

    def read(s: Any) -> list[Stored]:
        rows = s.exec(select(Message).order_by(col(Message.id))).all()
        out = []
        for m in rows:
            hits = json.loads(m.hits_json or "[]")
            out.append(Stored(m.id, m.state, m.verdict, [x["rule"] for x in hits],
                              [x["evidence"] for x in hits], m.decided_by))
        return out

    return await h.db.read(read)


async def approve(h: Harness, message_id: int, *, actor: str = "mod@program.example.org",
                  note: str | None = None, redacted: bool = False,
                  prepared: PreparedForward | None = None) -> None:
    now = h.clock.now()
    await h.db.write(lambda s: held.approve(s, h.settings, message_id, actor=actor, now=now,
                                            note=note, redacted=redacted,
                                            prepared=prepared) and None)


async def reject(h: Harness, message_id: int, reason: str, *,
                 actor: str = "mod@program.example.org") -> None:
    now = h.clock.now()
    await h.db.write(lambda s: held.reject(s, h.settings, message_id, actor=actor, now=now,
                                           reason=reason) and None)


async def decisions(h: Harness, message_id: int) -> list[tuple[str, str, Any, str | None]]:
    """The audit trail of one message's human decisions: (actor, to_state, at, detail)."""
    def read(s: Any) -> list[tuple[str, str, Any, str | None]]:
        rows = s.exec(select(AuditEvent).where(AuditEvent.subject_type == "message",
                                               AuditEvent.subject_id == message_id,
                                               AuditEvent.from_state == "held")
                      .order_by(col(AuditEvent.id))).all()
        return [(e.actor, e.to_state, e.at, e.detail) for e in rows]

    return await h.db.read(read)


MOD_FR = "mod@program.example.org"
MOD_EN = "moderator@program.example.org"


@pytest.fixture(name="make_gateway")
async def make_gateway_fixture(db_url: str, tmp_path: Path, clock: MovableClock,
                       smarthost: Any) -> AsyncIterator[MakeGateway]:
    """A gateway on a copy of the shipped rules (first-message hold switchable, extra rules)."""
    started: list[Harness] = []

    async def make(*, first_message: bool = True, extra: dict[str, str] | None = None,
                   **sections: dict[str, Any]) -> Harness:
        rules = rules_copy(tmp_path / "rules", first_message=first_message, extra=extra)
        harness = Harness(make_settings(db_url, tmp_path, rules_dir=rules, **sections), clock,
                          smarthost.port)
        await harness.start()
        started.append(harness)
        return harness

    yield make
    for harness in started:
        await harness.stop()


async def ready_pair(h: Harness, smarthost: Any, **kwargs: Any) -> PairInfo:
    """A pair whose introductions are out of the way, so the smarthost only shows what follows."""
    pair = await h.make_pair(**kwargs)
    await h.pump()
    smarthost.clear()
    return pair


async def send(h: Harness, pair: PairInfo, body: str, *, subject: str = "Bonjour",
               from_mentee: bool = True, attachment: tuple[str, str, bytes] | None = None) -> None:
    sender, alias = ((pair.mentee_email, pair.mentor_alias) if from_mentee
                     else (pair.mentor_email, pair.mentee_alias))
    outcome = await h.send(sender, [alias], mail(sender, alias, body, subject=subject,
                                                 attachment=attachment))
    assert outcome.code == 250, outcome
    await h.pump()


def assert_participant_notice(notice: Any, *, forbidden: tuple[str, ...] = ()) -> str:
    """A notice to a participant is automatic and carries nothing meant for moderators."""
    assert notice["Auto-Submitted"] in ("auto-replied", "auto-generated")
    body = text_body(notice.as_bytes())
    for word in (*INTERNAL_WORDS, *forbidden):
        assert word not in body and word not in str(notice["Subject"]), word
    return body


async def held_and_rendered(h: Harness, smarthost: Any) -> tuple[PairInfo, int, PreparedForward]:
    """A held message (a phone number) and its forward rendered as an approval's read step does."""
    pair = await ready_pair(h, smarthost)
    await send(h, pair, f"Mon numéro est {PHONE}\n")
    [stored] = await messages(h)
    smarthost.clear()
    assert stored.id is not None
    prepared = await h.db.read(lambda s: held.render_for_approval(s, h.settings, stored.id))
    assert prepared is not None
    return pair, stored.id, prepared


def render_threads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the threads that render a forward from now on ("db-w…": the writer)."""
    import threading

    from gateway.relay import forward

    threads: list[str] = []
    real = forward._render

    def spy(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(forward, "_render", spy)
    return threads
