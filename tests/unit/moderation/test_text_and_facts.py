"""Reading messages for the rules: HTML to text, links, attachments, and never crashing."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.mail.text import attachments_of, html_to_text, parse_bytes, text_of
from gateway.moderation.chain import evaluate
from gateway.moderation.facts import facts_from_message
from gateway.moderation.rules import RuleSet
from tests.unit.moderation.conftest import facts_of, message_bytes

CORPUS = Path("/work/shared/corpus/mikel-mail")


def test_html_is_rendered_without_scripts_and_styles() -> None:
    html = ("<html><head><style>p{color:red}</style></head><body><p>Bonjour <b>L&eacute;a</b></p>"
            "<script>alert(1)</script><p>Appelle-moi</p></body></html>")
    assert html_to_text(html) == "Bonjour Léa\n\nAppelle-moi"


def test_html_only_message_is_searched_as_text_and_hrefs_are_links() -> None:
    facts = facts_of(html='<p>Mon num&eacute;ro&nbsp;: 514 555 1234</p><a href="https://t.me/jo">x</a>')
    assert "514 555 1234" in facts.text
    assert "https://t.me/jo" in facts.links


def test_attachments_are_decoded_with_their_size() -> None:
    raw = message_bytes("voir pièce jointe", attachments=(("a.pdf", "application/pdf", b"%PDF-1"),))
    [attachment] = attachments_of(parse_bytes(raw))
    assert (attachment.filename, attachment.content_type, attachment.size) == (
        "a.pdf", "application/pdf", 6)
    assert "voir pièce jointe" in text_of(parse_bytes(raw))


@pytest.mark.parametrize("raw", [b"", b"\xff\xfe garbage", b"Subject: =?bad?q?x?=\r\n\r\nhi",
                                 b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n"])
def test_garbage_gives_a_decision_not_an_exception(shipped: RuleSet, raw: bytes) -> None:
    facts = facts_from_message(raw, direction="mentee_to_mentor")
    assert evaluate(shipped, facts).verdict in ("pass", "flag", "hold", "reject")


@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus not available")
def test_every_real_world_message_is_evaluated_without_error(shipped: RuleSet) -> None:
    files = [p for p in CORPUS.rglob("*") if p.is_file() and p.name != "LICENSE"]
    verdicts = {evaluate(shipped, facts_from_message(p.read_bytes(), direction="mentor_to_mentee")
                         ).verdict for p in files}
    assert len(files) > 50 and verdicts <= {"pass", "flag", "hold", "reject"}
