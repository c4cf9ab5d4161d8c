"""French templates speak to participants with "tu" and to staff with "vous", never a mix."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "email"
STAFF = ("moderator_", "moderation_reply_refused", "password_reset", "reminder_escalation",
         "weekly_digest", "consent_")  # staff, and guardians (consent): adults, "vous"
# "vous" alone may be plural ("toi et X ne vous êtes pas écrit"); the possessives and the
# imperative forms below are the formal singular.
FORMAL = re.compile(r"\b(votre|vos|répondez|écrivez|cliquez|veuillez|pouvez)\b", re.IGNORECASE)
FAMILIAR = re.compile(r"\b(tu|ton|ta|tes|toi|réponds|écris|peux)\b", re.IGNORECASE)


@pytest.mark.parametrize("path", sorted(TEMPLATES.glob("*.fr.*.j2")), ids=lambda p: p.name)
def test_one_form_of_address(path: Path) -> None:
    text = re.sub(r"{[{%#].*?[}%#]}", " ", path.read_text(encoding="utf-8"), flags=re.DOTALL)
    if path.name.startswith(STAFF):
        assert not FAMILIAR.findall(text), f"{path.name}: {FAMILIAR.findall(text)}"
        return
    # "X et toi avez eu votre premier échange": a sentence speaking to the pair is plural.
    singular = " ".join(part for part in re.split(r"[.!?\n]", text) if "toi" not in part.lower())
    assert not FORMAL.findall(singular), f"{path.name}: {FORMAL.findall(singular)}"
