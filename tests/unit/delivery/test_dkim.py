"""DKIM signatures that a receiving server can verify, and that break when the message is altered."""

from __future__ import annotations

import base64
import shutil
import subprocess
from collections.abc import Callable
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from pathlib import Path

import dkim as dkimpy
import pytest

from gateway.delivery.dkim import DkimSigningError, sign

SELECTOR = "mg2024"
DOMAIN = "gateway.example.org"


@pytest.fixture(scope="module")
def key_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes]:
    """(private key PEM, DNS TXT record) made fresh with openssl."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test key")
    folder: Path = tmp_path_factory.mktemp("dkim")
    key = folder / "key.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True,
                   capture_output=True)
    public_der = subprocess.run(["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"],
                                check=True, capture_output=True).stdout
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public_der)
    return key.read_bytes(), record


def dns_for(record: bytes) -> Callable[..., bytes | None]:
    """A resolver that knows only our selector's TXT record, as the receiving server would see it."""

    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        if name == f"{SELECTOR}._domainkey.{DOMAIN}.".encode():
            return record
        return None

    return lookup


def message(body: str = "Bonjour, ça va ?\nÀ bientôt.\n") -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Marie <m-abc123@{DOMAIN}>"
    msg["To"] = "jeune.1@eleves.example.net"
    msg["Subject"] = "Ton projet de sciences"
    msg["Date"] = "Fri, 01 Mar 2024 09:00:00 +0000"
    msg["Message-ID"] = f"<42.abc@{DOMAIN}>"
    msg.set_content(body)
    return msg.as_bytes(policy=SMTP_POLICY)


def signed_message(key_pair: tuple[bytes, bytes], data: bytes | None = None) -> bytes:
    return sign(data if data is not None else message(), selector=SELECTOR, domain=DOMAIN,
                private_key_pem=key_pair[0])


def test_signed_message_verifies_at_the_receiver(key_pair: tuple[bytes, bytes]) -> None:
    signed = signed_message(key_pair)
    assert dkimpy.verify(signed, dnsfunc=dns_for(key_pair[1]))


def test_signing_only_adds_a_header_in_front(key_pair: tuple[bytes, bytes]) -> None:
    data = message()
    signed = signed_message(key_pair, data)
    assert signed.startswith(b"DKIM-Signature: ")
    assert signed.endswith(data)
    header = signed[: len(signed) - len(data)]
    assert header.endswith(b"\r\n")
    assert b"\n" not in header.replace(b"\r\n", b"")  # CRLF only, like the rest of the message
    assert f"d={DOMAIN};".encode() in header and f"s={SELECTOR};".encode() in header


def test_signature_covers_from_subject_and_body(key_pair: tuple[bytes, bytes]) -> None:
    signed = signed_message(key_pair)
    dns = dns_for(key_pair[1])
    assert not dkimpy.verify(signed.replace(b"Bonjour", b"Bonsoir"), dnsfunc=dns)
    assert not dkimpy.verify(signed.replace(b"Subject: Ton projet", b"Subject: Un projet"),
                             dnsfunc=dns)
    assert not dkimpy.verify(signed.replace(b"From: Marie", b"From: Mallory"), dnsfunc=dns)


def test_an_added_second_from_breaks_the_signature(key_pair: tuple[bytes, bytes]) -> None:
    signed = signed_message(key_pair)
    header_end = signed.index(b"\r\n\r\n")
    forged = signed[:header_end] + b"\r\nFrom: evil@attacker.example" + signed[header_end:]
    assert not dkimpy.verify(forged, dnsfunc=dns_for(key_pair[1]))


def test_refolded_headers_still_verify(key_pair: tuple[bytes, bytes]) -> None:
    # A relay that re-folds a header or adds spaces must not turn mail into a DKIM failure.
    signed = signed_message(key_pair)
    refolded = signed.replace(b"Subject: Ton projet de sciences",
                              b"Subject: Ton projet\r\n  de   sciences")
    assert dkimpy.verify(refolded, dnsfunc=dns_for(key_pair[1]))


@pytest.mark.parametrize("bad_key", [b"", b"not a key", b"-----BEGIN PRIVATE KEY-----\nAAAA\n"
                                                       b"-----END PRIVATE KEY-----\n"])
def test_unusable_key_is_a_readable_error(bad_key: bytes) -> None:
    with pytest.raises(DkimSigningError) as excinfo:
        sign(message(), selector=SELECTOR, domain=DOMAIN, private_key_pem=bad_key)
    assert "private key" in str(excinfo.value)
    assert "Traceback" not in str(excinfo.value)


@pytest.mark.parametrize(("selector", "domain"), [
    ("", DOMAIN), ("mg 2024", DOMAIN), (SELECTOR, "exämple.org"), (SELECTOR, "a..b"),
    (SELECTOR, "x.org\r\nBcc: y@z"),
])
def test_selector_and_domain_must_be_dns_names(key_pair: tuple[bytes, bytes], selector: str,
                                               domain: str) -> None:
    with pytest.raises(DkimSigningError, match="not a plain DNS name"):
        sign(message(), selector=selector, domain=domain, private_key_pem=key_pair[0])
