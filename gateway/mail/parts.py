"""Read one MIME part the way a client does: every name and type it carries, its bytes, its kind."""

from __future__ import annotations

import email.utils
import functools
import re
from email.header import decode_header, make_header
from email.message import Message

from gateway.mail.archives import is_archive
from gateway.mail.scrub import decode_raw_header
from gateway.mail.visible import looks_like_text, percent_decoded

TEXT_MESSAGES = frozenset({"message/delivery-status", "message/disposition-notification",
                           "message/feedback-report", "message/global-delivery-status",
                           "message/global-disposition-notification"})
TEXT_TYPES = frozenset({
    "application/ics", "application/x-ics", "application/vcard", "application/x-vcard",
    "application/calendar", "application/json", "application/xml", "application/xhtml+xml",
    "application/x-sh-text", "application/javascript", "application/rtf", "application/mbox",
    "application/x-vcalendar", "application/calendar+json", "image/svg+xml",
})
_BINARY_FAMILIES = ("image/", "audio/", "video/", "font/", "model/")
_BINARY_TYPES = frozenset({"application/pdf", "application/msword", "application/zip"})
_FOLDED_TYPES = frozenset({"text/calendar", "text/vcard", "text/x-vcard", "text/directory",
                           "text/x-vcalendar", "application/ics", "application/x-ics",
                           "application/vcard", "application/x-vcard", "application/calendar",
                           "application/x-vcalendar"})
_OPAQUE_TYPES = {
    "application/ms-tnef": "Outlook TNEF (winmail.dat)",
    "application/vnd.ms-tnef": "Outlook TNEF (winmail.dat)",
    "application/pgp-encrypted": "PGP-encrypted content",
    "application/pgp-keys": "a PGP key (it names its owner)",
    "application/pgp-signature": "a PGP signature",
    "application/pkcs7-mime": "S/MIME content",
    "application/x-pkcs7-mime": "S/MIME content",
    "application/pkcs7-signature": "an S/MIME signature (its certificate names its owner)",
    "application/x-pkcs7-signature": "an S/MIME signature (its certificate names its owner)",
    "application/pkcs10": "a certificate request",
    "application/pkix-cert": "a certificate",
    "application/x-x509-ca-cert": "a certificate",
    "application/x-x509-user-cert": "a certificate",
    "application/x-pkcs12": "a certificate bundle",
    "application/vnd.ms-outlook": "an Outlook item (.msg)",
}
_OPAQUE_NAMES = {
    "winmail.dat": "Outlook TNEF (winmail.dat)", ".p7s": "an S/MIME signature",
    ".p7m": "S/MIME content", ".p7c": "a certificate", ".p12": "a certificate bundle",
    ".pfx": "a certificate bundle", ".cer": "a certificate", ".crt": "a certificate",
    ".der": "a certificate", ".asc": "PGP material", ".gpg": "PGP material",
    ".pgp": "PGP material", ".msg": "an Outlook item (.msg)",
}
_PGP_ARMOR = re.compile(rb"-----BEGIN PGP (?:PUBLIC KEY|PRIVATE KEY|MESSAGE|SIGNATURE)")
_HEADER_LINE = re.compile(rb"^(?:[!-9;-~]+):[ \t]?.*$", re.MULTILINE)
_MESSAGE_HEADERS = re.compile(
    rb"^(?:from|to|subject|date|received|return-path|message-id|mime-version|reply-to|cc|"
    rb"delivered-to|x-[\w-]+|dkim-signature|content-type):", re.IGNORECASE | re.MULTILINE)


def decoded_header(value: str) -> str:
    value = decode_raw_header(str(value))
    if "=?" not in value:
        return value
    try:
        return str(make_header(decode_header(value)))
    except Exception:  # noqa: BLE001 - undecodable encoded-words are shown as written
        return value


def header_values(msg: Message, name: str) -> list[str]:
    return [decoded_header(str(value)) for key, value in msg.raw_items() if key.lower() == name]


def _params(msg: Message, header: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for raw in (v for k, v in msg.raw_items() if k.lower() == header):
        found += _value_params(str(raw))
    return found


@functools.lru_cache(maxsize=512)
def _value_params(raw: str) -> tuple[tuple[str, str], ...]:
    """The decoded parameters of one header value; read once per distinct value (the reading
    and the rewrite ask for a part's file names up to five times)."""
    holder = Message()
    holder["Content-Type"] = raw
    try:
        params = holder.get_params(header="content-type") or []
    except Exception:  # noqa: BLE001
        return ()
    found = []
    for key, value in params[1:]:
        try:
            text = email.utils.collapse_rfc2231_value(value)
        except Exception:  # noqa: BLE001
            text = str(value)
        found.append((key.lower().rstrip("*"), decoded_header(str(text))))
    return tuple(found)


def file_names(part: Message) -> list[str]:
    """Every file name the part gives (Content-Disposition and Content-Type, repeats included),
    with percent-escapes decoded as some clients do."""
    names: list[str] = []
    for header in ("content-disposition", "content-type"):
        for key, value in _params(part, header):
            if key in ("filename", "name") and value.strip():
                names.append(value.strip())
                decoded = percent_decoded(value)
                if decoded:
                    names.append(decoded.strip())
    return list(dict.fromkeys(names))


def content_types(part: Message) -> list[str]:
    """The effective type plus every other Content-Type the part declares."""
    found = [part.get_content_type()]
    for key, value in part.raw_items():
        if key.lower() == "content-type":
            declared = str(value).split(";", 1)[0].strip().lower()
            if "/" in declared and declared not in found:
                found.append(declared)
    return found


def payload_bytes(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001 - undecodable transfer encoding counts as empty
        return b""
    if isinstance(data, bytes):
        return data
    payload = part.get_payload()
    return payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else b""


def is_attachment(part: Message, ctype: str, names: list[str]) -> bool:
    try:
        disposition = part.get_content_disposition()
    except Exception:  # noqa: BLE001
        return True
    if disposition == "attachment" or names:
        return True
    return ctype.split("/")[0] not in ("text", "multipart", "message")


def opaque_reason(types: list[str], names: list[str], data: bytes) -> str:
    """Why the part cannot be read to text ('' when it can, or is an ordinary file)."""
    for kind in types:
        if kind in _OPAQUE_TYPES:
            return _OPAQUE_TYPES[kind]
    for name in names:
        lowered = name.lower().rstrip(". ")
        for ending, why in _OPAQUE_NAMES.items():
            if lowered.endswith(ending):
                return why
    if data.startswith(b"\x78\x9f\x3e\x22"):
        return "Outlook TNEF (winmail.dat)"
    if _PGP_ARMOR.search(data[:65536]):
        return "PGP material (key, signature or encrypted text)"
    return ""


def sniff_message(data: bytes, names: tuple[str, ...] | list[str]) -> bool:
    """True when the bytes are a whole e-mail (headers, blank line, body), whatever the label."""
    if any(name.lower().endswith((".eml", ".mht", ".mhtml")) for name in names) and data:
        return True
    head = data[:8192].lstrip()
    end = min((i for i in (head.find(b"\r\n\r\n"), head.find(b"\n\n")) if i >= 0), default=-1)
    if end <= 0:
        return False
    block = head[:end]
    lines = [line for line in re.split(rb"\r?\n", block) if line and line[:1] not in b" \t"]
    if not lines or not all(_HEADER_LINE.match(line) for line in lines):
        return False
    return len(_MESSAGE_HEADERS.findall(block)) >= 2


def opens_as_message(ctype: str, data: bytes, names: list[str]) -> bool:
    """A whole e-mail in a part: labelled so, sniffed, or a text part named like an .eml file
    (clients open an attached .eml as a message, decoding its parts)."""
    if ctype.startswith("text/"):
        return any(n.lower().endswith(".eml") for n in names) and sniff_message(data, ())
    return sniff_message(data, names)


def is_archive_part(data: bytes, names: list[str], types: list[str]) -> bool:
    return any(is_archive(data, name, kind) for name in names or [""] for kind in types)


def encoded_message(part: Message) -> bytes | None:
    """The bytes of a message/* part sent in base64 or quoted-printable (which RFC 2046 forbids,
    so parsers read the encoded text as a header-less message, but clients decode it)."""
    cte = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    payload = part.get_payload()
    if cte not in ("base64", "quoted-printable") or not isinstance(payload, list) or not payload:
        return None
    inner = payload[0]
    if not isinstance(inner, Message):
        return None
    body = inner.get_payload()
    text = body if not list(inner.keys()) and isinstance(body, str) else inner.as_string()
    holder = Message()
    holder["Content-Transfer-Encoding"] = cte
    holder.set_payload(text)
    data = holder.get_payload(decode=True)
    return data if isinstance(data, bytes) else None


def reads_as_text(ctype: str, data: bytes, names: list[str], types: list[str]) -> bool:
    """Whether a client opens the part as text (so the gateway reads and scrubs it as text)."""
    if ctype.startswith("text/") or ctype in TEXT_TYPES:
        return True
    return looks_like_text(data) and not is_binary_type(ctype) and not is_archive_part(
        data, names, types)


def is_binary_type(ctype: str) -> bool:
    return ctype.startswith(_BINARY_FAMILIES) or ctype in _BINARY_TYPES


def is_folded_type(ctype: str, names: list[str], text: str) -> bool:
    if ctype in _FOLDED_TYPES:
        return True
    if any(n.lower().endswith((".ics", ".vcs", ".vcf", ".ical", ".ifb")) for n in names):
        return True
    return text.lstrip()[:20].upper().startswith(("BEGIN:VCALENDAR", "BEGIN:VCARD"))


_OFFICE = (".docx", ".xlsx", ".pptx", ".odt", ".ods", ".odp", ".docm", ".xlsm", ".pptm", ".epub",
           ".pages", ".numbers", ".key")


def is_office(names: list[str], types: list[str]) -> bool:
    """Office documents are zip files inside; their members are listed, not read as text."""
    if any(name.lower().endswith(_OFFICE) for name in names):
        return True
    return any("openxmlformats" in t or "opendocument" in t or "ms-" in t for t in types)


def flowed(part: Message) -> bool | None:
    """None for ordinary text; for format=flowed, whether DelSp=yes (RFC 3676)."""
    if part.get_content_type() != "text/plain":
        return None
    if str(part.get_param("format", "") or "").lower() != "flowed":
        return None
    return str(part.get_param("delsp", "") or "").lower() == "yes"
