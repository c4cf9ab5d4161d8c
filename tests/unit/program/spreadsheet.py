"""A school's messy 200-line participant spreadsheet with 20 bad lines, and the report it must give."""

from __future__ import annotations

from dataclasses import dataclass

# Field key -> (French header, English header)
HEADERS = {
    "email": ("Courriel", "E-mail"), "first": ("Prénom", "First name"), "last": ("Nom", "Last name"),
    "role": ("Rôle", "Role"), "lang": ("Langue", "Language"), "org": ("École", "Organization"),
    "birth": ("Date de naissance", "Birth date"), "level": ("Niveau", "School level"),
    "interests": ("Intérêts", "Interests"), "bio": ("Bio", "Bio"),
    "capacity": ("Capacité", "Capacity"), "guardian": ("Courriel du parent/tuteur", "Guardian email"),
    "tz": ("Fuseau horaire", "Time zone"),
}
ORGS = ("École secondaire du Mont-Royal", "Cégep de Sainte-Foy", "Collège Saint-Jean")
# How a spreadsheet spells them: case and accents differ from the database.
ORG_SPELLINGS = ("ecole secondaire du mont-royal", "CÉGEP DE SAINTE-FOY", "Collège Saint-Jean")
FIELDS = ("Génie civil; Santé", "Arts et culture, Informatique", "Droit|Sciences", "Métiers d'art",
          "informatique ; INFORMATIQUE ; Santé")
LEVELS = ("Secondaire 4", "Secondaire 5", "Cégep 1", "Cégep 2")
ROLE_WORDS = {"mentor": ("Mentor", "mentore", "MENTOR"), "mentee": ("Jeune", "élève", "Mentorée", "mentee")}


@dataclass(frozen=True)
class Bad:
    index: int  # record position among the 200 (0-based)
    cells: dict[str, str]
    column: str | None  # field key of the column the report must name
    code: str


def good_record(i: int) -> dict[str, str]:
    role = "mentor" if i % 4 == 0 else "mentee"
    cells = {
        "email": f"Personne.{i}@Ecole{i % 7}.example.org", "first": ("Éloïse", "Zoé", "Noël", "Jean")[i % 4],
        "last": f"Côté-{i}", "role": ROLE_WORDS[role][i % len(ROLE_WORDS[role])],
        "lang": ("fr", "Français", "en", "anglais")[i % 4], "org": ORG_SPELLINGS[i % 3],
        "birth": "", "level": "", "interests": FIELDS[i % len(FIELDS)], "bio": "", "capacity": "",
        "guardian": "", "tz": "America/Toronto" if i % 5 == 0 else "",
    }
    if role == "mentor":
        # A quoted bio over two lines: the next records' line numbers must count it.
        cells["bio"] = f"Ingénieure depuis {i % 20 + 2} ans.\nJ'aime « transmettre »; vraiment." if i % 8 == 0 else ""
        cells["capacity"] = str(i % 5 + 1)
        cells["birth"] = "1985"
    else:
        cells["level"] = LEVELS[i % 4]
        # Several date formats; some under 14 (with a guardian), most over.
        cells["birth"] = ("2010-03-14", "14/03/2009", "2008", "2014-06-01")[i % 4]
        if cells["birth"] == "2014-06-01":
            cells["guardian"] = f"parent.{i}@famille.example.net"
    return cells


BAD: list[Bad] = [
    Bad(5, {"email": "jean.dupont@"}, "email", "email_invalid"),
    Bad(15, {"email": "pas une adresse"}, "email", "email_invalid"),
    Bad(25, {"role": "parent"}, "role", "role_unknown"),
    Bad(35, {"role": "Prof"}, "role", "role_unknown"),
    Bad(45, {"org": "École Inconnue"}, "org", "org_unknown"),
    Bad(55, {"email": "PERSONNE.1@ecole1.example.org"}, "email", "duplicate"),
    Bad(65, {"email": "personne.2@ecole2.example.org"}, "email", "duplicate"),
    Bad(75, {"birth": "31/02/2010"}, "birth", "date_invalid"),
    Bad(85, {"birth": "hier"}, "birth", "date_invalid"),
    Bad(95, {"birth": "2015-01-20", "guardian": ""}, "guardian", "guardian_missing"),
    Bad(105, {"birth": "2014", "guardian": ""}, "guardian", "guardian_missing"),
    Bad(115, {"guardian": "parent@@famille"}, "guardian", "guardian_invalid"),
    Bad(125, {"email": ""}, "email", "email_missing"),
    Bad(135, {"first": "", "last": ""}, "first", "name_missing"),
    Bad(145, {"lang": "espagnol"}, "lang", "lang_unknown"),
    Bad(155, {"capacity": "beaucoup"}, "capacity", "capacity_invalid"),
    Bad(165, {"tz": "Mars/Olympus_Mons"}, "tz", "tz_unknown"),
    Bad(175, {"birth": "2031-01-01"}, "birth", "date_invalid"),
    Bad(185, {"role": ""}, "role", "role_missing"),
    Bad(195, {"email": "self.195@example.org", "guardian": "SELF.195@example.org"}, "guardian",
        "guardian_self"),
]


def records() -> list[dict[str, str]]:
    by_index = {b.index: b for b in BAD}
    out = []
    for i in range(200):
        cells = good_record(i)
        if i in by_index:
            cells.update(by_index[i].cells)
        out.append(cells)
    return out


def _quote(value: str, sep: str) -> str:
    if any(c in value for c in (sep, '"', "\n", ",", ";")):
        return '"' + value.replace('"', '""') + '"'
    return value


def render(lang: int, sep: str, newline: str = "\r\n") -> tuple[str, dict[int, int]]:
    """The file's text, and each record's physical start line (counted here, not by csv)."""
    keys = list(HEADERS)
    lines = [sep.join(HEADERS[k][lang] for k in keys)]
    starts: dict[int, int] = {}
    physical = 1
    for i, cells in enumerate(records()):
        starts[i] = physical + 1
        text = sep.join(_quote(cells[k], sep) for k in keys)
        lines.append(text)
        physical += 1 + text.count("\n")
    return newline.join(lines) + newline, starts


def expected_report(lang: int, starts: dict[int, int]) -> list[tuple[int, str, str]]:
    return sorted((starts[b.index], HEADERS[b.column][lang] if b.column else "", b.code) for b in BAD)
