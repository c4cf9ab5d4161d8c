"""The coordinators' weekly digest: from Monday 08:00 local, once per coordinator and week (even with
two instances), in their language, with their organization's figures and quiet pairs; opt-out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

from sqlmodel import select

from gateway.insights.digest import digest_week, send_weekly_digests
from gateway.insights.load import program_figures
from gateway.program.staff import add_staff
from gateway.store.db import Database
from gateway.store.migrate import migrate
from gateway.store.models import Outbox, Staff
from tests.conftest import make_settings
from tests.unit.insights.seed import seed_program

# Monday 16 March 2026 in Toronto (EDT, UTC-4): 07:30 is too early, 08:30 is due.
EARLY = datetime(2026, 3, 16, 11, 30, tzinfo=UTC)
DUE = datetime(2026, 3, 16, 12, 30, tzinfo=UTC)


def text_of(data: bytes) -> str:
    message = message_from_bytes(data, policy=policy.default)
    body = message.get_body(("plain",))
    assert body is not None
    return f"Subject: {message['subject']}\n{body.get_content()}"


def test_digest_week_starts_monday_eight_local() -> None:
    assert digest_week(EARLY, "America/Toronto") is None
    assert digest_week(DUE, "America/Toronto") == "2026-W12"
    assert digest_week(DUE + timedelta(days=3), "America/Toronto") == "2026-W12"  # missed Monday


def test_each_coordinator_gets_one_digest_a_week_in_their_language(db_url: str,
                                                                   tmp_path: Path) -> None:
    settings = make_settings(db_url, tmp_path)
    db = Database(db_url)
    migrate(db.engine)
    seeded = db.transaction(seed_program)

    def staff(s: object) -> None:
        add_staff(s, email="coord-a@school.example", name="Coord A", role="coordinator",  # type: ignore[arg-type]
                  org="École A", now=EARLY, lang="fr")
        add_staff(s, email="coord-b@school.example", name="Coord B", role="coordinator",  # type: ignore[arg-type]
                  org="École B", now=EARLY, lang="en")
        quiet = add_staff(s, email="coord-c@school.example", name="Coord C",  # type: ignore[arg-type]
                          role="coordinator", org="École A", now=EARLY)
        quiet.weekly_digest = False
        add_staff(s, email="mod@school.example", name="Mod", role="moderator", now=EARLY)  # type: ignore[arg-type]

    db.transaction(staff)
    assert db.transaction(lambda s: send_weekly_digests(s, settings, EARLY)) == 0
    assert db.transaction(lambda s: send_weekly_digests(s, settings, DUE)) == 2
    assert db.transaction(lambda s: send_weekly_digests(s, settings, DUE + timedelta(hours=1))) == 0
    rows = db.transaction(lambda s: list(s.exec(select(Outbox).where(Outbox.kind == "digest")
                                                .order_by(Outbox.recipient)).all()))
    assert [r.recipient for r in rows] == ["coord-a@school.example", "coord-b@school.example"]
    french, english = text_of(rows[0].data), text_of(rows[1].data)
    assert "Votre semaine de mentorat — École A (2026-W12)" in french and "Jumelages actifs" in french
    assert "Your mentoring week — École B" in english and "Active pairs" in english
    figures = db.transaction(lambda s: program_figures(
        s, (seeded.org_a,), since=DUE - timedelta(days=7), until=DUE, now=DUE, quiet_days=21))
    assert figures.pairs.quiet, "the seed has quiet pairs in École A"
    for pair_id, _ in figures.pairs.quiet:
        assert f"/pairs?q={pair_id}" in french
    assert f"Messages écrits ............................ {figures.messages_written}" in french
    assert "@example.org" not in french + english, "no participant address in a staff digest"

    # The next week brings the next digest; a coordinator who opted back in gets theirs too.
    def opt_in(s: object) -> None:
        coord = s.exec(select(Staff).where(Staff.email == "coord-c@school.example")).one()  # type: ignore[attr-defined]
        coord.weekly_digest = True

    db.transaction(opt_in)
    assert db.transaction(lambda s: send_weekly_digests(s, settings, DUE + timedelta(days=7))) == 3
    db.close()
