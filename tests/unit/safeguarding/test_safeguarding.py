"""The pure parts of the report channel: the keyword, our ids in a forwarded copy, the footer."""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from gateway.mail.footer import append_footer
from gateway.safeguarding.footer import footer_html, footer_text
from gateway.safeguarding.forwarded import aliases_in, gateway_ids_in
from gateway.safeguarding.keyword import is_report, is_report_text


@pytest.mark.parametrize(("subject", "body"), [
    ("Bonjour", "SIGNALER je suis mal à l'aise"),
    ("Bonjour", "signaler"),
    ("Bonjour", "  \n\n«Signaler» stp"),
    ("Bonjour", "*SIGNALÉR* aide"),  # accents optional
    ("Bonjour", "Signalement : il m'a demandé une photo"),
    ("Bonjour", '"Report" he scares me'),
    ("Hi", "REPORT\n\nOn Mon, Nov 30, Sam wrote:\n> hello"),
    ("SIGNALER / STOP", "je suis mal à l'aise"),
    ("Re: TR: signaler", "..."),
])
def test_reports(subject: str, body: str) -> None:
    assert is_report_text(subject, body)


@pytest.mark.parametrize(("subject", "body"), [
    ("Bonjour", "Je voulais te signaler que je serai en retard."),
    ("Bonjour", "Merci !\n\n> SIGNALER"),  # only in the quoted text
    ("Bonjour", "Merci !\n\nLe lun. 30 nov., Marie a écrit :\nSIGNALER"),
    ("Mon rapport de stage", "Reporting back: all good"),
    ("", ""),
    ("Signalé hier", "rien"),  # 'signalé' is not the keyword
])
def test_not_reports(subject: str, body: str) -> None:
    assert not is_report_text(subject, body)


def test_is_report_reads_the_text_a_client_shows() -> None:
    msg = EmailMessage()
    msg["Subject"] = "allo"
    msg.set_content("plain copy")
    msg.add_alternative("<p><b>SIGNALER</b> aide</p>", subtype="html")
    # The plain part is what clients show first; the HTML copy says something else.
    assert not is_report(msg)
    only_html = EmailMessage()
    only_html["Subject"] = "allo"
    only_html.set_content("<div><b>Signaler</b> aide-moi</div>", subtype="html")
    assert is_report(only_html)


def test_a_report_keyword_after_outlook_styles_in_megabytes_of_html_is_found() -> None:
    # Only the head of the HTML is rendered (14 MB of it took 20 s to render for a first word),
    # yet enough of it to get past the styles Outlook puts first.
    styles = "<head><style>" + "p.MsoNormal { margin: 0cm; font-size: 11pt; }\n" * 1_000
    msg = EmailMessage()
    msg["Subject"] = "allo"
    msg.set_content(styles + "</style></head><body><p>SIGNALER il me fait peur</p>"
                    + "<p>bla bla</p>" * 300_000 + "</body>", subtype="html")
    assert is_report(msg)


def test_gateway_ids_and_aliases_in_a_forwarded_copy() -> None:
    raw = (b"Message-ID: <mine@client.example>\r\n\r\n> Message-ID: <abc123@mentor.test>\r\n"
           b"> From: M <x7k2p9@mentor.test>\r\nReferences: <abc123@mentor.test> <z@evil.test>\r\n")
    # A mailbox in angle brackets looks like an id too: a candidate that simply finds no message.
    assert gateway_ids_in(raw, "mentor.test")[0] == "<abc123@mentor.test>"
    assert "<z@evil.test>" not in gateway_ids_in(raw, "mentor.test")
    assert aliases_in(raw.decode(), "mentor.test") == ["abc123", "x7k2p9"]
    assert gateway_ids_in(raw, "other.test") == []


def _bodies(raw: bytes) -> tuple[str, str]:
    msg = message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    plain, html = msg.get_body(("plain",)), msg.get_body(("html",))
    texts = (str(plain.get_content()) if plain else "", str(html.get_content()) if html else "")
    return texts[0].replace("\r\n", "\n"), texts[1].replace("\r\n", "\n")


def test_footer_in_text_and_html_never_in_attachments_or_forwarded_messages() -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "a@mentor.test", "b@example.net", "Bonjour"
    msg.set_content("Salut\n")
    msg.add_alternative("<html><body><p>Salut</p></body></html>", subtype="html")
    msg.add_attachment("notes\n", filename="notes.txt")
    inner = EmailMessage()
    inner["Subject"] = "inner"
    inner.set_content("inner text\n")
    msg.add_attachment(inner)
    address = "signaler@mentor.test"
    out = append_footer(msg.as_bytes(), footer_text(address), footer_html(address))
    plain, html = _bodies(out)
    assert plain.startswith("Salut\n") and "écris SIGNALER" in plain and "write REPORT" in plain
    assert re.search(r"<p>Salut</p><hr>.*SIGNALER.*</body>", html, re.S)
    assert out.count(b"SIGNALER") == 2  # one text part, one HTML part: not the attachments
    parsed = message_from_bytes(out, policy=policy.default)
    assert parsed["Subject"] == "Bonjour" and parsed["To"] == "b@example.net"


def test_footer_on_a_plain_single_part_message_with_latin1() -> None:
    raw = ("Subject: x\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
           "Content-Transfer-Encoding: 8bit\r\n\r\nD\xe9j\xe0 vu\r\n").encode("latin-1")
    plain, _html = _bodies(append_footer(raw, footer_text("s@d.test"), footer_html("s@d.test")))
    assert plain.startswith("Déjà vu") and "Pour signaler un problème" in plain


def test_first_word_reading_stops_early_but_decides_the_same() -> None:
    """is_report reads only up to the first line with a letter or digit; on messy texts (quote
    starts, punctuation-only lines, keywords after them) it must decide as a full read does."""
    import random

    from gateway.safeguarding.keyword import first_word, new_text

    pieces = ["", " ", "\n", "***", "SIGNALER", "report", "Le 3 mai, Marie a écrit :", "> quoted",
              "On Mon, X wrote:", "_", "__ ", "123", "« signaler »", "-----Original Message-----",
              "De : x", "bonjour", "\t", "é", "-- ", "REPORT!"]
    pick = random.Random(7)
    seen = set()
    for _ in range(20_000):
        text = "".join(pick.choice(pieces) + pick.choice(["", "\n", " ", "\r\n"])
                       for _ in range(pick.randint(0, 8)))
        expected = first_word(new_text(text))
        assert first_word(new_text(text, first_word_only=True)) == expected, repr(text)
        seen.add(expected)
    assert {"signaler", "report", "bonjour", ""} <= seen  # the cases were all exercised
