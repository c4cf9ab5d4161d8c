"""Render the bilingual e-mail templates in templates/email/<name>.<lang>.{subject,txt,html}.j2."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateNotFound,
    select_autoescape,
)

LANGS = ("fr", "en")


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str | None


@lru_cache(maxsize=8)
def _environment(folder: str) -> Environment:
    return Environment(
        loader=FileSystemLoader(folder),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def render_email(templates_dir: Path, name: str, lang: str, **context: Any) -> RenderedEmail:
    env = _environment(str(templates_dir / "email"))
    lang = lang if lang in LANGS else "fr"
    subject = env.get_template(f"{name}.{lang}.subject.j2").render(**context)
    text = env.get_template(f"{name}.{lang}.txt.j2").render(**context)
    try:
        html: str | None = env.get_template(f"{name}.{lang}.html.j2").render(**context)
    except TemplateNotFound:
        html = None
    return RenderedEmail(subject=" ".join(subject.split()), text=text, html=html)
