"""Load templated .eml fixtures from tests/data with participants' addresses substituted."""

from __future__ import annotations

import base64
import email.charset
import re
from email.header import Header
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "data"

DEFAULTS = {
    "mentee_email": "zoe.martin@family-mail.example",
    "mentor_email": "jf.cote@work.example",
    "mentee_name": "Zoé Martin",
    "mentor_name": "Jean-François Côté",
    "mentor_alias": "m7k3q9x2abcd4e5f@mentor.example.org",
    "mentee_alias": "q4z8t2w6yhbc3n5d@mentor.example.org",
}
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
_DIRECTIVE = re.compile(r"\{\{(b64|rfc2047b|rfc2047q):(.*?)\}\}", re.DOTALL)


def _mixed_case(value: str) -> str:
    return "".join(c.upper() if i % 2 else c.lower() for i, c in enumerate(value))


def _values(placeholders: dict[str, str]) -> dict[str, str]:
    values = {**DEFAULTS, **placeholders}
    for who in ("mentee", "mentor"):
        address = values[f"{who}_email"]
        values[f"{who}_local"], _, values[f"{who}_domain"] = address.rpartition("@")
        values[f"{who.upper()}_EMAIL"] = address.upper()
        values[f"{who.capitalize()}_Email"] = _mixed_case(address)
    return values


def _directive(match: re.Match[str]) -> str:
    kind, text = match.group(1), match.group(2)
    if kind == "b64":
        data = text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8", "surrogateescape")
        return base64.encodebytes(data).decode("ascii").rstrip("\n")
    charset = email.charset.Charset("utf-8")
    charset.header_encoding = email.charset.BASE64 if kind == "rfc2047b" else email.charset.QP
    return Header(text, charset).encode()


def load_eml(name: str, **placeholders: str) -> bytes:
    """The fixture's bytes with `{{placeholders}}` filled (defaults in DEFAULTS).

    `{{b64:...}}` and `{{rfc2047b:...}}` / `{{rfc2047q:...}}` encode their (substituted) text, so
    an address can hide inside base64 or an encoded-word. Line ends become CRLF, except in files
    whose name contains "bare_lf", which keep bare LF on purpose.
    """
    values = _values(placeholders)
    text = (DATA / name).read_bytes().decode("utf-8", "surrogateescape")
    text = _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)
    text = _DIRECTIVE.sub(_directive, text)
    data = text.encode("utf-8", "surrogateescape").replace(b"\r\n", b"\n")
    return data if "bare_lf" in name else data.replace(b"\n", b"\r\n")


def eml_names() -> list[str]:
    return sorted(p.name for p in DATA.glob("*.eml"))
