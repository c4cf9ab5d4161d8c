"""The pure spreadsheet rules: encodings, separators, headers, physical line numbers, dates, roles."""

from __future__ import annotations

from datetime import date

import pytest

from gateway.program import profile
from gateway.program.csv_read import FileProblem, read_sheet
from gateway.program.csv_validate import Known, validate

TODAY = date(2026, 11, 30)


def test_line_numbers_count_the_physical_lines_of_quoted_line_breaks_and_blank_lines() -> None:
    data = (b'email,name,role,bio\r\n'
            b'a@example.org,A,mentor,"one\r\ntwo\r\nthree"\r\n'
            b'\r\n'
            b'b@example.org,B,mentor,x\r\n'
            b'c@example.org,"C\nD",mentor,\r\n'
            b'd@example.org,D,mentor,\r\n')
    sheet = read_sheet(data)
    assert [r.line for r in sheet.records] == [2, 6, 7, 9]


@pytest.mark.parametrize("header, key", [
    ("Courriel", "email"), ("E-MAIL", "email"), ("Adresse électronique", "email"),
    ("PRÉNOM", "first_name"), ("Date de naissance :", "birth"), ("Année de naissance", "birth"),
    ("Courriel du parent/tuteur", "guardian_email"), ("courriel du parent / tuteur", "guardian_email"),
    ("Intérêts", "interests"), ("ÉCOLE", "org"), ("Niveau scolaire", "school_level"),
    ("\ufeffRôle", "role"), ("Capacité", "capacity"),
])
def test_headers_in_french_or_english_any_case_or_accents(header: str, key: str) -> None:
    sheet = read_sheet(f"{header};courriel;nom;role\n".encode() if key != "email"
                       else f"{header};nom;role\n".encode())
    assert sheet.columns[key] == header.replace("\ufeff", "").strip()


def test_a_lone_name_column_is_the_whole_name_and_unknown_columns_are_listed() -> None:
    sheet = read_sheet("Nom,Courriel,Rôle,Couleur préférée\nLéa Gagnon,lea@x.org,jeune,bleu\n".encode())
    assert "full_name" in sheet.columns and sheet.ignored == ("Couleur préférée",)
    rows, problems = validate(sheet, Known(orgs={}, people={}, today=TODAY))
    assert not problems and (rows[0].display_name, rows[0].first_name) == ("Léa Gagnon", "Léa")


def test_encodings_and_separators() -> None:
    text = "courriel;prénom;nom;rôle\nzoe@x.org;Zoé;Côté;Élève\n"
    for data, encoding in ((text.encode("utf-8-sig"), "utf-8"), (text.encode("utf-8"), "utf-8"),
                           (text.encode("cp1252"), "windows-1252")):
        sheet = read_sheet(data)
        assert (sheet.encoding, sheet.delimiter) == (encoding, ";")
        assert sheet.records[0].cells["last_name"] == "Côté"
    tabbed = read_sheet(b"email\tname\trole\nx@y.org\tX\tmentor\n")
    assert tabbed.delimiter == "\t"
    hinted = read_sheet(b"sep=;\r\nemail;name;role\r\nx@y.org;X, Y;mentor\r\n")  # Excel's hint line
    assert hinted.delimiter == ";" and [r.line for r in hinted.records] == [3]


@pytest.mark.parametrize("data, code", [(b"", "empty"), (b"  \r\n", "empty"),
                                        (b"name,role\nA,mentor\n", "no_email_column"),
                                        (b"\x00\x01PK", "not_text")])
def test_whole_file_problems(data: bytes, code: str) -> None:
    with pytest.raises(FileProblem) as caught:
        read_sheet(data)
    assert caught.value.code == code


@pytest.mark.parametrize("word, role", [
    ("Mentor", "mentor"), ("mentore", "mentor"), ("MENTORE", "mentor"), ("Bénévole", "mentor"),
    ("Mentoré", "mentee"), ("mentorée", "mentee"), ("Jeune", "mentee"), ("élève", "mentee"),
    ("Étudiant(e)", "mentee"), ("youth", "mentee"), ("parent", None), ("", None),
])
def test_role_words(word: str, role: str | None) -> None:
    assert profile.role_of(word) == role


@pytest.mark.parametrize("text, expected", [
    ("2010-03-14", (date(2010, 3, 14), 2010)), ("14/03/2010", (date(2010, 3, 14), 2010)),
    ("03/14/2010", (date(2010, 3, 14), 2010)), ("2010/3/4", (date(2010, 3, 4), 2010)),
    ("4.3.2010", (date(2010, 3, 4), 2010)), ("2010", (None, 2010)),
])
def test_birth_dates_in_common_formats(text: str, expected: tuple[date | None, int]) -> None:
    assert profile.parse_birth(text, TODAY) == expected


@pytest.mark.parametrize("text", ["31/02/2010", "2027-01-01", "1890", "hier", "14-03-10", "13/13/2010"])
def test_bad_birth_dates(text: str) -> None:
    with pytest.raises(profile.BadDate):
        profile.parse_birth(text, TODAY)


def test_consent_age_counts_a_lone_year_as_the_youngest_possible() -> None:
    assert profile.needs_consent(TODAY, None, 2012, 14)  # born Dec 31, 2012: 13 today
    assert not profile.needs_consent(TODAY, date(2012, 11, 30), 2012, 14)  # 14 today
    assert profile.needs_consent(TODAY, date(2012, 12, 1), 2012, 14)
    assert not profile.needs_consent(TODAY, None, None, 14)
    assert profile.is_minor(TODAY, None, None, True) and not profile.is_minor(TODAY, date(2000, 1, 1), 2000, True)


def test_interests_are_folded_split_and_deduplicated() -> None:
    assert profile.normalize_interests(["Génie civil; SANTÉ, santé | Arts\nGénie  Civil", " ; "]) == [
        "genie civil", "sante", "arts"]
