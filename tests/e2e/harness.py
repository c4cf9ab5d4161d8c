"""A real gateway on 127.0.0.1 for end-to-end tests: start it, make pairs, send mail, pump the workers."""

from __future__ import annotations

import asyncio
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import make_msgid
from pathlib import Path
from typing import Any

from gateway.app import App
from gateway.clock import MovableClock
from gateway.config import Settings
from gateway.delivery.transports import SmtpTransport
from gateway.program import service
from gateway.store.db import Database


@dataclass(frozen=True)
class PairInfo:
    id: int
    mentor_email: str
    mentee_email: str
    mentor_alias: str  # the mentee writes here
    mentee_alias: str  # the mentor writes here


@dataclass(frozen=True)
class SendOutcome:
    code: int
    text: str


class Harness:
    def __init__(self, settings: Settings, clock: MovableClock, smarthost_port: int) -> None:
        self.settings = settings
        self.clock = clock
        self.transport = SmtpTransport("127.0.0.1", smarthost_port, timeout=3.0)
        self.app = App(settings, clock=clock, transports=[self.transport], background=False)
        self._counter = 0

    async def start(self) -> None:
        await self.app.start()

    async def stop(self) -> None:
        await self.app.stop()

    @property
    def db(self) -> Database:
        return self.app.db

    @property
    def port(self) -> int:
        return self.app.smtp_port

    async def make_pair(self, *, mentor_lang: str = "fr", mentee_lang: str = "fr", minor: bool = True,
                        org: str | None = None) -> PairInfo:
        self._counter += 1
        n = self._counter
        now = self.clock.now()
        settings = self.settings

        def create(s: Any) -> service.PairView:
            service.add_participant(s, email=f"Mentor.{n}@Example.COM", name=f"Marie-Ève Tremblay {n}",
                                    role="mentor", lang=mentor_lang, org=org, now=now)
            service.add_participant(s, email=f"jeune.{n}@eleves.example.net", name=f"Léa Gagnon {n}",
                                    role="mentee", lang=mentee_lang, minor=minor, org=org, now=now)
            return service.create_pair(s, settings, mentor=f"mentor.{n}@example.com",
                                       mentee=f"jeune.{n}@eleves.example.net", now=now)

        view = await self.db.write(create)
        return PairInfo(view.id, view.mentor_email, view.mentee_email, view.mentor_alias,
                        view.mentee_alias)

    async def send(self, mail_from: str, rcpts: list[str], data: bytes) -> SendOutcome:
        """Talk SMTP to the real listener with smtplib (in a thread: the server runs on our loop)."""
        return await asyncio.to_thread(send_blocking, self.port, mail_from, rcpts, data)

    async def pump(self) -> None:
        await self.app.pump()


def send_blocking(port: int, mail_from: str, rcpts: list[str], data: bytes) -> SendOutcome:
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.sendmail(mail_from, rcpts, data)
        return SendOutcome(250, "ok")
    except smtplib.SMTPRecipientsRefused as exc:
        code, text = next(iter(exc.recipients.values()))
        return SendOutcome(code, text.decode())
    except smtplib.SMTPResponseException as exc:
        return SendOutcome(exc.smtp_code, exc.smtp_error.decode(errors="replace"))


def simple_message(sender: str, to: str, subject: str = "Bonjour", body: str = "Bonjour, ça va ?\n",
                   *, message_id: str | None = None, in_reply_to: str | None = None,
                   from_header: str | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = from_header or sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = message_id or make_msgid(domain="client.example.com")
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    msg.set_content(body)
    return msg.as_bytes(policy=SMTP_POLICY)


# A hold rule for phone numbers written 514-555-1234, for tests that need one simple hold.
PHONE_RULE = """description = "phone numbers (tests)"
action = "hold"
reason_fr = "Les numéros de téléphone ne peuvent pas être échangés."
reason_en = "Phone numbers may not be exchanged."
[match]
kind = "regex"
fields = ["subject", "text"]
pattern = '\\d{3}-\\d{3}-\\d{4}'
"""


def write_rules(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "wordlists").mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder
