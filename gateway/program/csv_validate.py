"""Pure validation of spreadsheet records into participant rows and per-line problems (FR and EN)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import EmailNotValidError, validate_email

from gateway.program import profile
from gateway.program.csv_read import Record, Sheet

MAX_NAME = 100
Report = Callable[..., None]  # bad(column key, problem code, **values)
MAX_BIO = 2000
MAX_LEVEL = 60
MAX_CAPACITY = 50

MESSAGES: dict[str, tuple[str, str]] = {
    "email_missing": ("adresse courriel manquante", "e-mail address missing"),
    "email_invalid": ("adresse courriel invalide « {value} » ({detail})",
                      "invalid e-mail address '{value}' ({detail})"),
    "duplicate": ("même adresse que la ligne {other}", "same address as line {other}"),
    "name_missing": ("nom manquant", "name missing"),
    "name_invalid": ("le nom ne peut contenir ni <, >, \", @ ni saut de ligne",
                     "the name may not contain <, >, \", @ or a line break"),
    "role_missing": ("rôle manquant (mentor ou jeune)", "role missing (mentor or mentee)"),
    "role_unknown": ("rôle inconnu « {value} » (mentor, mentore, jeune, élève, mentoré·e…)",
                     "unknown role '{value}' (mentor, mentee, student, youth…)"),
    "lang_unknown": ("langue inconnue « {value} » (fr ou en)", "unknown language '{value}' (fr or en)"),
    "org_unknown": ("organisation inconnue « {value} »", "unknown organization '{value}'"),
    "org_other": ("l'organisation de ce fichier est « {expected} », pas « {value} »",
                  "this file's organization is '{expected}', not '{value}'"),
    "date_invalid": ("date de naissance illisible « {value} » (ex. 2010-03-14, 14/03/2010, 2010)",
                     "unreadable birth date '{value}' (e.g. 2010-03-14, 14/03/2010, 2010)"),
    "guardian_missing": ("moins de {age} ans : le courriel d'un parent ou tuteur est requis",
                         "under {age}: a parent's or guardian's e-mail is required"),
    "guardian_invalid": ("courriel du parent invalide « {value} »",
                         "invalid guardian e-mail '{value}'"),
    "guardian_self": ("le courriel du parent est celui du jeune",
                      "the guardian's e-mail is the participant's own"),
    "capacity_invalid": ("capacité invalide « {value} » (nombre de 1 à 50)",
                         "invalid capacity '{value}' (a number from 1 to 50)"),
    "tz_unknown": ("fuseau horaire inconnu « {value} »", "unknown time zone '{value}'"),
    "too_long": ("texte trop long ({limit} caractères au plus)", "text too long (at most {limit} characters)"),
    "registered_elsewhere": ("déjà inscrit·e dans une autre organisation",
                             "already registered in another organization"),
    "role_change": ("déjà inscrit·e comme {was} ; changer de rôle se fait à la main",
                    "already registered as a {was}; a role change is done by hand"),
}


@dataclass(frozen=True)
class Problem:
    line: int
    column: str | None  # the header as written in the file
    code: str
    values: Mapping[str, object] = field(default_factory=dict)

    def message(self, lang: str) -> str:
        fr, en = MESSAGES[self.code]
        return (fr if lang == "fr" else en).format(**self.values)

    def to_json(self) -> dict[str, object]:
        return {"line": self.line, "column": self.column, "code": self.code,
                "fr": self.message("fr"), "en": self.message("en")}


@dataclass(frozen=True)
class Known:
    """What the database already holds, as plain values (looked up by the edge)."""

    orgs: Mapping[str, str]  # folded name -> name
    people: Mapping[str, tuple[str | None, str]]  # email -> (organization name, role)
    forced_org: str | None = None  # --org / the coordinator's organization
    consent_age: int = 14
    today: date = date(2000, 1, 1)


@dataclass
class Row:
    line: int
    email: str
    display_name: str
    role: str
    first_name: str | None = None
    last_name: str | None = None
    lang: str = "fr"
    org: str | None = None
    time_zone: str | None = None
    birth_date: date | None = None
    birth_year: int | None = None
    school_level: str | None = None
    bio: str | None = None
    capacity: int = 1
    guardian_email: str | None = None
    interests: list[str] = field(default_factory=list)
    needs_consent: bool = False
    minor: bool = False


def checked_address(text: str) -> str:
    """Normalized address (lower-case); raises EmailNotValidError.

    email-validator checks each distinct domain once (a school's 2,000 pupils share one, and the
    domain's IDNA checks are most of the cost); a plain ASCII local part with a domain already
    checked needs nothing more. Anything else goes through the full validation."""
    address = text.strip()
    local, at, domain = address.rpartition("@")
    if at and len(local) <= 64 and _PLAIN_LOCAL.fullmatch(local):
        checked = _checked_domain(domain)
        if checked is not None:
            return f"{local}@{checked}".lower()
    return validate_email(address, check_deliverability=False).normalized.lower()


_PLAIN_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


@lru_cache(maxsize=4096)
def _checked_domain(domain: str) -> str | None:
    try:
        return validate_email(f"postmaster@{domain}", check_deliverability=False).domain
    except EmailNotValidError:
        return None


def validate(sheet: Sheet, known: Known) -> tuple[list[Row], list[Problem]]:
    rows: list[Row] = []
    problems: list[Problem] = []
    first_line: dict[str, int] = {}
    for record in sheet.records:
        row, found = _validate_one(record, sheet.columns, known)
        if row is not None and row.email in first_line:
            found.append(Problem(record.line, sheet.columns["email"], "duplicate",
                                 {"other": first_line[row.email]}))
        elif row is not None:
            first_line[row.email] = record.line
        if found:
            problems.extend(found)
        elif row is not None:
            rows.append(row)
    return rows, problems


def _validate_one(record: Record, columns: Mapping[str, str],
                  known: Known) -> tuple[Row | None, list[Problem]]:
    cells = record.cells
    found: list[Problem] = []

    def bad(key: str, code: str, **values: object) -> None:
        found.append(Problem(record.line, columns.get(key), code, values))

    email = _email(cells.get("email", ""), bad)
    names = _names(cells, bad)
    role = _role(cells.get("role", ""), bad)
    lang = profile.lang_of(cells.get("lang") or "fr")
    if lang is None:
        bad("lang", "lang_unknown", value=cells.get("lang"))
    org = _org(cells.get("org", ""), known, bad)
    born, year = _birth(cells.get("birth", ""), known.today, bad)
    guardian = _guardian(cells.get("guardian_email", ""), email, bad)
    consent = profile.needs_consent(known.today, born, year, known.consent_age)
    if consent and not guardian and not any(p.code.startswith("guardian") for p in found):
        bad("guardian_email" if "guardian_email" in columns else "birth", "guardian_missing",
            age=known.consent_age)
    capacity = _capacity(cells.get("capacity", ""), bad)
    zone = _zone(cells.get("time_zone", ""), bad)
    level = _limited("school_level", cells.get("school_level", ""), MAX_LEVEL, bad)
    bio = _limited("bio", cells.get("bio", ""), MAX_BIO, bad)
    if email and email in known.people and not found:
        was_org, was_role = known.people[email]
        if known.forced_org is not None and was_org != known.forced_org:
            bad("email", "registered_elsewhere")
        elif role and was_role != role:
            bad("role", "role_change", was=was_role)
    if email is None or names is None or role is None or lang is None:
        return None, found
    display, first, last = names
    return Row(
        line=record.line, email=email, display_name=display, first_name=first, last_name=last,
        role=role, lang=lang, org=org, time_zone=zone, birth_date=born, birth_year=year,
        school_level=level, bio=bio, capacity=capacity, guardian_email=guardian,
        interests=profile.normalize_interests([cells.get("interests", "")]),
        needs_consent=consent, minor=profile.is_minor(known.today, born, year, False),
    ), found


def _email(text: str, bad: Report) -> str | None:
    if not text:
        bad("email", "email_missing")
        return None
    try:
        return checked_address(text)
    except EmailNotValidError as exc:
        bad("email", "email_invalid", value=text, detail=str(exc))
        return None


def _names(cells: Mapping[str, str], bad: Report) -> tuple[str, str | None, str | None] | None:
    first = cells.get("first_name") or None
    last = cells.get("last_name") or None
    display = cells.get("full_name") or " ".join(p for p in (first, last) if p)
    key = "first_name" if "first_name" in cells else "full_name"
    if not display:
        bad(key, "name_missing")
        return None
    if any(c in display for c in "\r\n<>\"@") or len(display) > MAX_NAME * 2:
        bad(key, "name_invalid")
        return None
    if first is None and "full_name" in cells:
        first = display.split()[0]
    return display, first, last


def _role(text: str, bad: Report) -> str | None:
    if not text:
        bad("role", "role_missing")
        return None
    role = profile.role_of(text)
    if role is None:
        bad("role", "role_unknown", value=text)
    return role


def _org(text: str, known: Known, bad: Report) -> str | None:
    if not text:
        return known.forced_org
    name = known.orgs.get(profile.fold(text))
    if name is None:
        bad("org", "org_unknown", value=text)
        return None
    if known.forced_org is not None and name != known.forced_org:
        bad("org", "org_other", value=text, expected=known.forced_org)
    return name


def _birth(text: str, today: date, bad: Report) -> tuple[date | None, int | None]:
    if not text:
        return None, None
    try:
        return profile.parse_birth(text, today)
    except profile.BadDate:
        bad("birth", "date_invalid", value=text)
        return None, None


def _guardian(text: str, own: str | None, bad: Report) -> str | None:
    if not text:
        return None
    try:
        address = checked_address(text)
    except EmailNotValidError:
        bad("guardian_email", "guardian_invalid", value=text)
        return None
    if own is not None and address == own:
        bad("guardian_email", "guardian_self")
        return None
    return address


def _capacity(text: str, bad: Report) -> int:
    if not text:
        return 1
    if not text.isdigit() or not 1 <= int(text) <= MAX_CAPACITY:
        bad("capacity", "capacity_invalid", value=text)
        return 1
    return int(text)


def _zone(text: str, bad: Report) -> str | None:
    if not text:
        return None
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        bad("time_zone", "tz_unknown", value=text)
        return None
    return text


def _limited(key: str, text: str, limit: int, bad: Report) -> str | None:
    if len(text) > limit:
        bad(key, "too_long", limit=limit)
        return None
    return text or None
