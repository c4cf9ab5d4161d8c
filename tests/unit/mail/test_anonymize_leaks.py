"""Acceptance tests of anonymize over every fixture: nothing identifying survives, content does."""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Callable
from email.message import EmailMessage, Message

import pytest

from gateway.mail.rewrite import Party, RewriteContext, anonymize
from tests.unit.mail.conftest import DEFAULTS, eml_names, load_eml

MENTEE = Party(DEFAULTS["mentee_email"], "Zoé Martin", DEFAULTS["mentee_alias"])
MENTOR = Party(DEFAULTS["mentor_email"], "Jean-François Côté", DEFAULTS["mentor_alias"])
CTX = RewriteContext(sender=MENTEE, recipient=MENTOR, program_name="Programme Élan",
                     new_message_id="<8f2a1c9e4b7d@mentor.example.org>",
                     in_reply_to=("<gw-1@mentor.example.org>",),
                     references=("<gw-0@mentor.example.org>", "<gw-1@mentor.example.org>"))
REAL = (MENTEE.address, MENTOR.address)
AT = r"(?:@|%40|&#0*64;|&#x0*40;|&commat;)"


def _spelling(address: str) -> re.Pattern[str]:
    local, _, domain = address.partition("@")
    return re.compile(re.escape(local) + AT + re.escape(domain), re.IGNORECASE)


SPELLINGS = {address: _spelling(address) for address in REAL}


def _alias_spelled_like(alias: str) -> Callable[[re.Match[str]], str]:
    """The alias, with "@" percent-encoded where the original was (URLs, RFC 2231 values)."""
    return lambda m: alias.replace("@", "%40") if "%40" in m.group(0) else alias


def _expected_text(text: str) -> str:
    text = SPELLINGS[MENTEE.address].sub(_alias_spelled_like(MENTEE.alias), text)
    return SPELLINGS[MENTOR.address].sub(_alias_spelled_like(MENTOR.alias), text)


def _parse(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def _leaves(msg: Message) -> list[Message]:
    return [part for part in msg.walk() if not part.is_multipart()]


def _text(part: Message) -> str:
    data = part.get_payload(decode=True)
    assert isinstance(data, bytes)
    try:
        text = data.decode(part.get_content_charset() or "latin-1")
    except (UnicodeDecodeError, LookupError):
        text = data.decode("latin-1")
    return text.replace("\r\n", "\n")


def _leaks(text: str) -> list[str]:
    return [address for address, pattern in SPELLINGS.items() if pattern.search(text)]


@pytest.fixture(params=eml_names())
def case(request: pytest.FixtureRequest) -> tuple[str, bytes, bytes]:
    raw = load_eml(request.param)
    return request.param, raw, anonymize(raw, CTX)


def test_output_is_sendable_crlf_with_short_lines(case: tuple[str, bytes, bytes]) -> None:
    _name, _raw, out = case
    assert b"\n" not in out.replace(b"\r\n", b"")
    assert b"\r" not in out.replace(b"\r\n", b"")
    assert max(len(line) for line in out.split(b"\r\n")) <= 998


def test_raw_output_names_the_recipient_only_in_to(case: tuple[str, bytes, bytes]) -> None:
    _name, _raw, out = case
    head, _, body = out.partition(b"\r\n\r\n")
    text = out.decode("latin-1")
    assert not SPELLINGS[MENTEE.address].search(text)
    assert not SPELLINGS[MENTOR.address].search(body.decode("latin-1"))
    to_lines = [line for line in head.decode("latin-1").split("\r\n") if line.lower().startswith("to:")]
    assert len(SPELLINGS[MENTOR.address].findall(head.decode("latin-1"))) == 1
    assert MENTOR.address in to_lines[0]


def test_no_decoded_header_or_part_leaks(case: tuple[str, bytes, bytes]) -> None:
    _name, _raw, out = case
    msg = _parse(out)
    for part in msg.walk():
        for name, value in part.items():
            if part is msg and name.lower() == "to":
                continue
            assert _leaks(str(value)) == [], f"{name}: {value}"
        if not part.is_multipart():
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            assert _leaks(payload.decode("latin-1")) == []
            assert _leaks(_text(part)) == []


def test_tracking_values_of_the_original_are_gone(case: tuple[str, bytes, bytes]) -> None:
    _name, raw, out = case
    original = _parse(raw)
    text = out.decode("latin-1")
    for name in ("Received", "Message-ID", "X-Originating-IP", "DKIM-Signature", "User-Agent",
                 "X-Mailer", "Return-Path", "Sender", "Cc", "Bcc", "List-Unsubscribe"):
        for value in original.get_all(name) or []:
            first_line = str(value).split("\n")[0].strip()
            assert first_line not in text, f"{name} survived"


def test_rebuilt_headers_follow_the_spec(case: tuple[str, bytes, bytes]) -> None:
    _name, _raw, out = case
    msg = _parse(out)
    sender = msg["From"].addresses
    assert [(a.display_name, a.addr_spec) for a in sender] == [
        ("Zoé Martin via Programme Élan", MENTEE.alias)]
    assert [(a.display_name, a.addr_spec) for a in msg["To"].addresses] == [
        ("Jean-François Côté", MENTOR.address)]
    assert [a.addr_spec for a in msg["Reply-To"].addresses] == [MENTEE.alias]
    assert msg["Message-ID"] == CTX.new_message_id
    assert msg["In-Reply-To"] == "<gw-1@mentor.example.org>"
    assert msg["References"] == "<gw-0@mentor.example.org> <gw-1@mentor.example.org>"
    for dropped in ("Cc", "Bcc", "Sender", "Received", "Return-Path", "User-Agent",
                    "X-Originating-IP", "DKIM-Signature", "List-Unsubscribe", "Thread-Index"):
        assert dropped not in msg


def test_subject_is_kept_with_addresses_replaced(case: tuple[str, bytes, bytes]) -> None:
    _name, raw, out = case
    original = str(_parse(raw)["Subject"] or "")
    if "\ufffd" in original:  # an 8-bit subject the strict parser cannot read
        return
    assert str(_parse(out)["Subject"]) == _expected_text(original)


def test_text_survives_with_aliases_and_attachments_are_identical(
        case: tuple[str, bytes, bytes]) -> None:
    _name, raw, out = case
    before, after = _leaves(_parse(raw)), _leaves(_parse(out))
    assert [p.get_content_type() for p in after] == [p.get_content_type() for p in before]
    for old, new in zip(before, after, strict=True):
        if old.get_content_maintype() == "text":
            assert _text(new).rstrip("\n") == _expected_text(_text(old)).rstrip("\n")
        else:
            assert new.get_payload(decode=True) == old.get_payload(decode=True)


@pytest.mark.parametrize(("name", "phrase"), [
    ("06_iso8859_1_french.eml", "Merci pour la séance : c'était très intéressant. Déjà hâte"),
    ("07_windows1252_french.eml", "J’ai lu l’œuvre que tu m’as conseillée – c’était génial …"),
    ("07_windows1252_french.eml", "coûtait 12 €"),
    ("08_utf8_french.eml", "« Garde le cap », m'as-tu dit. Noël approche"),
    ("11_gmail_reply_fr.eml", "à 10 h 02, Jean-François Côté <"),
    ("21_html_only_entities.eml", "C’est moi"),
])
def test_french_accents_survive(name: str, phrase: str) -> None:
    out = _parse(anonymize(load_eml(name), CTX))
    texts = " ".join(_text(p) for p in _leaves(out) if p.get_content_maintype() == "text")
    assert phrase in texts


def test_french_subject_keeps_its_accents() -> None:
    out = _parse(anonymize(load_eml("07_windows1252_french.eml"), CTX))
    assert str(out["Subject"]) == "L’œuvre et les €"


def test_address_split_by_soft_line_break_is_replaced() -> None:
    out = _parse(anonymize(load_eml("04_qp_soft_break.eml"), CTX))
    body = _text(_leaves(out)[0])
    assert body.count(MENTEE.alias) == 2
    assert "à garder pour toi" in body


def test_forwarded_message_headers_are_scrubbed_and_trimmed() -> None:
    out = _parse(anonymize(load_eml("18_forwarded_rfc822.eml"), CTX))
    inner = [p for p in out.walk() if p.get_content_type() == "message/rfc822"][0]
    payload = inner.get_payload()
    assert isinstance(payload, list)
    forwarded = payload[0]
    assert isinstance(forwarded, Message)
    assert forwarded["Subject"] == f"Offre de stage pour {MENTEE.alias}"
    assert MENTOR.alias in str(forwarded["From"])
    assert forwarded["Received"] is None and forwarded["X-Originating-IP"] is None
    assert forwarded["Message-ID"] is None


def test_empty_thread_headers_are_omitted() -> None:
    ctx = RewriteContext(MENTEE, MENTOR, "P", "<x@mentor.example.org>", (), ())
    out = _parse(anonymize(load_eml("11_gmail_reply_fr.eml"), ctx))
    assert out["In-Reply-To"] is None and out["References"] is None


def test_display_names_with_commas_and_quotes_stay_one_mailbox() -> None:
    sender = Party(MENTEE.address, 'Martin, Zoé "Zozo"', MENTEE.alias)
    ctx = RewriteContext(sender, MENTOR, "Prog, Inc.", "<x@mentor.example.org>", (), ())
    out = _parse(anonymize(load_eml("01_plain_ascii.eml"), ctx))
    addresses = out["From"].addresses
    assert len(addresses) == 1
    assert addresses[0].display_name == 'Martin, Zoé "Zozo" via Prog, Inc.'
