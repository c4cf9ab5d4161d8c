"""Pure reading of a school's participant spreadsheet: bytes -> encoding, delimiter, header map, records.

No database, no files: the caller passes the bytes. Line numbers are the PHYSICAL line where a
record starts in the file (line 1 is the header), the number a coordinator sees when opening the
file in a text editor; a quoted cell holding line breaks makes its record span several lines,
and the next record's number counts them.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass

from gateway.program.profile import fold

# Every header a school export uses, folded (lower-case, no accents, single spaces).
HEADERS: dict[str, tuple[str, ...]] = {
    "email": ("courriel", "email", "e-mail", "mail", "adresse courriel", "adresse electronique",
              "adresse e-mail", "email address", "courriel de l'eleve", "courriel eleve"),
    "first_name": ("prenom", "first name", "firstname", "given name", "prenom de l'eleve"),
    "last_name": ("nom", "name", "last name", "lastname", "surname", "family name",
                  "nom de famille"),
    "full_name": ("nom complet", "full name", "display name", "nom affiche"),
    "role": ("role", "type", "statut", "type de participant", "participant type"),
    "lang": ("langue", "language", "lang", "langue de communication"),
    "org": ("ecole", "organisation", "organization", "organisme", "school", "etablissement",
            "organisation / ecole"),
    "birth": ("date de naissance", "birth date", "birthdate", "date of birth", "naissance", "dob",
              "annee de naissance", "birth year", "ddn"),
    "school_level": ("niveau", "school level", "niveau scolaire", "grade", "level",
                     "niveau d'etudes", "annee scolaire"),
    "interests": ("interets", "interests", "centres d'interet", "champs d'interet",
                  "domaines", "domaines d'interet", "career interests", "fields", "secteurs"),
    "bio": ("bio", "biographie", "presentation", "a propos", "about"),
    "capacity": ("capacite", "capacity", "nombre de jeunes", "max mentees", "jeunes max"),
    "guardian_email": ("courriel du parent", "courriel du tuteur", "courriel du parent/tuteur",
                       "courriel parent/tuteur", "courriel parent", "courriel du parent ou tuteur",
                       "parent email", "guardian email", "parent/guardian email",
                       "courriel du responsable", "tuteur"),
    "time_zone": ("fuseau horaire", "time zone", "timezone", "fuseau"),
}
_LOOKUP = {alias: key for key, aliases in HEADERS.items() for alias in aliases}
_PUNCT = re.compile(r"[\s:*_]+")
_SEP_LINE = re.compile(r"sep=([,;\t|])\r?\n")


class FileProblem(ValueError):
    """The whole file cannot be read (no header, no address column, not text)."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class Record:
    line: int  # the physical line where this record starts
    cells: dict[str, str]  # field key -> raw text


@dataclass(frozen=True)
class Sheet:
    encoding: str
    delimiter: str
    columns: dict[str, str]  # field key -> the header as written in the file
    ignored: tuple[str, ...]  # headers we do not know (reported, never guessed)
    records: tuple[Record, ...]


def decode(data: bytes) -> tuple[str, str]:
    """UTF-8 (with or without BOM) first, since it almost never decodes text that is not UTF-8;
    else Windows-1252, what French Excel writes; latin-1 maps the 5 bytes cp1252 leaves undefined."""
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "windows-1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def header_key(header: str) -> str | None:
    folded = _PUNCT.sub(" ", fold(header.replace("\ufeff", ""))).strip()
    return _LOOKUP.get(folded) or _LOOKUP.get(folded.replace(" / ", "/"))


def sniff_delimiter(text: str) -> str:
    first = text.split("\n", 1)[0]
    try:
        found = csv.Sniffer().sniff(first, delimiters=",;\t").delimiter
    except csv.Error:
        found = ""
    if found in (",", ";", "\t"):
        return found
    # The header alone decides: the separator it uses most.
    return max((";", ",", "\t"), key=first.count)


def read_sheet(data: bytes) -> Sheet:
    if b"\x00" in data[:4096]:
        raise FileProblem("not_text")
    text, encoding = decode(data)
    if not text.strip():
        raise FileProblem("empty")
    excel_hint = _SEP_LINE.match(text)  # Excel's "sep=;" first line names the separator
    delimiter = excel_hint.group(1) if excel_hint else sniff_delimiter(text)
    rows = _physical_rows(text, delimiter)
    try:
        if excel_hint:
            next(rows)
        _, header = next(rows)
    except StopIteration as exc:
        raise FileProblem("empty") from exc
    except csv.Error as exc:
        raise FileProblem("unreadable", str(exc)) from exc
    columns: dict[str, str] = {}
    positions: dict[int, str] = {}
    ignored: list[str] = []
    for index, name in enumerate(header):
        key = header_key(name)
        if key is None or key in columns:
            if name.strip():
                ignored.append(name.strip())
            continue
        columns[key] = name.strip()
        positions[index] = key
    if "first_name" not in columns and "last_name" in columns and "full_name" not in columns:
        # A lone "nom"/"name" column holds the whole name.
        columns["full_name"] = columns.pop("last_name")
        positions = {i: ("full_name" if k == "last_name" else k) for i, k in positions.items()}
    if "email" not in columns:
        raise FileProblem("no_email_column", ", ".join(h.strip() for h in header))
    records: list[Record] = []
    try:
        for line, row in rows:
            if not any(cell.strip() for cell in row):
                continue
            cells = {key: row[i].strip() for i, key in positions.items() if i < len(row)}
            records.append(Record(line, cells))
    except csv.Error as exc:
        raise FileProblem("unreadable", str(exc)) from exc
    return Sheet(encoding, delimiter, columns, tuple(ignored), tuple(records))


def _physical_rows(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    end = 0
    for row in reader:
        start = end + 1
        end = reader.line_num
        yield start, row
