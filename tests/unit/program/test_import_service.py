"""Importing a school's spreadsheet: the per-line report, what gets in, and re-imports that change nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from gateway.config import Settings
from gateway.program.importer import ImportReport, import_participants
from gateway.program.service import add_organization
from gateway.store.db import Database
from gateway.store.migrate import migrate
from tests.conftest import make_settings
from tests.unit.program import spreadsheet

NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
# (language of the headers, separator, encoding): what French Excel and other tools write.
VARIANTS = {
    "utf8-bom-comma-english": (1, ",", "utf-8-sig"),
    "windows1252-semicolon-french": (0, ";", "cp1252"),
}


@pytest.fixture
def program(db_url: str, tmp_path: Path) -> Any:
    settings = make_settings(db_url, tmp_path)
    db = Database(db_url)
    migrate(db.engine)
    db.transaction(lambda s: [add_organization(s, name, now=NOW) for name in spreadsheet.ORGS])
    yield settings, db
    db.close()


def run_import(db: Database, settings: Settings, data: bytes, **kw: Any) -> ImportReport:
    return db.transaction(lambda s: import_participants(s, settings, data, now=NOW, **kw))


def snapshot(db: Database) -> dict[str, list[Any]]:
    def read(s: Any) -> dict[str, list[Any]]:
        return {table: [tuple(r) for r in s.execute(text(f"SELECT * FROM {table} ORDER BY id"))]
                for table in ("participant", "participantinterest", "consentrequest", "outbox")}
    return db.transaction(read, read_only=True)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_messy_spreadsheet_gives_the_exact_report_and_imports_the_good_lines(program: Any, variant: str) -> None:
    settings, db = program
    lang, sep, encoding = VARIANTS[variant]
    content, starts = spreadsheet.render(lang, sep)
    data = content.encode(encoding)
    report = run_import(db, settings, data)
    assert report.encoding == ("utf-8" if encoding == "utf-8-sig" else "windows-1252")
    assert report.delimiter == sep
    got = sorted((p.line, p.column or "", p.code) for p in report.problems)
    assert got == spreadsheet.expected_report(lang, starts)
    assert all(p.message("fr") != p.message("en") for p in report.problems)
    assert (report.created, report.updated, report.failed_lines) == (180, 0, 20)
    minors = [i for i, r in enumerate(spreadsheet.records()) if r["birth"] == "2014-06-01"
              and i not in {b.index for b in spreadsheet.BAD}]
    assert report.consent_requested == len(minors) > 0

    def facts(s: Any) -> Any:
        zoe = s.execute(text("SELECT p.display_name, p.first_name, p.role, p.lang, o.name, p.birth_date,"
                             " p.school_level, p.minor, p.consent_state FROM participant p JOIN"
                             " organization o ON o.id = p.org_id WHERE p.email = 'personne.1@ecole1.example.org'")).one()
        mentor = s.execute(text("SELECT bio, capacity, birth_year, birth_date FROM participant"
                                " WHERE email = 'personne.8@ecole1.example.org'")).one()
        interests = [r[0] for r in s.execute(text(
            "SELECT i.interest FROM participantinterest i JOIN participant p ON p.id = i.participant_id"
            " WHERE p.email = 'personne.4@ecole4.example.org' ORDER BY i.id"))]
        count = s.execute(text("SELECT count(*) FROM participant")).scalar()
        minor = s.execute(text("SELECT consent_state, guardian_email FROM participant"
                               " WHERE email = 'personne.3@ecole3.example.org'")).one()
        return zoe, mentor, interests, count, minor

    zoe, mentor, interests, count, minor = db.transaction(facts, read_only=True)
    assert count == 180
    assert tuple(zoe[:5]) == ("Zoé Côté-1", "Zoé", "mentee", "fr", "Cégep de Sainte-Foy")
    assert str(zoe[5]) == "2009-03-14" and zoe[6] == "Secondaire 5" and zoe[7] and zoe[8] == "not_needed"
    assert mentor[0] == "Ingénieure depuis 10 ans.\nJ'aime « transmettre »; vraiment."
    assert (mentor[1], mentor[2], mentor[3]) == (4, 1985, None)
    assert interests == ["informatique", "sante"]  # folded, deduplicated, first order kept
    assert tuple(minor) == ("pending", "parent.3@famille.example.net")

    before = snapshot(db)
    again = run_import(db, settings, data)
    assert (again.created, again.updated, again.unchanged, again.consent_requested) == (0, 0, 180, 0)
    assert snapshot(db) == before


def test_a_changed_line_updates_that_participant_only(program: Any) -> None:
    settings, db = program
    content, _ = spreadsheet.render(0, ";")
    run_import(db, settings, content.encode("utf-8"))
    before = snapshot(db)
    changed = content.replace("Côté-1;", "Côté-Tremblay;", 1).replace("Secondaire 5", "Secondaire 4", 1)
    report = run_import(db, settings, changed.encode("utf-8"))
    assert (report.created, report.updated, report.unchanged) == (0, 1, 179)
    after = snapshot(db)
    moved = [(a, b) for a, b in zip(before["participant"], after["participant"], strict=True) if a != b]
    assert len(moved) == 1 and "Zoé Côté-Tremblay" in moved[0][1]


def test_dry_run_changes_nothing_and_forced_org_refuses_other_schools(program: Any) -> None:
    settings, db = program
    content, starts = spreadsheet.render(1, ",")
    before = snapshot(db)
    report = run_import(db, settings, content.encode("utf-8"), dry_run=True,
                        org="Collège Saint-Jean")
    assert snapshot(db) == before
    bad = {b.index for b in spreadsheet.BAD}
    # A third of the lines name that school (i % 3 == 2); the others are refused.
    assert report.valid == len([i for i in range(200) if i % 3 == 2 and i not in bad])
    other = {p.line for p in report.problems if p.code == "org_other"}
    assert starts[1] in other and starts[2] not in other  # i % 3 == 2 is Collège Saint-Jean


def test_a_participant_of_another_school_is_not_taken_over(program: Any) -> None:
    settings, db = program
    run_import(db, settings, b"email,name,role,organization\nsam@example.org,Sam,mentor,Coll\xc3\xa8ge Saint-Jean\n")
    report = run_import(db, settings, b"email,name,role\nsam@example.org,Sam Autre,mentor\n",
                        org="Cégep de Sainte-Foy")
    assert [(p.line, p.column, p.code) for p in report.problems] == [(2, "email", "registered_elsewhere")]


@pytest.mark.parametrize("data, code", [
    (b"", "empty"),
    (b"nom,role\nSam,mentor\n", "no_email_column"),
    (b"PK\x03\x04\x00\x00binary", "not_text"),
])
def test_unreadable_files_are_refused_as_a_whole(program: Any, data: bytes, code: str) -> None:
    settings, db = program
    report = run_import(db, settings, data)
    assert report.file_problem is not None and report.file_problem.startswith(code)
