"""Every reminder e-mail renders in French and English with no missing variable, and HTML stays escaped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from gateway.reminders.rules import DEFAULT_RULES

TEMPLATES = Path(__file__).resolve().parents[3] / "templates" / "email"
NAMES = ("reminder_awaiting_reply", "reminder_silent_pair", "reminder_never_started", "reminder_escalation")
PARTS = ("subject", "txt", "html")
ENV = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html.j2"]),
                  undefined=StrictUndefined)


def participant_context(days: int = 3) -> dict[str, Any]:
    return {"recipient_name": "Léa", "partner_name": "Sam <b>O'Neil</b> & co",
            "partner_alias": "sam.k7@relay.example.org", "program_name": "Academos", "days": days,
            "unsubscribe_url": "https://gw.example.org/u?t=abc&lang=fr"}


def escalation_context(days: int = 10) -> dict[str, Any]:
    # Only what the escalation has; a participant-only variable used by mistake would fail here.
    return {"recipient_name": "Chantal", "program_name": "Academos", "pair_id": 42,
            "mentor_name": "Sam <b>O'Neil</b>", "mentee_name": "Léa", "days": days}


def render(name: str, lang: str, part: str, context: dict[str, Any]) -> str:
    return ENV.get_template(f"{name}.{lang}.{part}.j2").render(**context)


def context_for(name: str, days: int) -> dict[str, Any]:
    return escalation_context(days) if name == "reminder_escalation" else participant_context(days)


def test_every_default_rule_template_exists_in_both_languages() -> None:
    for name in {r.template for r in DEFAULT_RULES} | {"reminder_escalation"}:
        for lang in ("fr", "en"):
            for part in PARTS:
                assert (TEMPLATES / f"{name}.{lang}.{part}.j2").is_file(), f"{name}.{lang}.{part}.j2"


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize("days", [0, 1, 3, 14])
def test_renders_with_every_variable_defined(name: str, lang: str, days: int) -> None:
    context = context_for(name, days)
    subject, text, html = (render(name, lang, part, context) for part in PARTS)
    assert subject.strip() and "\n" not in subject.strip()
    assert "Léa" in text or "Chantal" in text
    for body in (text, html):
        assert "{{" not in body and "{%" not in body
    if days > 1:
        assert str(days) in text
    else:
        assert " 0 " not in text and "1 days" not in text and "1 jours" not in text


@pytest.mark.parametrize("name", NAMES[:3])
@pytest.mark.parametrize("lang", ["fr", "en"])
def test_participant_mail_gives_the_alias_and_a_way_to_unsubscribe(name: str, lang: str) -> None:
    context = participant_context()
    text, html = render(name, lang, "txt", context), render(name, lang, "html", context)
    assert "sam.k7@relay.example.org" in text and 'href="mailto:sam.k7@relay.example.org"' in html
    assert "https://gw.example.org/u?t=abc&lang=fr" in text
    assert 'href="https://gw.example.org/u?t=abc&amp;lang=fr"' in html


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("lang", ["fr", "en"])
def test_names_cannot_inject_html(name: str, lang: str) -> None:
    html = render(name, lang, "html", context_for(name, 3))
    assert "<b>O" not in html
    assert "&lt;b&gt;O&#39;Neil&lt;/b&gt;" in html


def test_escalation_names_the_pair_and_both_participants() -> None:
    for lang in ("fr", "en"):
        text = render("reminder_escalation", lang, "txt", escalation_context())
        assert "42" in text and "Sam <b>O'Neil</b>" in text and "Léa" in text and "10" in text


def test_french_reminders_say_tu_and_english_ones_do_not_mix_languages() -> None:
    french = render("reminder_awaiting_reply", "fr", "txt", participant_context())
    english = render("reminder_awaiting_reply", "en", "txt", participant_context())
    assert "t'a écrit" in french and "Bonjour" in french
    assert "Hello" in english and "Bonjour" not in english
