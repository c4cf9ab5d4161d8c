"""Load and validate the career-field taxonomy (shipped TOML plus an optional operator file)."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from gateway.errors import GatewayError

FIELD_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,47}$")
SHIPPED = "taxonomy.toml"


class TaxonomyError(GatewayError):
    """The taxonomy file is invalid; each problem names the file, the line and the key."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Category:
    id: str
    noc: str
    fr: str
    en: str


@dataclass(frozen=True)
class Field:
    id: str
    category: str
    fr: str
    en: str
    synonyms: tuple[str, ...] = ()

    def label(self, language: str) -> str:
        return self.fr if language == "fr" else self.en


@dataclass(frozen=True)
class Taxonomy:
    categories: dict[str, Category]
    fields: dict[str, Field] = field(default_factory=dict)

    def label(self, field_id: str, language: str) -> str:
        known = self.fields.get(field_id)
        return known.label(language) if known else field_id


def load_taxonomy(operator_file: str | Path | None = None) -> Taxonomy:
    """The shipped taxonomy, extended by the operator's file when one is configured."""
    shipped = resources.files("gateway.matching").joinpath(SHIPPED).read_text("utf-8")
    builder = _Builder()
    builder.read(f"gateway/matching/{SHIPPED}", shipped, extending=False)
    if operator_file:
        path = Path(operator_file)
        try:
            text = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise TaxonomyError([f"{path}: line 1: key '-': cannot be read: {error}"]) from None
        builder.read(str(path), text, extending=True)
    return builder.finish()


def parse_taxonomy(name: str, text: str) -> Taxonomy:
    """One taxonomy text on its own (tests and `check` commands)."""
    builder = _Builder()
    builder.read(name, text, extending=False)
    return builder.finish()


class _Builder:
    def __init__(self) -> None:
        self.categories: dict[str, Category] = {}
        self.fields: dict[str, Field] = {}
        self.problems: list[str] = []
        self.synonym_owner: dict[str, tuple[str, str]] = {}

    def read(self, name: str, text: str, *, extending: bool) -> None:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            found = re.search(r"line (\d+)", str(error))
            self.problems.append(f"{name}: line {found.group(1) if found else 1}: "
                                 f"key '-': TOML syntax error: {error}")
            return
        spot = _Spotter(name, text)
        for key in sorted(set(data) - {"version", "category", "field"}):
            self.problems.append(spot.at(None, 0, key, "unknown key (expected version, "
                                                       "[[category]], [[field]])"))
        for index, raw in enumerate(_tables(data, "category", spot, self.problems)):
            self._category(raw, index, spot)
        for index, raw in enumerate(_tables(data, "field", spot, self.problems)):
            self._field(raw, index, spot, extending=extending)

    def _category(self, raw: dict[str, Any], index: int, spot: _Spotter) -> None:
        values = _strings(raw, ("id", "noc", "fr", "en"), spot, "category", index, self.problems)
        if values is None:
            return
        if not FIELD_ID.match(values["id"]):
            self.problems.append(spot.at("category", index, "id", "use a-z, 0-9 and '-'"))
        elif values["id"] in self.categories:
            self.problems.append(spot.at("category", index, "id",
                                         f"category '{values['id']}' is defined twice"))
        else:
            self.categories[values["id"]] = Category(**values)

    def _field(self, raw: dict[str, Any], index: int, spot: _Spotter, *, extending: bool) -> None:
        field_id = raw.get("id")
        synonyms = _synonyms(raw, spot, index, self.problems)
        if extending and isinstance(field_id, str) and field_id in self.fields and \
                set(raw) <= {"id", "synonyms"}:
            old = self.fields[field_id]
            self._claim(synonyms, field_id, spot, index)
            self.fields[field_id] = Field(old.id, old.category, old.fr, old.en,
                                          old.synonyms + synonyms)
            return
        unknown = sorted(set(raw) - {"id", "category", "fr", "en", "synonyms"})
        for key in unknown:
            self.problems.append(spot.at("field", index, key, "unknown key"))
        values = _strings(raw, ("id", "category", "fr", "en"), spot, "field", index,
                          self.problems)
        if values is None:
            return
        if not FIELD_ID.match(values["id"]):
            self.problems.append(spot.at("field", index, "id",
                                         f"'{values['id']}': use 2-48 of a-z, 0-9 and '-'"))
            return
        if values["id"] in self.fields:
            self.problems.append(spot.at("field", index, "id", f"field '{values['id']}' is "
                                         "defined twice (to add synonyms, give only id and "
                                         "synonyms)"))
            return
        if values["category"] not in self.categories:
            self.problems.append(spot.at("field", index, "category",
                                         f"unknown category '{values['category']}'"))
            return
        self._claim(synonyms + (values["fr"], values["en"]), values["id"], spot, index)
        self.fields[values["id"]] = Field(synonyms=synonyms, **values)

    def _claim(self, words: Iterable[str], field_id: str, spot: _Spotter, index: int) -> None:
        """A synonym may point to one field only: an ambiguous word would match at random."""
        from gateway.matching.fold import fold

        for word in words:
            key = fold(word)
            if not key:
                self.problems.append(spot.at("field", index, "synonyms",
                                             f"'{word}' has no letters or digits"))
                continue
            owner = self.synonym_owner.setdefault(key, (field_id, spot.name))
            if owner[0] != field_id:
                self.problems.append(spot.at("field", index, "synonyms", f"'{word}' already "
                                             f"means field '{owner[0]}' ({owner[1]})"))

    def finish(self) -> Taxonomy:
        if self.problems:
            raise TaxonomyError(self.problems)
        return Taxonomy(categories=dict(self.categories), fields=dict(self.fields))


def _tables(data: dict[str, Any], name: str, spot: _Spotter,
            problems: list[str]) -> list[dict[str, Any]]:
    value = data.get(name, [])
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        problems.append(spot.at(None, 0, name, f"write each one as a [[{name}]] table"))
        return []
    return value


def _strings(raw: dict[str, Any], keys: tuple[str, ...], spot: _Spotter, table: str,
             index: int, problems: list[str]) -> dict[str, str] | None:
    values: dict[str, str] = {}
    for key in keys:
        value = raw.get(key)
        if not isinstance(value, str) or not value.strip():
            what = "is missing" if value is None else "must be a non-empty string"
            problems.append(spot.at(table, index, key, what))
        else:
            values[key] = value.strip()
    return values if len(values) == len(keys) else None


def _synonyms(raw: dict[str, Any], spot: _Spotter, index: int,
              problems: list[str]) -> tuple[str, ...]:
    value = raw.get("synonyms", [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.append(spot.at("field", index, "synonyms", "must be a list of strings"))
        return ()
    return tuple(v.strip() for v in value)


class _Spotter:
    """Finds the line of a key inside the N-th [[table]] of a TOML text (tomllib gives none)."""

    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self.lines = text.splitlines()

    def at(self, table: str | None, index: int, key: str, what: str) -> str:
        return f"{self.name}: line {self._line(table, index, key)}: key '{key}': {what}"

    def _line(self, table: str | None, index: int, key: str) -> int:
        start, seen = 0, -1
        if table is not None:
            for number, raw in enumerate(self.lines):
                if re.match(rf"\s*\[\[\s*{table}\s*\]\]", raw):
                    seen += 1
                    if seen == index:
                        start = number
                        break
        for number in range(start, len(self.lines)):
            raw = self.lines[number]
            if number > start and table is not None and re.match(r"\s*\[", raw):
                break
            if re.match(rf"\s*{re.escape(key)}\s*=", raw):
                return number + 1
        return start + 1
