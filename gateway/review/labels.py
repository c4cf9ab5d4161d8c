"""Rule labels in French and English, for the people who read why a message was held."""

from __future__ import annotations

# Labels of the shipped rules; a rule not listed here shows its `description` (or its id).
RULE_LABELS: dict[str, tuple[str, str]] = {
    "contact_details": ("Coordonnées personnelles", "Contact details"),
    "first_message": ("Premier message du jumelage", "First message of the pair"),
    "grooming": ("Rencontre ou secret proposé", "Meeting or secret suggested"),
    "profanity": ("Mots grossiers", "Offensive language"),
    "social_links": ("Lien vers un réseau social", "Social network link"),
    "executables": ("Programme ou script joint", "Program or script attached"),
    "large_attachment": ("Pièce jointe trop lourde", "Attachment too large"),
    "unreadable": ("Contenu illisible", "Unreadable content"),
    # The safety rules (issue 10) under the names they ship with.
    "safety_channel": ("Changer de canal (applis, textos, jeux)", "Moving to another channel"),
    "safety_contact": ("Coordonnées données ou demandées", "Contact details given or asked for"),
    "safety_gifts": ("Cadeaux ou argent", "Gifts or money"),
    "safety_meeting": ("Rencontre, visite ou transport", "Meeting, visit or ride"),
    "safety_personal": ("Questions personnelles", "Personal questions"),
    "safety_secrecy": ("Secret envers les parents", "Secrecy from parents"),
    "safety_sexual": ("Contenu sexuel", "Sexual content"),
}


def rule_label(lang: str, name: str, description: str | None = None) -> str:
    """A rule's name as a person reads it, in their language; its description, else its id."""
    pair = RULE_LABELS.get(name)
    if pair is not None:
        return pair[1] if lang == "en" else pair[0]
    return description or name
