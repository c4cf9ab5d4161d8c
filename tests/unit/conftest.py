"""Fixtures for the rooms' unit tests that need a real database: one program with one pair."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlmodel import Session

from gateway.config import Settings
from gateway.program.service import PairView, add_organization, add_participant, create_pair
from gateway.store.db import Database
from gateway.store.lifecycle import enqueue
from gateway.store.migrate import migrate
from tests.conftest import make_settings

NOW = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
PHONE_RULE = """description = "phone numbers (tests)"
action = "hold"
reason_fr = "Les numéros de téléphone ne peuvent pas être échangés."
reason_en = "Phone numbers may not be exchanged."
[match]
kind = "regex"
fields = ["subject", "text"]
pattern = '\\d{3}-\\d{3}-\\d{4}'
"""


@dataclass
class Program:
    db: Database
    settings: Settings
    pair: PairView


@pytest.fixture
def migrated_db(db_url: str) -> Iterator[Database]:
    """An empty migrated database (SQLite, then PostgreSQL)."""
    database = Database(db_url)
    migrate(database.engine)
    try:
        yield database
    finally:
        database.close()


def queue_notices(db: Database, now: datetime, count: int) -> None:
    """`count` notices in the outbox, due `now`, to p0@example.org, p1@example.org..."""
    def add(session: Session) -> None:
        for n in range(count):
            enqueue(session, kind="notice", envelope_from="", recipient=f"p{n}@example.org",
                    data=b"Subject: x\r\n\r\nhi\r\n", now=now)
    db.transaction(add)


@pytest.fixture
def program(db_url: str, tmp_path: Path) -> Iterator[Program]:
    """A migrated database (SQLite, then PostgreSQL) with one active pair; one hold rule (phones)."""
    rules = tmp_path / "rules"
    (rules / "wordlists").mkdir(parents=True)
    (rules / "phone.toml").write_text(PHONE_RULE, encoding="utf-8")
    settings = make_settings(db_url, tmp_path, rules_dir=rules)
    db = Database(db_url)
    migrate(db.engine)

    def seed(session: Session) -> PairView:
        add_organization(session, "École Test", now=NOW)
        add_participant(session, email="Mentor@Example.org", name="Marie Mentor", role="mentor",
                        now=NOW, org="École Test")
        add_participant(session, email="lea@example.net", name="Léa", role="mentee", now=NOW,
                        minor=True, org="École Test")
        return create_pair(session, settings, mentor="mentor@example.org",
                           mentee="lea@example.net", now=NOW)

    try:
        yield Program(db, settings, db.transaction(seed))
    finally:
        db.close()


def letter(sender: str, to: str, body: str, subject: str = "Bonjour") -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = "<m1@client.example.org>"
    msg.set_content(body)
    return msg.as_bytes()
