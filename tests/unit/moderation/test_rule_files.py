"""Rule files: each match kind, scope keys, verdict precedence and fail-closed validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.moderation.chain import evaluate
from gateway.moderation.rules import RuleError, check_rules, load_rules
from tests.unit.moderation.conftest import facts_of

REASONS = 'reason_fr = "Raison."\nreason_en = "Reason."\n'


def write_rule(folder: Path, name: str, body: str, *, action: str = "hold",
               extra: str = "") -> Path:
    path = folder / f"{name}.toml"
    path.write_text(f'description = "test"\naction = "{action}"\n{REASONS}{extra}\n{body}',
                    encoding="utf-8")
    return path


def verdict(folder: Path, text: str = "", **kwargs: object) -> str:
    return evaluate(load_rules(folder), facts_of(text, **kwargs)).verdict  # type: ignore[arg-type]


def test_regex_kind_searches_only_the_named_fields(tmp_path: Path) -> None:
    write_rule(tmp_path, "homework", '[match]\nkind = "regex"\nfields = ["subject"]\n'
               'pattern = "devoirs?"\nflags = "i"\n')
    assert verdict(tmp_path, "rien", subject="Mes DEVOIRS") == "hold"
    assert verdict(tmp_path, "mes devoirs", subject="Salut") == "pass"


def test_regex_kind_reads_headers(tmp_path: Path) -> None:
    write_rule(tmp_path, "from_relay", '[match]\nkind = "regex"\nfields = ["header:From"]\n'
               'pattern = "mentor-7k2p@"\n', action="flag")
    decision = evaluate(load_rules(tmp_path), facts_of("x"))
    assert decision.verdict == "flag"
    assert decision.hits[0].field == "header:From"


def test_words_kind_uses_word_lists_and_inline_words(tmp_path: Path) -> None:
    (tmp_path / "wordlists").mkdir()
    (tmp_path / "wordlists" / "fruits.txt").write_text("# fruits\npomme de terre\nbanane*\n")
    write_rule(tmp_path, "fruits", '[match]\nkind = "words"\nlists = ["fruits"]\n'
               'words = ["kiwi"]\n')
    assert verdict(tmp_path, "Une POMME   DE TERRE? oui, une pomme de\nterre") == "hold"
    assert verdict(tmp_path, "des bananes") == "hold"
    assert verdict(tmp_path, "un Kiwi") == "hold"
    assert verdict(tmp_path, "des kiwis et des pommes") == "pass"


def test_links_kind_matches_parent_domains_only(tmp_path: Path) -> None:
    write_rule(tmp_path, "games", '[match]\nkind = "links"\ndomains = ["roblox.com"]\n')
    assert verdict(tmp_path, "https://www.roblox.com/games/1") == "hold"
    assert verdict(tmp_path, "see roblox.com") == "hold"
    assert verdict(tmp_path, "https://roblox.com.evil.example/x") == "pass"
    assert verdict(tmp_path, "https://notroblox.com/") == "pass"


def test_size_and_any_kinds(tmp_path: Path) -> None:
    write_rule(tmp_path, "big", '[match]\nkind = "size"\nmax_bytes = 2000\n', action="flag")
    assert verdict(tmp_path, "court") == "pass"
    assert verdict(tmp_path, "long " * 500) == "flag"
    write_rule(tmp_path, "everything", '[match]\nkind = "any"\n')
    assert verdict(tmp_path, "court") == "hold"


def test_attachment_kind_by_content_type_family(tmp_path: Path) -> None:
    write_rule(tmp_path, "images", '[match]\nkind = "attachment"\ncontent_types = ["image/*"]\n',
               action="flag")
    assert verdict(tmp_path, "x", attachments=(("a.png", "image/png", b"png"),)) == "flag"
    assert verdict(tmp_path, "x", attachments=(("a.pdf", "application/pdf", b"%"),)) == "pass"


def test_scope_direction_minor_and_disabled(tmp_path: Path) -> None:
    write_rule(tmp_path, "to_mentee", '[match]\nkind = "any"\n',
               extra='direction = "mentor_to_mentee"\nwhen_minor = true')
    assert verdict(tmp_path, "x", direction="mentor_to_mentee", minor=True) == "hold"
    assert verdict(tmp_path, "x", direction="mentor_to_mentee", minor=False) == "pass"
    assert verdict(tmp_path, "x", direction="mentee_to_mentor", minor=True) == "pass"
    write_rule(tmp_path, "to_mentee", '[match]\nkind = "any"\n', extra="enabled = false")
    assert verdict(tmp_path, "x") == "pass"


@pytest.mark.parametrize("order", [("a", "b", "c"), ("c", "b", "a"), ("b", "c", "a")])
def test_strongest_action_wins_whatever_the_file_order(tmp_path: Path,
                                                        order: tuple[str, ...]) -> None:
    actions = dict(zip(order, ("flag", "reject", "hold"), strict=True))
    for name, action in actions.items():
        write_rule(tmp_path, name, '[match]\nkind = "words"\nwords = ["zut"]\n', action=action)
    decision = evaluate(load_rules(tmp_path), facts_of("zut alors"))
    assert decision.verdict == "reject"
    assert sorted(h.action for h in decision.hits) == ["flag", "hold", "reject"]
    assert decision.to_json()["hits"][0]["action"] == "reject"


def test_flag_only_still_delivers_but_records(tmp_path: Path) -> None:
    write_rule(tmp_path, "sample", '[match]\nkind = "words"\nwords = ["zut"]\n', action="flag")
    decision = evaluate(load_rules(tmp_path), facts_of("zut"))
    assert decision.verdict == "flag" and decision.hits[0].evidence == "zut"


INVALID = [  # (problem, file body, key named, text of the line it must point at)
    ("unknown key", 'colour = "red"\n[match]\nkind = "any"\n', "colour", 'colour = "red"'),
    ("wrong type", 'enabled = "yes"\n[match]\nkind = "any"\n', "enabled", 'enabled = "yes"'),
    ("bad regex", '[match]\nkind = "regex"\nfields = ["text"]\npattern = "(unclosed"\n',
     "match.pattern", 'pattern = "(unclosed"'),
    ("missing list", '[match]\nkind = "words"\nlists = ["nowhere"]\n', "match.lists",
     'lists = ["nowhere"]'),
    ("unknown kind", '[match]\nkind = "magic"\n', "match.kind", 'kind = "magic"'),
    ("unknown detector", '[match]\nkind = "pii"\ndetectors = ["phone", "dna"]\n',
     "match.detectors", 'detectors = ["phone", "dna"]'),
    ("unknown field", '[match]\nkind = "regex"\nfields = ["body"]\npattern = "x"\n',
     "match.fields", 'fields = ["body"]'),
    ("unknown match key", '[match]\nkind = "any"\npattern = "x"\n', "match.pattern",
     'pattern = "x"'),
    ("syntax error", '[match]\nkind = "any"\nbroken = = 3\n', "broken", "broken = = 3"),
]


@pytest.mark.parametrize(("problem", "body", "key", "line_text"), INVALID)
def test_invalid_rule_file_names_file_key_and_line(tmp_path: Path, problem: str, body: str,
                                                    key: str, line_text: str) -> None:
    path = write_rule(tmp_path, "broken", "# a comment\n" + body)
    line = path.read_text().splitlines().index(line_text) + 1
    with pytest.raises(RuleError) as raised:
        load_rules(tmp_path)
    message = str(raised.value)
    assert message.startswith(f"{path}: key '{key}' (line {line}):"), message
    assert check_rules(tmp_path) == [message]


def test_unknown_action_is_reported_on_its_line(tmp_path: Path) -> None:
    path = write_rule(tmp_path, "x", '[match]\nkind = "any"\n', action="delete")
    assert check_rules(tmp_path) == [
        f"{path}: key 'action' (line 2): unknown action 'delete' (choose among flag, hold, reject)"]


def test_check_reports_every_problem_and_load_refuses_everything(tmp_path: Path) -> None:
    write_rule(tmp_path, "good", '[match]\nkind = "any"\n')
    write_rule(tmp_path, "bad1", '[match]\nkind = "magic"\n')
    write_rule(tmp_path, "bad2", 'oops = 1\n[match]\nkind = "size"\n')
    problems = check_rules(tmp_path)
    assert len(problems) == 3
    assert [p.split(":")[0].rsplit("/", 1)[-1] for p in problems] == [
        "bad1.toml", "bad2.toml", "bad2.toml"]
    with pytest.raises(RuleError):
        load_rules(tmp_path)


def test_missing_folder_fails_closed(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match="does not exist"):
        load_rules(tmp_path / "nope")
