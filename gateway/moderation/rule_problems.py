"""Collect the problems of one rule file, each naming the file, the key and its line."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any


def line_of(source: str, key: str) -> int:
    """The 1-based line where `key` ("action", "match.pattern", "match") is set in a TOML text."""
    table, _, name = key.rpartition(".")
    current = ""
    table_line = 0
    for number, line in enumerate(source.splitlines(), start=1):
        header = re.match(r"\s*\[\s*([^\]]+?)\s*\]", line)
        if header:
            current = header.group(1).strip("\"'")
            if current == (table or name):
                table_line = number
            continue
        assignment = re.match(r"\s*([\w.\"'-]+)\s*=", line)
        if not assignment:
            continue
        target = assignment.group(1).replace('"', "").replace("'", "")
        if (current == table and target == name) or (not current and target == key):
            return number
    return table_line or 1


class Problems:
    def __init__(self, path: Path, source: str) -> None:
        self.path, self.source = path, source
        self.messages: list[str] = []

    def add(self, key: str, what: str, line: int | None = None) -> None:
        where = line if line is not None else line_of(self.source, key)
        self.messages.append(f"{self.path}: key '{key}' (line {where}): {what}")


def string_list(data: dict[str, Any], key: str, problems: Problems,
                prefix: str = "match.") -> list[str]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        problems.add(f"{prefix}{key}", "must be a list of non-empty strings")
        return []
    return value
