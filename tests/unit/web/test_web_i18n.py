"""Every word of the page exists in French and English."""

from __future__ import annotations

import re
from pathlib import Path

from gateway.web.i18n import (
    CATALOG,
    COMMON_REASONS,
    lang_from_accept,
    reason_text,
    translate,
)

TEMPLATES = Path(__file__).resolve().parents[3] / "templates" / "web"


def test_every_key_used_by_a_template_is_in_the_catalog() -> None:
    used: set[str] = set()
    for template in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"""\bt\(\s*["']([a-z_]+)["']""", template.read_text()))
    assert used, "templates should use the catalog"
    assert sorted(used - set(CATALOG)) == []


def test_both_languages_are_filled_and_differ_where_it_matters() -> None:
    for key, (french, english) in CATALOG.items():
        assert french.strip() and english.strip(), key
    assert translate("fr", "login") == "Connexion" and translate("en", "login") == "Log in"
    assert translate("en", "held_count", count=3) == "3 held message(s)"


def test_common_reasons_are_given_in_the_senders_language() -> None:
    for key in COMMON_REASONS:
        assert reason_text(key, "fr") != reason_text(key, "en")
    assert reason_text("nope", "fr") is None


def test_accept_language_picks_french_or_english() -> None:
    assert lang_from_accept("en-CA,en;q=0.9,fr;q=0.5") == "en"
    assert lang_from_accept("de-DE, fr-CA;q=0.8") == "fr"
    assert lang_from_accept(None) == "fr"
