"""What a moderator sees of a message: escaped text, highlighted evidence, HTML with nothing active."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

from gateway.mail.text import first_line
from gateway.web.i18n import translator
from gateway.web.render import (
    age_label,
    frame_document,
    highlight,
    mime_summary,
    sanitize_html,
)


def test_evidence_is_marked_and_the_rest_escaped() -> None:
    text = "Appelle-moi <vite> au 514-555-1234 !"
    start = text.index("514")
    hits = [{"field": "text", "start": start, "end": start + 12, "evidence": "514-555-1234"}]
    html = str(highlight(text, hits))
    assert "<mark>514-555-1234</mark>" in html
    assert "&lt;vite&gt;" in html and "<vite>" not in html


def test_offsets_that_do_not_fit_fall_back_to_finding_the_evidence() -> None:
    hits = [{"field": "text", "start": 500, "end": 510, "evidence": "snap"}]
    assert str(highlight("ajoute-moi sur snap", hits)) == "ajoute-moi sur <mark>snap</mark>"


def test_overlapping_spans_give_one_mark_and_other_fields_are_ignored() -> None:
    hits = [{"field": "text", "start": 0, "end": 5, "evidence": "abcde"},
            {"field": "text", "start": 3, "end": 8, "evidence": "defgh"},
            {"field": "subject", "start": 0, "end": 2, "evidence": "ab"}]
    assert str(highlight("abcdefghij", hits)) == "<mark>abcdefgh</mark>ij"


def test_a_subject_with_markup_stays_text() -> None:
    assert str(highlight("<img src=x onerror=alert(1)>", [], "subject")) == \
        "&lt;img src=x onerror=alert(1)&gt;"


def test_sanitizer_drops_scripts_handlers_and_remote_images_but_keeps_inline_images() -> None:
    dirty = ('<p onclick="steal()">Salut<script>window.pwned=1</script>'
             '<img src="http://127.0.0.1:9/track.png"><img src="data:image/png;base64,AAAA">'
             '<iframe src="http://evil.example"></iframe><a href="javascript:alert(1)">x</a></p>')
    clean = sanitize_html(dirty)
    assert "script" not in clean and "onclick" not in clean and "pwned" not in clean
    assert "127.0.0.1" not in clean and "iframe" not in clean and "javascript:" not in clean
    assert 'src="data:image/png;base64,AAAA"' in clean


def test_frame_document_carries_a_policy_refusing_remote_content() -> None:
    doc = frame_document("<p>x</p>")
    assert "default-src 'none'" in doc and "img-src data:" in doc and "<p>x</p>" in doc


def _multipart() -> bytes:
    msg = EmailMessage()
    msg["From"] = "jeune@example.net"
    msg["Subject"] = "Devoir"
    msg.set_content("Voici mon devoir.")
    msg.add_alternative("<p>Voici <b>mon</b> devoir.</p>", subtype="html")
    msg.add_attachment(b"%PDF-1.4 fake", maintype="application", subtype="pdf",
                       filename="devoir.pdf")
    return msg.as_bytes()


def test_mime_summary_lists_headers_html_and_attachments() -> None:
    summary = mime_summary(_multipart())
    assert ("Subject", "Devoir") in summary.headers
    assert summary.html is not None and "<b>mon</b>" in summary.html
    assert [(a.filename, a.content_type, a.size) for a in summary.attachments] == \
        [("devoir.pdf", "application/pdf", 13)]


def test_mime_summary_never_raises_on_garbage() -> None:
    summary = mime_summary(b"\xff\xfe\x00garbage\r\n\r\n--" * 50)
    assert summary.attachments == []


def test_first_line_skips_blank_and_quoted_lines() -> None:
    assert first_line("\n\n> cité\n  Bonjour Léa  \nsuite") == "Bonjour Léa"
    assert first_line("x" * 300).endswith("…") and len(first_line("x" * 300)) == 120


def test_age_is_shown_in_the_reader_language() -> None:
    now = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
    assert age_label(now, now - timedelta(minutes=7), translator("fr")) == "7 min"
    assert age_label(now, now - timedelta(hours=5), translator("en")) == "5 h"
    assert age_label(now, now - timedelta(days=3), translator("fr")) == "3 j"
    assert age_label(now, now - timedelta(days=3), translator("en")) == "3 d"


def test_raw_8bit_headers_are_decoded_not_crashing() -> None:
    raw = "From: Marie-Ève <m@example.com>\r\nSubject: Déjà\r\n\r\nx\r\n".encode()
    summary = mime_summary(raw + b"\xff")
    values = dict(summary.headers)
    assert values["From"] == "Marie-Ève <m@example.com>" and values["Subject"] == "Déjà"
    assert all(value.encode("utf-8") for value in values.values())
