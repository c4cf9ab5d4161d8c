"""DKIM-sign one outgoing message (rsa-sha256, relaxed/relaxed) before a transport sends it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import dkim as dkimpy  # dkimpy; this module's own name does not shadow it (absolute imports)

from gateway.delivery.transports import SendResult, Transport

# relaxed/relaxed: smarthosts and list servers re-fold headers and trim trailing spaces; "simple"
# would turn those harmless rewrites into a failed signature at the receiver.
_CANONICALIZATION = (b"relaxed", b"relaxed")
_ALGORITHM = b"rsa-sha256"


class DkimSigningError(ValueError):
    """The key or the settings cannot sign: an operator's problem, described without internals."""


def sign(data: bytes, *, selector: str, domain: str, private_key_pem: bytes) -> bytes:
    """Return `data` with a DKIM-Signature header put in front; the rest is left byte for byte.

    `data` is the finished CRLF message; `private_key_pem` an RSA key in PEM (PKCS#1 or PKCS#8).
    dkimpy's default header list is used (From, To, Subject, Date, Message-ID, MIME headers...),
    with From signed once more than it occurs, so nobody can add a second From later.
    Raises DkimSigningError with a readable reason when the key, selector or domain is unusable.
    """
    _check_label("selector", selector)
    _check_label("domain", domain)
    try:
        header = dkimpy.sign(data, selector.encode("ascii"), domain.encode("ascii"),
                             private_key_pem, canonicalize=_CANONICALIZATION,
                             signature_algorithm=_ALGORITHM, linesep=b"\r\n")
    except dkimpy.KeyFormatError as exc:
        raise DkimSigningError(f"the DKIM private key is not a usable RSA key in PEM ({exc})") from None
    except dkimpy.DKIMException as exc:
        raise DkimSigningError(f"cannot DKIM-sign this message: {exc}") from None
    except (ValueError, IndexError, TypeError) as exc:  # dkimpy's own parser trips on junk keys
        raise DkimSigningError(
            f"the DKIM private key is not a usable RSA key in PEM ({type(exc).__name__})") from None
    return bytes(header) + data


def _check_label(what: str, value: str) -> None:
    """Selector and domain go into a DNS name and a header: plain ASCII labels only."""
    labels = value.split(".")
    if not value or not value.isascii() or any(
            not label or not all(ch.isalnum() or ch in "-_" for ch in label) for label in labels):
        raise DkimSigningError(f"DKIM {what} {value!r} is not a plain DNS name "
                               f"(letters, digits, '-', '_', separated by dots)")


_PROBE = b"From: probe@invalid\r\nSubject: probe\r\n\r\nprobe\r\n"


@dataclass(frozen=True)
class DkimSigner:
    selector: str
    domain: str
    private_key_pem: bytes

    def __call__(self, data: bytes) -> bytes:
        return sign(data, selector=self.selector, domain=self.domain,
                    private_key_pem=self.private_key_pem)


def load_signer(selector: str, domain: str, key_file: str) -> DkimSigner:
    """Read the key and sign a probe once, so a bad key stops start-up instead of every send."""
    if not key_file:
        raise DkimSigningError("dkim_selector is set but dkim_key_file is empty")
    try:
        pem = Path(key_file).read_bytes()
    except OSError as exc:
        raise DkimSigningError(f"cannot read the DKIM key {key_file}: {exc.strerror}") from None
    signer = DkimSigner(selector, domain, pem)
    signer(_PROBE)
    return signer


class SigningTransport:
    """Signs each message just before the wrapped transport sends it (retries are signed anew)."""

    def __init__(self, inner: Transport, signer: DkimSigner) -> None:
        self._inner = inner
        self._signer = signer

    async def send(self, envelope_from: str, recipient: str, data: bytes) -> SendResult:
        return await self._inner.send(envelope_from, recipient, self._signer(data))

    async def close(self) -> None:
        await self._inner.close()
