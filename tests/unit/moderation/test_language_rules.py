"""Rules that know the language: per-language word lists, exception phrases, severities."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.moderation.chain import evaluate
from gateway.moderation.detectors.fold import fold
from gateway.moderation.detectors.language import language_near
from gateway.moderation.detectors.reading import read
from gateway.moderation.detectors.vocabulary import words_of
from gateway.moderation.rules import RuleSet, check_rules, load_rules
from tests.unit.moderation.conftest import decide, facts_of, hits_of
from tests.unit.moderation.test_rule_files import write_rule


@pytest.mark.parametrize("text", [
    "Désolée, je suis en retard pour te répondre.",
    "Pas de stress si tu as du retard dans tes travaux.",
    "On peut retarder la remise d'une semaine.",
    "Le concours de sciences et le contrôle de maths sont jeudi.",
    "Grab a bite before your exam, you'll focus better.",
    "La chatte de ma voisine a eu des chatons.",
])
def test_french_and_english_words_that_look_alike_pass(shipped: RuleSet, text: str) -> None:
    assert decide(shipped, text).verdict == "pass"


@pytest.mark.parametrize(("text", "evidence"), [
    ("Don't be such a retard.", "retard"),
    ("T'es vraiment con, pis ferme ta gueule.", "ferme ta gueule"),
    ("What the fuck is this homework", "fuck"),
    ("Tabarnak, encore un examen!", "Tabarnak"),
    ("ok chu tanné, mange d'la marde", "mange d'la marde"),
])
def test_insults_are_held_in_the_language_they_are_written_in(shipped: RuleSet, text: str,
                                                             evidence: str) -> None:
    assert evidence in hits_of(shipped, "profanity", text)


def test_a_french_line_after_an_english_paragraph_is_read_as_french() -> None:
    text = fold("Thanks for your help with the essay, it was really great.\nT'es con pareil")
    at = text.index("con")
    assert language_near(text, at, at + 3) == "fr"
    english = fold("You are a con artist and the police are looking for you")
    assert language_near(english, english.index("con"), english.index("con") + 3) == "en"


def test_a_hold_carries_the_highest_severity_of_its_hits(shipped: RuleSet) -> None:
    low = decide(shipped, "this homework is bullshit")
    assert (low.verdict, low.severity) == ("hold", "low")
    high = decide(shipped, "this homework is bullshit, and don't tell your parents about us")
    assert (high.verdict, high.severity) == ("hold", "high")
    assert high.to_json()["severity"] == "high"
    assert decide(shipped, "Bonne semaine!").severity == ""


@pytest.mark.parametrize(("text", "evidence"), [
    ("chu ben content, dis-le pas à ta mère ok", "dis-le pas à ta mère"),
    ("mon 👻 c jojo.mtl", "mon 👻 c jojo.mtl"),
    ("écris-moi: s a m k 0 9 @ g m a i l . c o m", "s a m k 0 9 @ g m a i l . c o m"),
])
def test_evidence_points_at_what_the_sender_wrote_not_at_the_normalized_reading(
        shipped: RuleSet, text: str, evidence: str) -> None:
    decision = decide(shipped, text)
    assert decision.verdict == "hold"
    found = [h for h in decision.hits if h.evidence == evidence]
    assert found, [h.evidence for h in decision.hits]
    assert text[found[0].start:found[0].end] == evidence


def test_the_reading_expands_texting_and_maps_spans_back() -> None:
    original = "tkt chu là pis 5️⃣1️⃣4️⃣"
    folded = fold(original)
    reading = read(folded, words_of(folded))
    assert reading.text == "t'inquiete je suis la puis 514"
    start = reading.text.index("je suis")
    assert original[slice(*reading.span(start, start + len("je suis")))] == "chu"
    digits = reading.text.index("514")
    assert original[slice(*reading.span(digits, digits + 3))] == "5️⃣1️⃣4️⃣"


def test_language_lists_and_exceptions_from_a_rule_file(tmp_path: Path) -> None:
    (tmp_path / "wordlists").mkdir()
    (tmp_path / "wordlists" / "late.en.txt").write_text("retard\n")
    (tmp_path / "wordlists" / "late.fr.txt").write_text("con\n")
    write_rule(tmp_path, "rude", '[match]\nkind = "words"\nexceptions = ["pas con"]\n'
               '[match.language_lists]\nen = ["late.en"]\nfr = ["late.fr"]\n')
    rules = load_rules(tmp_path)

    def verdict(text: str) -> str:
        return evaluate(rules, facts_of(text)).verdict
    assert verdict("you are such a retard and you know it") == "hold"
    assert verdict("je suis en retard pour le cours de maths") == "pass"
    assert verdict("il est con, je te le dis") == "hold"
    assert verdict("il est pas con, je te le dis") == "pass"
    assert verdict("the con in this plan is the cost") == "pass"


def test_slots_match_in_any_order_within_the_window_unless_vetoed_on_the_line(
        tmp_path: Path) -> None:
    write_rule(tmp_path, "secret", '[match]\nkind = "slots"\nwindow = 30\n'
               'require = [["tell", "who"]]\nunless = ["bonne idee"]\n'
               '[match.slots]\ntell = ["dis*"]\nwho = ["parents", "re:\\\\bma?man\\\\b"]\n',
               extra='severity = "high"\n')
    rules = load_rules(tmp_path)

    def hit(text: str) -> list[str]:
        return [h.evidence for h in evaluate(rules, facts_of(text)).hits]
    assert hit("tes parents, dis-leur rien") == ["parents, dis"]
    assert hit("dis rien à maman") == ["dis rien à maman"]
    assert hit("dis " + "x" * 40 + " parents") == []
    assert hit("dis-le à tes parents, bonne idée") == []
    assert hit("bonne idée.\ndis rien à tes parents") == ["dis rien à tes parents"]
    assert evaluate(rules, facts_of("dis rien à maman")).severity == "high"


@pytest.mark.parametrize(("body", "key", "line_text"), [
    ('severity = "urgent"\n[match]\nkind = "any"\n', "severity", 'severity = "urgent"'),
    ('[match]\nkind = "slots"\nrequire = [["a", "b"]]\n[match.slots]\na = ["x"]\n',
     "match.require", 'require = [["a", "b"]]'),
    ('[match]\nkind = "slots"\nrequire = [["a"]]\n[match.slots]\na = ["re:(x"]\n',
     "match.slots.a", 'a = ["re:(x"]'),
    ('[match]\nkind = "slots"\nrequire = [["a"]]\n[match.slots]\na = ["needle:x"]\n',
     "match.slots.a", 'a = ["needle:x"]'),
    ('[match]\nkind = "words"\n[match.language_lists]\nde = ["x"]\n',
     "match.language_lists.de", 'de = ["x"]'),
    ('[match]\nkind = "words"\nwords = ["x"]\nexception_lists = ["nowhere"]\n',
     "match.exception_lists", 'exception_lists = ["nowhere"]'),
])
def test_invalid_new_keys_name_file_key_and_line(tmp_path: Path, body: str, key: str,
                                                  line_text: str) -> None:
    path = tmp_path / "broken.toml"
    path.write_text('description = "t"\naction = "hold"\nreason_fr = "R."\nreason_en = "R."\n'
                    + body, encoding="utf-8")
    line = path.read_text().splitlines().index(line_text) + 1
    problems = check_rules(tmp_path)
    assert problems and problems[0].startswith(f"{path}: key '{key}' (line {line}):"), problems


def test_a_contact_request_in_words_gives_the_detail_alone_as_evidence(shipped: RuleSet) -> None:
    text = "Bonjour,\nappelle-moi au cinq un quatre 555 0199 demain.\nmon code postal c H2J 3K8"
    assert hits_of(shipped, "safety_contact", text) == ["cinq un quatre 555 0199", "H2J 3K8"]
