"""Mission files (templates/missions/*.toml): parsed and checked, errors naming the file and key."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from gateway.durations import parse_duration
from gateway.errors import GatewayError

LANGS = ("fr", "en")
NAME = re.compile(r"^[a-z0-9_]{1,40}$")


class MissionError(GatewayError):
    """A mission file that cannot be used, named with its key."""


@dataclass(frozen=True)
class Mission:
    name: str
    send_after: timedelta  # after the pair was created
    window: timedelta  # both sides write within this long after it is sent: completed
    title: dict[str, str]
    prompt: dict[str, str]


def parse_mission(path: Path, text: str) -> Mission:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MissionError(f"{path}: not valid TOML: {exc}") from exc
    name = data.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        raise MissionError(f"{path}: 'name' must be lowercase letters, digits and _ (got {name!r})")
    durations = {}
    for key in ("send_after", "window"):
        try:
            durations[key] = parse_duration(data.get(key))
        except ValueError as exc:
            raise MissionError(f"{path}: '{key}': {exc}") from exc
    title: dict[str, str] = {}
    prompt: dict[str, str] = {}
    for lang in LANGS:
        section = data.get(lang)
        if not isinstance(section, dict):
            raise MissionError(f"{path}: a [{lang}] table with title and prompt is required")
        for key, into in (("title", title), ("prompt", prompt)):
            value = section.get(key)
            if not isinstance(value, str) or not value.strip():
                raise MissionError(f"{path}: '{lang}.{key}' must be a non-empty string")
            into[lang] = value.strip()
    return Mission(name, durations["send_after"], durations["window"], title, prompt)


def load_missions(folder: Path) -> tuple[Mission, ...]:
    """Every *.toml in `folder`, in file-name order; a missing folder means no missions."""
    if not folder.is_dir():
        return ()
    missions = [parse_mission(path, path.read_text(encoding="utf-8"))
                for path in sorted(folder.glob("*.toml"))]
    names = [m.name for m in missions]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise MissionError(f"{folder}: two missions are named {', '.join(duplicates)}")
    return tuple(missions)
