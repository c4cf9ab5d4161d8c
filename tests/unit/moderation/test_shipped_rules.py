"""The other shipped rules: links, grooming, profanity, executables, big files, first message."""

from __future__ import annotations

import io
import zipfile

import pytest

from gateway.moderation.rules import RuleSet
from tests.unit.moderation.conftest import decide, hits_of


def zip_of(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, b"content")
    return buffer.getvalue()


def test_shipped_folder_loads_all_rules(shipped: RuleSet) -> None:
    assert {r.name for r in shipped.rules} == {
        "contact_details", "executables", "first_message", "large_attachment",
        "private_details_in_file", "profanity", "safety_channel", "safety_contact",
        "safety_gifts", "safety_meeting", "safety_personal", "safety_secrecy", "safety_sexual",
        "social_links", "unchecked_text", "unreadable_part"}


@pytest.mark.parametrize("text", [
    "Mon profil: https://www.instagram.com/jo_b",
    "Rejoins le serveur discord.gg/abc123",
    "Écris-moi sur wa.me/15145551234",
])
def test_social_and_messaging_links_in_text_are_held(shipped: RuleSet, text: str) -> None:
    assert hits_of(shipped, "social_links", text)
    assert decide(shipped, text).verdict == "hold"


def test_social_link_hidden_in_an_html_href_is_held(shipped: RuleSet) -> None:
    html = '<p>Regarde <a href="https://m.facebook.com/jo">ceci</a></p>'
    assert hits_of(shipped, "social_links", html=html) == ["https://m.facebook.com/jo"]


@pytest.mark.parametrize("text", [
    "Voici un article: https://fr.wikipedia.org/wiki/Volcan",
    "Look at https://notinstagram.com.example.net/page",
    "Mon courriel d'école est jo@instagram-fans.org? Non.",
])
def test_other_links_are_not_social_links(shipped: RuleSet, text: str) -> None:
    assert hits_of(shipped, "social_links", text) == []


@pytest.mark.parametrize(("rule", "text"), [
    ("safety_secrecy", "Ne le dis pas à tes parents, d'accord?"),
    ("safety_secrecy", "NE LE DIS PAS A TES PARENTS"),
    ("safety_secrecy", "Don’t tell your parents about this."),
    ("safety_secrecy", "Ce sera notre petit secret."),
    ("safety_meeting", "On pourrait se voir samedi?"),
    ("safety_meeting", "You could come over after school."),
    ("safety_secrecy", "It's our little secret."),
])
def test_grooming_phrases_are_held_in_both_languages(shipped: RuleSet, rule: str,
                                                     text: str) -> None:
    assert hits_of(shipped, rule, text)
    assert decide(shipped, text).verdict == "hold"


@pytest.mark.parametrize("text", [
    "Tu peux en parler à tes parents, c'est une bonne idée.",
    "Tell your parents about the science fair!",
    "Le secret d'un bon exposé, c'est la préparation.",
    "We could meetings schedule... no, overcome it together.",
])
def test_ordinary_talk_about_parents_and_secrets_passes(shipped: RuleSet, text: str) -> None:
    assert decide(shipped, text).verdict == "pass"


@pytest.mark.parametrize("text", [
    "Use a pencil instead of a pen for the sketch.",
    "The moderators will answer your question about the program.",
    "I deleted your message by mistake, can you resend it?",
    "Garde tes coordonnées pour toi, c'est plus prudent.",
    "Please do not share your personal phone number here.",
    "Installe Python 3.11.7 pour le cours.",
    "My kids are home alone after school, so I leave at 3:30.",
    "Let's meet our goal: one application sent by Friday.",
    "Sex ed is part of the curriculum, ask your teacher.",
])
def test_safety_advice_and_ordinary_sentences_pass(shipped: RuleSet, text: str) -> None:
    assert decide(shipped, text).hits == ()


@pytest.mark.parametrize("text", ["Quelle merde ce devoir", "T'es un connard", "this is bullshit",
                                  "What the fuck", "fucking homework", "Tabarnak!"])
def test_profanity_is_held(shipped: RuleSet, text: str) -> None:
    assert hits_of(shipped, "profanity", text)


@pytest.mark.parametrize("text", ["Le Shihtzu de ma tante", "Je suis contente", "Scunthorpe",
                                  "Passe-moi le conseil", "I love Dickens"])
def test_words_containing_swear_words_pass(shipped: RuleSet, text: str) -> None:
    assert hits_of(shipped, "profanity", text) == []


@pytest.mark.parametrize("name", ["jeu.exe", "SETUP.MSI", "script.js", "app.apk", "run.ps1"])
def test_executables_are_rejected(shipped: RuleSet, name: str) -> None:
    decision = decide(shipped, "voici", attachments=((name, "application/octet-stream", b"MZ"),))
    assert decision.verdict == "reject"
    assert [h.evidence for h in decision.hits if h.rule == "executables"] == [name]


def test_executable_inside_a_zip_even_nested_is_rejected(shipped: RuleSet) -> None:
    inner = zip_of("readme.txt", "virus.scr")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("photos/chat.jpg", b"jpeg")
        archive.writestr("more.zip", inner)
    decision = decide(shipped, "photos", attachments=(
        ("photos.zip", "application/zip", buffer.getvalue()),))
    assert decision.verdict == "reject"
    assert [h.evidence for h in decision.hits if h.rule == "executables"] == [
        "photos.zip/more.zip/virus.scr"]


@pytest.mark.parametrize("payload", [b"PK\x03\x04 not really a zip", b"PK\x03\x04" + b"\0" * 50])
def test_broken_zip_does_not_crash(shipped: RuleSet, payload: bytes) -> None:
    decision = decide(shipped, "bonjour", attachments=(("a.zip", "application/zip", payload),))
    assert decision.verdict == "pass"


def test_documents_and_images_pass(shipped: RuleSet) -> None:
    decision = decide(shipped, "mon devoir", attachments=(
        ("devoir.pdf", "application/pdf", b"%PDF"), ("chat.jpg", "image/jpeg", b"jpeg"),
        ("notes.zip", "application/zip", zip_of("a.docx", "b.png"))))
    assert decision.verdict == "pass"


def test_attachment_over_ten_megabytes_is_rejected_with_a_friendly_reason(
        shipped: RuleSet) -> None:
    big = b"x" * (10 * 1024 * 1024 + 1)
    decision = decide(shipped, "vidéo", attachments=(("video.mp4", "video/mp4", big),))
    assert decision.verdict == "reject"
    hit = next(h for h in decision.hits if h.rule == "large_attachment")
    assert "10 Mo" in hit.reason_fr and "10 MB" in hit.reason_en
    small = decide(shipped, "vidéo", attachments=(("video.mp4", "video/mp4", b"x" * 1000),))
    assert small.verdict == "pass"


def test_first_message_of_a_pair_is_held_and_later_ones_pass(shipped: RuleSet) -> None:
    assert decide(shipped, "Bonjour, je suis ta mentore!", first_message=True).verdict == "hold"
    assert decide(shipped, "Bonjour, je suis ta mentore!", first_message=False).verdict == "pass"
