"""The shipped career-field taxonomy, an operator's extension, and errors that name file/line/key."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.matching.taxonomy import TaxonomyError, load_taxonomy, parse_taxonomy

CATEGORY = '[[category]]\nid = "health"\nnoc = "3"\nfr = "Santé"\nen = "Health"\n'


def test_shipped_taxonomy_is_bilingual_and_covers_the_broad_categories() -> None:
    taxonomy = load_taxonomy()
    assert 30 <= len(taxonomy.fields) <= 60
    assert {c.noc for c in taxonomy.categories.values()} == set("0123456789")
    assert {f.category for f in taxonomy.fields.values()} == set(taxonomy.categories)
    for item in taxonomy.fields.values():
        assert item.fr and item.en and item.synonyms
    assert taxonomy.label("nursing", "fr") == "Soins infirmiers"
    assert taxonomy.label("nursing", "en") == "Nursing"


def test_operator_file_adds_a_field_and_synonyms_to_a_shipped_one(tmp_path: Path) -> None:
    extra = tmp_path / "fields.toml"
    extra.write_text('[[field]]\nid = "nursing"\nsynonyms = ["soins à domicile"]\n\n'
                     '[[field]]\nid = "aquaculture"\ncategory = "natural-resources"\n'
                     'fr = "Aquaculture"\nen = "Aquaculture"\nsynonyms = ["pisciculture"]\n',
                     encoding="utf-8")
    taxonomy = load_taxonomy(extra)
    assert "soins à domicile" in taxonomy.fields["nursing"].synonyms
    assert "infirmière" in taxonomy.fields["nursing"].synonyms
    assert taxonomy.fields["aquaculture"].category == "natural-resources"


@pytest.mark.parametrize(("body", "line", "key", "says"), [
    ('[[field]]\nid = "x-ray"\ncategory = "nowhere"\nfr = "Radiologie"\nen = "Radiology"\n',
     9, "category", "unknown category 'nowhere'"),
    ('[[field]]\nid = "nursing"\ncategory = "health"\nen = "Nursing"\n',
     7, "fr", "is missing"),  # absent: the line of its [[field]]
    ('[[field]]\nid = "Nursing Care"\ncategory = "health"\nfr = "Soins"\nen = "Care"\n',
     8, "id", "use 2-48 of a-z"),
    ('[[field]]\nid = "a"\ncategory = "health"\nfr = "A"\nen = "A"\nsynonyms = "nurse"\n',
     12, "synonyms", "must be a list of strings"),
    ('[[field]]\nid = "nursing"\ncategory = "health"\nfr = "Soins"\nen = "Nursing"\n'
     'colour = "blue"\n', 12, "colour", "unknown key"),
])
def test_errors_name_the_file_the_line_and_the_key(body: str, line: int, key: str,
                                                     says: str) -> None:
    with pytest.raises(TaxonomyError) as caught:
        parse_taxonomy("ops/fields.toml", CATEGORY + "\n" + body)
    problem = caught.value.problems[0]
    assert problem.startswith(f"ops/fields.toml: line {line}: key '{key}':"), problem
    assert says in problem


def test_a_synonym_claimed_by_two_fields_is_refused_with_both_names() -> None:
    text = CATEGORY + (
        '\n[[field]]\nid = "nursing"\ncategory = "health"\nfr = "Soins"\nen = "Nursing"\n'
        'synonyms = ["Infirmière"]\n'
        '\n[[field]]\nid = "medicine"\ncategory = "health"\nfr = "Médecine"\nen = "Medicine"\n'
        'synonyms = ["infirmiere"]\n')
    with pytest.raises(TaxonomyError) as caught:
        parse_taxonomy("t.toml", text)
    assert caught.value.problems == [
        "t.toml: line 19: key 'synonyms': 'infirmiere' already means field 'nursing' (t.toml)"]


def test_every_problem_is_reported_at_once_and_bad_syntax_names_its_line(tmp_path: Path) -> None:
    with pytest.raises(TaxonomyError) as caught:
        parse_taxonomy("t.toml", CATEGORY + '\n[[field]]\nid = "a"\n[[field]]\nid = "b"\n')
    assert len(caught.value.problems) == 6  # category, fr, en missing, twice
    broken = tmp_path / "broken.toml"
    broken.write_text('[[field]]\nid = "nursing\n', encoding="utf-8")
    with pytest.raises(TaxonomyError) as caught:
        load_taxonomy(broken)
    assert caught.value.problems[0].startswith(f"{broken}: line 2: key '-': TOML syntax error")
    with pytest.raises(TaxonomyError, match="cannot be read"):
        load_taxonomy(tmp_path / "missing.toml")
