"""`import participants`, `participant list/show/edit/export/consent`, `org list/edit` as an operator runs them."""

from __future__ import annotations

import json

from tests.conftest import ROOT
from tests.e2e.test_cli_program import Cli, cli  # noqa: F401  (fixture)

EXAMPLE = ROOT / "docs" / "examples" / "participants.csv"


def test_the_shipped_example_imports_with_a_per_line_report(cli: Cli) -> None:  # noqa: F811
    cli.ok("org", "add", "École secondaire du Mont-Royal")
    dry = cli("import", "participants", str(EXAMPLE), "--dry-run", "--json")
    assert dry.code == 1 and json.loads(dry.out)["valid"] == 5
    assert cli.scalar("SELECT count(*) FROM participant") == 0

    first = cli("import", "participants", str(EXAMPLE))
    assert first.code == 1, first  # two lines refused
    assert "line 8 [Courriel]: adresse courriel invalide" in first.out
    assert "line 9 [Courriel du parent/tuteur]: moins de 14 ans" in first.out
    assert "/ under 14: a parent's or guardian's e-mail is required" in first.out
    assert "5 created, 0 updated, 0 unchanged, 2 refused; 1 guardian(s) asked for consent" in first.out
    assert "guardians asked for consent (lines 6): no pair of theirs is activated" in first.out

    again = cli("import", "participants", str(EXAMPLE), "--json")
    report = json.loads(again.out)
    assert again.code == 1 and (report["created"], report["updated"], report["unchanged"]) == (0, 0, 5)
    assert [(p["line"], p["code"]) for p in report["problems"]] == [(8, "email_invalid"),
                                                                     (9, "guardian_missing")]

    listed = cli.ok("participant", "list", "--role", "mentee", "--json").json()
    assert {p["email"] for p in listed} == {"lea.gagnon@eleves.exemple.net",
                                            "noah.roy@eleves.exemple.net", "zoe.cote@eleves.exemple.net"}
    noah = cli.ok("participant", "show", "noah.roy@eleves.exemple.net", "--json").json()
    assert (noah["consent_state"], noah["school_level"], noah["interests"]) == (
        "pending", "6e année", ["informatique"])
    assert "consent pending" in cli.ok("participant", "list", "--search", "noah").out

    edited = cli.ok("participant", "edit", "sam.oneil@example.com", "--capacity", "5",
                    "--interests", "Informatique; Jeux vidéo", "--json").json()
    assert edited["capacity"] == 5 and edited["interests"] == ["informatique", "jeux video"]
    assert "not a number" in cli.refused("participant", "edit", "sam.oneil@example.com",
                                         "--capacity", "many")
    assert "unreadable birth date" in cli.refused("participant", "edit", "sam.oneil@example.com",
                                                  "--birth", "demain")

    orgs = cli.ok("org", "list", "--json").json()
    assert orgs == [{"id": 1, "name": "École secondaire du Mont-Royal", "participants": 5}]
    cli.ok("org", "edit", "École secondaire du Mont-Royal", "--name", "ÉS du Mont-Royal")
    assert "ÉS du Mont-Royal" in cli.ok("org", "list").out


def test_a_file_that_is_not_a_spreadsheet_is_refused_in_one_line(cli: Cli, tmp_path) -> None:  # noqa: F811
    bad = tmp_path / "eleves.xlsx"
    bad.write_bytes(b"PK\x03\x04\x00\x00\x00binary")
    assert "not a CSV text file" in cli.refused("import", "participants", str(bad))
    assert "no such file" in cli.refused("import", "participants", str(tmp_path / "absent.csv")).lower()


def test_a_young_participant_waits_for_consent_and_the_cli_says_why(cli: Cli) -> None:  # noqa: F811
    cli.ok("participant", "add", "--email", "marie@example.com", "--name", "Marie Tremblay",
           "--role", "mentor", "--bio", "Ingénieure", "--capacity", "3")
    assert "--guardian" in cli.refused("participant", "add", "--email", "noah@eleves.example.net",
                                       "--name", "Noah Roy", "--role", "mentee", "--birth", "2016-05-01")
    added = cli.ok("participant", "add", "--email", "noah@eleves.example.net", "--name", "Noah Roy",
                   "--role", "mentee", "--birth", "01/05/2016", "--guardian", "parent@famille.example.net")
    assert "the guardian was asked for consent" in added.out
    pair = cli.ok("pair", "create", "--mentor", "marie@example.com", "--mentee", "noah@eleves.example.net")
    assert "[awaiting_consent]" in pair.out and "waiting for a guardian's consent" in pair.out
    assert "introductions queued" not in pair.out
    assert cli.scalar("SELECT count(*) FROM outbox WHERE kind = 'introduction'") == 0
    cli.ok("participant", "consent", "give", "noah@eleves.example.net")
    assert cli.scalar("SELECT state FROM pair") == "active"
    assert cli.scalar("SELECT count(*) FROM outbox WHERE kind = 'introduction'") == 2
    cli.ok("participant", "consent", "withdraw", "noah@eleves.example.net")
    assert cli.scalar("SELECT state FROM pair") == "paused"
    assert "has not consented" in cli.refused("pair", "resume", "1")
    assert cli.scalar("SELECT detail FROM auditevent WHERE action = 'consent_given'") == (
        "guardian parent@famille.example.net by cli")
