"""Nothing identifying crosses the gateway: every tests/data fixture sent over SMTP, as delivered.

Each fixture is written as "the sender writes to the partner's alias"; we fill it with a mentor
writing to the mentee's alias, so the mentor's real address, the name the mentor's client put in
From, the client's Message-ID and the tracking headers must all be gone when the mentee gets it.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import re
from email.message import EmailMessage, Message

import pytest

from tests.e2e.harness import Harness, PairInfo
from tests.e2e.smarthost import Recorded, Smarthost
from tests.unit.mail.conftest import eml_names, load_eml

PROGRAM = "Academos Test"  # tests/conftest.py make_settings
INCOMING_NAME = "Madame Personnelle Secrète"  # what the mentor's own client puts in From
ALLOWED = {"from", "to", "reply-to", "message-id", "in-reply-to", "references", "subject", "date",
           "mime-version",
           # machine-sent mail keeps saying so (RFC 3834), with our constant values only
           "auto-submitted", "precedence"}
TRACKING = ("Received", "Return-Path", "Sender", "Cc", "Bcc", "X-Originating-IP", "DKIM-Signature",
            "Authentication-Results", "User-Agent", "X-Mailer", "List-Unsubscribe", "List-Id",
            "Disposition-Notification-To", "Thread-Index")
# "@" as clients and encoders spell it: plain, URL, quoted-printable, HTML entities.
AT = r"(?:@|%40|=40|&#0*64;|&#x0*40;|&commat;)"


def spelled(address: str) -> re.Pattern[str]:
    local, _, domain = address.partition("@")
    return re.compile(re.escape(local) + AT + re.escape(domain), re.IGNORECASE)


def parse(data: bytes) -> EmailMessage:
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def leaves(msg: Message) -> list[Message]:
    return [part for part in msg.walk() if not part.is_multipart()]


def decoded_texts(part: Message) -> list[str]:
    """The part's payload as bytes-as-latin-1 and, for text, in its declared charset."""
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):  # message/rfc822: its sub-parts are walked separately
        return [str(part.get_payload())]
    texts = [data.decode("latin-1")]
    with contextlib.suppress(UnicodeDecodeError, LookupError):
        texts.append(data.decode(part.get_content_charset() or "latin-1"))
    return texts


def fixture_for(pair: PairInfo, name: str) -> bytes:
    """The fixture as the mentor's client sends it to the mentee's alias."""
    return load_eml(name, mentee_email=pair.mentor_email, mentee_name=INCOMING_NAME,
                    mentor_email=pair.mentee_email, mentor_name="Léa",
                    mentor_alias=pair.mentee_alias, mentee_alias=pair.mentor_alias)


async def deliver(gateway: Harness, smarthost: Smarthost, pair: PairInfo, raw: bytes) -> Recorded:
    outcome = await gateway.send(pair.mentor_email, [pair.mentee_alias], raw)
    assert outcome.code == 250, outcome
    await gateway.pump()
    arrived = await smarthost.wait_for_async(1, timeout=5)
    assert len(arrived) == 1
    assert list(arrived[0].rcpt_tos) == [pair.mentee_email]
    return arrived[0]


@pytest.mark.parametrize("name", eml_names())
async def test_delivered_fixture_leaks_nothing_of_the_sender(gateway: Harness, smarthost: Smarthost,
                                                             name: str) -> None:
    pair = await gateway.make_pair()
    await gateway.pump()  # introductions
    smarthost.clear()
    raw = fixture_for(pair, name)
    arrived = await deliver(gateway, smarthost, pair, raw)
    sender, recipient = spelled(pair.mentor_email), spelled(pair.mentee_email)
    data = arrived.data
    text = data.decode("latin-1")
    head, _, body = text.partition("\r\n\r\n")

    assert not sender.search(text)
    assert not recipient.search(body)
    assert b"\n" not in data.replace(b"\r\n", b"") and b"\r" not in data.replace(b"\r\n", b"")
    assert max(len(line) for line in data.split(b"\r\n")) <= 998
    to_lines = [line for line in head.split("\r\n") if line.lower().startswith("to:")]
    assert len(recipient.findall(head)) == 1 and recipient.search(to_lines[0])
    assert arrived.envelope_from.endswith("@mentor.test")

    out = parse(data)
    for part in out.walk():
        for header, value in part.items():
            if not (part is out and header.lower() == "to"):
                assert not recipient.search(str(value)), f"{header}: {value}"
            assert not sender.search(str(value)), f"{header}: {value}"
        if not part.is_multipart():
            for decoded in decoded_texts(part):
                assert not sender.search(decoded) and not recipient.search(decoded)
    assert_headers_rebuilt(out, pair, parse(raw), text)
    assert_attachments_identical(parse(raw), out)


def assert_headers_rebuilt(
        out: EmailMessage, pair: PairInfo, original: EmailMessage, text: str) -> None:
    names = {header.lower() for header in out}
    assert names - ALLOWED == {n for n in names if n.startswith("content-")}, names
    assert {"from", "to", "reply-to", "message-id"} <= names
    assert out.get("Auto-Submitted") in (None, "auto-replied")
    assert out.get("Precedence") in (None, "bulk")
    for header in TRACKING:
        for value in original.get_all(header) or []:
            assert str(value).split("\n")[0].strip() not in text, f"{header} survived"
    client_id = str(original["Message-ID"]).strip()
    assert client_id not in text
    assert client_id.strip("<>").rpartition("@")[2].lower() not in text.lower()
    assert out["Message-ID"].endswith("@mentor.test>")
    assert [(a.display_name, a.addr_spec) for a in out["From"].addresses] == [
        (f"Marie-Ève via {PROGRAM}", pair.mentor_alias)]
    assert [(a.display_name, a.addr_spec) for a in out["To"].addresses] == [
        ("Léa", pair.mentee_email)]
    assert [a.addr_spec for a in out["Reply-To"].addresses] == [pair.mentor_alias]
    for header, value in out.items():  # the name from the client's From header is nowhere
        assert INCOMING_NAME not in str(value), header
    head = text.partition("\r\n\r\n")[0]
    assert "Secr" not in head and "Personnelle" not in head


def assert_attachments_identical(original: EmailMessage, out: EmailMessage) -> None:
    before, after = leaves(original), leaves(out)
    assert [p.get_content_type() for p in after] == [p.get_content_type() for p in before]
    for old, new in zip(before, after, strict=True):
        if old.get_content_maintype() not in ("text", "message"):
            assert new.get_payload(decode=True) == old.get_payload(decode=True)


async def test_introductions_name_the_alias_in_each_persons_language(gateway: Harness,
                                                                    smarthost: Smarthost) -> None:
    pair = await gateway.make_pair(mentor_lang="en", mentee_lang="fr")
    await gateway.pump()
    arrived = await smarthost.wait_for_async(2, timeout=5)
    by_rcpt = {message.rcpt_tos[0]: message for message in arrived}
    assert set(by_rcpt) == {pair.mentor_email, pair.mentee_email}
    expectations = (
        (pair.mentor_email, pair.mentee_alias, pair.mentee_email, "To write to"),
        (pair.mentee_email, pair.mentor_alias, pair.mentor_email, "Pour écrire à"),
    )
    for rcpt, write_to, partner_address, phrase in expectations:
        intro = parse(by_rcpt[rcpt].data)
        body = intro.get_body(("plain",))
        assert body is not None
        content = body.get_content()
        assert phrase in content
        assert write_to in content
        html = intro.get_body(("html",))
        assert html is not None and f"mailto:{write_to}" in html.get_content()  # type: ignore[attr-defined]
        assert [a.addr_spec for a in intro["Reply-To"].addresses] == [write_to]
        assert not spelled(partner_address).search(by_rcpt[rcpt].data.decode("latin-1"))


async def test_a_long_message_with_bare_lf_line_ends_arrives_as_valid_crlf(gateway: Harness,
                                                                          smarthost: Smarthost) -> None:
    """Scripts that pipe into SMTP often send bare LFs: aiosmtpd then sees one huge "line"."""
    pair = await gateway.make_pair()
    await gateway.pump()
    smarthost.clear()
    raw = fixture_for(pair, "20_bare_lf.eml")
    raw += "".join(f"Ligne {i} : écris-moi à {pair.mentor_email}.\n" for i in range(200)).encode()
    assert b"\r\n" not in raw and len(raw) > 5000
    arrived = await deliver(gateway, smarthost, pair, raw)
    assert b"\n" not in arrived.data.replace(b"\r\n", b"")
    body = parse(arrived.data).get_body(("plain",))
    assert body is not None
    content = body.get_content()
    assert f"Ligne 199 : écris-moi à {pair.mentor_alias}." in content
    assert not spelled(pair.mentor_email).search(arrived.data.decode("latin-1"))
