"""Suggestions stored and acted on through the program's own services, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session, select

from gateway.config import Settings
from gateway.matching import service
from gateway.program.service import ProgramError, add_organization, add_participant, create_pair
from gateway.store.db import Database
from gateway.store.migrate import migrate
from gateway.store.models import MatchSuggestion, Outbox, Pair
from tests.conftest import make_settings, skip_or_fail

NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    migrate(database.engine)
    yield database
    database.close()


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return make_settings(db_url, tmp_path)


def enrol(session: Session) -> None:
    for org in ("École A", "École B"):
        add_organization(session, org, now=NOW)
    for n, lang in ((1, "fr"), (2, "fr"), (3, "en")):
        add_participant(session, email=f"mentor{n}@example.net", name=f"Mentor {n}",
                        role="mentor", lang=lang, now=NOW)
    for n, (lang, org) in enumerate((("fr", "École A"), ("en", "École A"), ("fr", "École B"),
                                     ("fr", "École B")), start=1):
        add_participant(session, email=f"mentee{n}@example.net", name=f"Mentee {n}",
                        role="mentee", lang=lang, org=org, now=NOW)


def test_suggest_stores_one_global_assignment_and_accept_creates_the_pair(
        db: Database, settings: Settings) -> None:
    db.transaction(enrol)
    views = db.transaction(lambda s: service.suggest(s, settings, now=NOW))
    assert len(views) == 3  # three mentors with one place each (the default capacity)
    by_mentee = {v.mentee: v.mentor for v in views}
    assert by_mentee["mentee2@example.net"] == "mentor3@example.net"  # the only English mentor
    assert {v.state for v in views} == {"proposed"}
    first = views[0]
    results = db.transaction(lambda s: service.accept(s, settings, [first.id], now=NOW))
    assert results[0][2] is None and results[0][1] is not None
    with Session(db.engine) as s:
        pair = s.get(Pair, results[0][1].pair_id)
        assert pair is not None and pair.state == "active"
        intros = s.exec(select(Outbox).where(Outbox.pair_id == pair.id)).all()
        assert len(intros) == 2  # both sides are introduced
    again = db.transaction(lambda s: service.accept(s, settings, [first.id], now=NOW))
    assert again[0][1] is None and "accepted, not proposed" in str(again[0][2])


def test_a_new_run_supersedes_old_proposals_and_skips_are_never_suggested_again(
        db: Database, settings: Settings) -> None:
    db.transaction(enrol)
    first = db.transaction(lambda s: service.suggest(s, settings, org="École A", now=NOW))
    assert {v.mentee for v in first} == {"mentee1@example.net", "mentee2@example.net"}
    fr = next(v for v in first if v.mentee == "mentee1@example.net")
    db.transaction(lambda s: service.skip(s, fr.id, now=NOW))
    second = db.transaction(lambda s: service.suggest(s, settings, org="École A", now=NOW))
    again = next(v for v in second if v.mentee == "mentee1@example.net")
    assert again.mentor != fr.mentor
    with Session(db.engine) as s:
        states = {r.id: r.state for r in s.exec(select(MatchSuggestion)).all()}
    assert states[fr.id] == "skipped"
    assert sorted(states.values()).count("superseded") == 1
    assert sorted(states.values()).count("proposed") == 2


def test_previous_partners_approvals_and_paired_mentees(db: Database, settings: Settings) -> None:
    db.transaction(enrol)
    # mentee1 had mentor1 before (a closed pair); mentee3 is already paired with mentor2.
    db.transaction(lambda s: create_pair(s, settings, mentor="mentor1@example.net",
                                         mentee="mentee1@example.net", now=NOW))
    with Session(db.engine) as s:
        pair = s.exec(select(Pair)).one()
        pair.state = "closed"
        s.add(pair)
        s.commit()
    db.transaction(lambda s: create_pair(s, settings, mentor="mentor2@example.net",
                                         mentee="mentee3@example.net", now=NOW))
    db.transaction(lambda s: service.approve_mentors(s, "École B", ["mentor1@example.net"],
                                                     now=NOW))
    views = db.transaction(lambda s: service.suggest(s, settings, now=NOW))
    got = {v.mentee: v.mentor for v in views}
    assert "mentee3@example.net" not in got  # paired already
    assert got.get("mentee1@example.net") != "mentor1@example.net"  # previous partner
    assert got["mentee4@example.net"] == "mentor1@example.net"  # École B approved only mentor1
    assert "mentor2@example.net" not in got.values()  # full (capacity 1, one active pair)


def test_accept_reports_what_can_no_longer_be_done_and_goes_on(
        db: Database, settings: Settings) -> None:
    db.transaction(enrol)
    views = db.transaction(lambda s: service.suggest(s, settings, org="École B", now=NOW))
    taken = views[0]
    # Meanwhile someone paired that mentee by hand.
    db.transaction(lambda s: create_pair(s, settings, mentor="mentor3@example.net",
                                         mentee=taken.mentee, now=NOW))
    results = db.transaction(lambda s: service.accept(s, settings, None, now=NOW))
    errors = {i: e for i, _v, e in results}
    assert "already has pair" in str(errors[taken.id])
    assert sum(1 for e in errors.values() if e is None) == len(views) - 1
    with pytest.raises(ProgramError, match="no suggestion with id 999"):
        db.transaction(lambda s: service.skip(s, 999, now=NOW))
    with pytest.raises(ProgramError, match="no organization named 'Nowhere'"):
        db.transaction(lambda s: service.suggest(s, settings, org="Nowhere", now=NOW))


def test_interests_from_enrolment_are_mapped_and_become_reasons(
        db: Database, settings: Settings) -> None:
    from gateway.program import service as program

    set_interests = getattr(program, "set_interests", None)
    if set_interests is None:
        skip_or_fail("participant interests (the enrolment profile, issue 13) are not in yet")

    def work(s: Session) -> None:
        enrol(s)
        for email, words in (("mentor1@example.net", ["Génie civil", "musique"]),
                             ("mentor2@example.net", ["plomberie"]),
                             ("mentee1@example.net", ["genie civil; guitare"]),
                             ("mentee3@example.net", ["Plombier", "astrologie"])):
            set_interests(s, program.participant_by_email(s, email), words)

    db.transaction(work)
    views = {v.mentee: v for v in db.transaction(lambda s: service.suggest(s, settings, now=NOW))}
    assert views["mentee1@example.net"].mentor == "mentor1@example.net"
    assert views["mentee1@example.net"].reasons == ("engineering-civil", "music")
    assert views["mentee3@example.net"].reasons == ("construction-trades",)
    _, mapper = service.vocabulary("")
    missing = db.transaction(lambda s: service.unmapped_interests(s, mapper), read_only=True)
    assert missing == [("astrologie", 1)]  # reported to the operator, still in the profile
