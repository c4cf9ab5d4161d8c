"""French templates speak to participants with "tu" and to staff with "vous", never a mix."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "email"
STAFF = ("moderator_", "moderation_reply_refused", "password_reset", "reminder_escalation")
# "vous" alone may be plural ("toi et X ne vous êtes pas écrit"); the possessives and the
# imperative forms below are the formal singular.
FORMAL = re.compile(r"\b(votre|vos|répondez|écrivez|cliquez|veuillez|pouvez)\b", re.IGNORECASE)
FAMILIAR = re.compile(r"\b(tu|ton|ta|tes|toi|réponds|écris|peux)\b", re.IGNORECASE)


@pytest.mark.parametrize("path", sorted(TEMPLATES.glob("*.fr.*.j2")), ids=lambda p: p.name)
def test_one_form_of_address(path: Path) -> None:
    text = re.sub(r"{[{%#].*?[}%#]}", " ", path.read_text(encoding="utf-8"), flags=re.DOTALL)
    wrong = FAMILIAR if path.name.startswith(STAFF) else FORMAL
    assert not wrong.findall(text), f"{path.name}: {wrong.findall(text)}"
