"""Load tests/data/adversarial/ templates, and an independent "client view" oracle: what a
recipient's mail client shows of a message, decoded without the gateway's own reading code."""

from __future__ import annotations

import base64
import binascii
import contextlib
import email
import email.header
import email.policy
import html
import io
import quopri
import re
import tarfile
import unicodedata
import zipfile
from email.message import Message
from pathlib import Path
from urllib.parse import quote, unquote

FOLDER = Path(__file__).resolve().parents[2] / "data" / "adversarial"

SENDER = {
    "sender": "marc.andre@castorbleu.qc.ca", "full": "Marc-André Lévesque", "first": "Marc-André",
    "surname": "Lévesque", "partner": "lea.t2011@courriel.example",
    "partner_alias": "q4z8t2w6yhbc3n5d@mentor.example.org",
    "sender_alias": "m7k3q9x2abcd4e5f@mentor.example.org",
}
PERSONAL_DOMAIN = "castorbleu.qc.ca"


def names() -> list[str]:
    return sorted(p.name for p in FOLDER.glob("*.eml"))


def attempt(raw: bytes) -> tuple[str, str]:
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    return str(msg.get("X-Test-Attempt", "")), str(msg.get("X-Test-Expect", "") or "")


# ---------------------------------------------------------------- template directives
def _zip(files: dict[str, bytes], *, encrypt_flag: bool = False) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    data = buffer.getvalue()
    if encrypt_flag:  # set the "encrypted" bit in the local and central headers
        data = bytearray(data)
        for sig in (b"PK\x03\x04", b"PK\x01\x02"):
            at = data.find(sig)
            offset = 6 if sig == b"PK\x03\x04" else 8
            data[at + offset] |= 1
        data = bytes(data)
    return data


def _b64(data: bytes) -> str:
    return base64.encodebytes(data).decode("ascii").rstrip("\n")


def _png(text: str) -> bytes:
    chunk = b"tEXt" + b"Author\x00" + text.encode()
    return (b"\x89PNG\r\n\x1a\n" + len(chunk[4:]).to_bytes(4, "big") + chunk
            + binascii.crc32(chunk).to_bytes(4, "big"))


def _targz(spec: str) -> bytes:
    name, _, content = spec.partition("=")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo(name)
        info.size = len(content.encode())
        archive.addfile(info, io.BytesIO(content.encode()))
    return buffer.getvalue()


def _nested_zip(depth: int, inner: dict[str, bytes]) -> bytes:
    data = _zip(inner)
    for level in range(depth - 1):
        data = _zip({f"level{level}.zip": data})
    return data


def _uu(text: str) -> str:
    data = text.encode()
    lines = ["begin 644 note.txt"]
    for i in range(0, len(data), 45):
        lines.append(binascii.b2a_uu(data[i:i + 45]).decode().rstrip("\n"))
    return "\n".join([*lines, "`", "end"])


def _spaced(text: str) -> str:
    return text.replace("-", " ")


_FW = {c: chr(ord(c) + 0xFEE0) for c in map(chr, range(0x21, 0x7F))}
_BOLD = {**{chr(97 + i): chr(0x1D41A + i) for i in range(26)}}
_CIRCLED = {chr(97 + i): chr(0x24D0 + i) for i in range(26)}


def _noacc(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


def _qp(text: str) -> str:
    return quopri.encodestring(text.encode()).decode("ascii")


DIRECTIVES = {
    "b64": lambda t: _b64(t.encode("utf-8", "surrogateescape")),
    "b64line": lambda t: base64.b64encode(t.encode()).decode(),
    "qp": _qp,
    "zipbytes": lambda t: _b64(_zip({t: b"\x78\x9f\x3e\x22\x10\x00"})),
    "flowsplit": lambda t: t[:len(t) // 2] + " \n" + t[len(t) // 2:],
    "cssat": lambda t: t.replace("@", "\\40 "),
    "reverse": lambda t: t[::-1],
    "utf7": lambda t: t.encode("utf-7").decode("ascii"),
    "ent_zw": lambda t: "&#8203;".join(t),
    "fold": lambda t: t[:len(t) // 2] + "\n " + t[len(t) // 2:],
    "foldtab": lambda t: t[:len(t) // 2] + "\n\t" + t[len(t) // 2:],
    "qpsoft": lambda t: (lambda q: q[:len(q) // 2] + "=\n" + q[len(q) // 2:])(t.replace("@", "=40")),
    "pct": lambda t: "".join(f"%{b:02X}" for b in t.encode()),
    "ent_dots": lambda t: t.replace(".", "&period;"),
    "zw": lambda t: "\u200b".join(t),
    "zwj": lambda t: "\u200d\u2060".join(t),
    "shy_ent": lambda t: "&shy;".join(t),
    "shy": lambda t: "\u00ad".join(t),
    "entdec": lambda t: "".join(f"&#{ord(c)};" for c in t),
    "split": lambda t: t[:2] + "<b></b>" + t[2:],
    "acc_ent": lambda t: html.escape(t).encode("ascii", "xmlcharrefreplace").decode().replace(
        "&#233;", "&eacute;").replace("&#201;", "&Eacute;"),
    "fw": lambda t: "".join(_FW.get(c, c) for c in t),
    "fwdots": lambda t: t.replace(".", "．"),
    "bold": lambda t: "".join(_BOLD.get(c, c) for c in t),
    "circled": lambda t: "".join(_CIRCLED.get(c, c) for c in t),
    "upper": str.upper,
    "nfd": lambda t: unicodedata.normalize("NFD", t),
    "noacc": _noacc,
    "spaced": _spaced,
    "latin1": lambda t: t.encode("latin-1").decode("utf-8", "surrogateescape"),
    "uu": _uu,
    "zip": lambda t: _b64(_zip({t.partition("=")[0]: t.partition("=")[2].encode()})),
    "zipmany": lambda t: _b64(_zip({f"p{i}.txt": b"" for i in range(int(t))})),
    "zipenc": lambda t: _b64(_zip({t: b"secret"}, encrypt_flag=True)),
    "zipnest": lambda t: _b64(_nested_zip(int(t), {"fin.txt": b"fin"})),
    "zipbomb": lambda t: _b64(_zip({"big.txt": b"0" * 20_000_000})),
    "zipexe": lambda t: _b64(_nested_zip(int(t), {"setup.exe": b"MZ\x90\x00"})),
    "targz": lambda t: _b64(_targz(t)),
    "png": lambda t: _b64(_png(t)),
    "rfc2047b": lambda t: email.header.Header(t, "utf-8").encode(),
    "rfc2047q": lambda t: "=?utf-8?q?" + quote(t.encode(), safe="").replace("%", "=") + "?=",
}
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
_DIRECTIVE = re.compile(r"\{\{(\w+):((?:(?!\{\{)(?!\}\})[\s\S])*)\}\}")


def load(name: str, values: dict[str, str] | None = None) -> bytes:
    """The file with placeholders filled (default: SENDER) and directives applied, CRLF ends."""
    given = {**SENDER, **(values or {})}
    given["sender_local"], _, given["sender_domain"] = given["sender"].rpartition("@")
    text = (FOLDER / name).read_text(encoding="utf-8")
    text = _PLACEHOLDER.sub(lambda m: given.get(m.group(1), m.group(0)), text)
    while (found := _DIRECTIVE.search(text)) is not None:
        text = text[:found.start()] + DIRECTIVES[found.group(1)](found.group(2)) + text[found.end():]
    data = text.encode("utf-8", "surrogateescape")
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


# ---------------------------------------------------------------- the client view oracle
_TAG = re.compile(r"<[^>]*>")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_ATTR = re.compile(r"""(?:href|src|alt|title)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.I)
_UU = re.compile(r"^begin \d{3} .*?$(.*?)^end$", re.M | re.S)


def _decode(data: bytes, charset: str | None) -> str:
    for name in (charset, "utf-8", "cp1252", "latin-1"):
        if name:
            try:
                return data.decode(name)
            except (LookupError, UnicodeDecodeError):
                continue
    return data.decode("latin-1")


def _html_views(markup: str) -> list[str]:
    stripped = _COMMENT.sub("", markup)
    views = [html.unescape(_TAG.sub("", stripped))]
    for match in _ATTR.finditer(stripped):
        value = html.unescape(next(g for g in match.groups() if g is not None))
        views += [value, unquote(value)]
        if value.startswith("data:") and "," in value:
            head, _, body = value.partition(",")
            content = base64.b64decode(body + "==") if ";base64" in head else unquote(body).encode()
            views.append(_TAG.sub("", content.decode("utf-8", "replace")))
    return views


def _archive_views(data: bytes, depth: int = 0) -> list[str]:
    views: list[str] = []
    if depth > 6:
        return views
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist()[:50]:
                views.append(info.filename)
                if info.file_size < 100_000 and not info.flag_bits & 1:
                    inner = archive.read(info)
                    views += _archive_views(inner, depth + 1) or [_decode(inner, None)]
        return views
    except zipfile.BadZipFile:
        pass
    try:
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            for member in archive.getmembers():
                views.append(member.name)
                stream = archive.extractfile(member)
                if stream:
                    views.append(_decode(stream.read(), None))
    except (tarfile.TarError, OSError, EOFError):
        pass
    return views


def _part_views(part: Message, depth: int, skip: tuple[str, ...] = ()) -> list[str]:
    views: list[str] = []
    hidden = {name.lower() for name in skip}
    for key, value in part.raw_items():
        if key.lower() in hidden:
            continue
        raw = str(value).encode("utf-8", "surrogateescape")
        views.append(_decode(raw, None))  # 8-bit header bytes as a client guesses them
        with contextlib.suppress(Exception):  # undecodable encoded-words are shown as written
            views.append(str(email.header.make_header(email.header.decode_header(str(value)))))
    for attribute in ("preamble", "epilogue"):
        if getattr(part, attribute, None):
            views.append(str(getattr(part, attribute)))
    cte = str(part.get("Content-Transfer-Encoding", "")).lower().strip()
    if part.get_content_maintype() == "message" and cte in ("base64", "quoted-printable"):
        inner = part.get_payload()[0]  # the parser read the encoded text as a message body
        encoded = inner.as_string() if list(inner.keys()) else str(inner.get_payload())
        decoded = (base64.b64decode(re.sub(r"\s", "", encoded) + "==") if cte == "base64"
                   else quopri.decodestring(encoded.encode()))
        return views + client_view(decoded, depth + 1)
    if part.is_multipart():
        return views
    filename = part.get_filename()
    if filename:
        views += [filename, unquote(filename)]
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return views
    ctype = part.get_content_type()
    if re.search(rb"^(From|Subject|Received|Return-Path):", data[:2000], re.M) and depth < 15:
        views += client_view(data, depth + 1)
    text = _decode(data, part.get_content_charset()).replace("\r\n", "\n")
    if str(part.get_param("format", "")).lower() == "flowed":  # RFC 3676 soft breaks
        delsp = str(part.get_param("delsp", "")).lower() == "yes"
        text = text.replace(" \n", "" if delsp else " ")
    views.append(text)
    views.append(data.decode("latin-1"))  # binary files as a viewer would show their strings
    views.append(data.decode("utf-16-le", "ignore"))
    if ctype == "text/html" or "<html" in text[:200].lower():
        views += _html_views(text)
    unfolded = re.sub(r"\r?\n[ \t]", "", text)
    views += [unfolded, quopri.decodestring(unfolded.encode("utf-8", "replace")).decode(
        "utf-8", "replace")]
    for block in _UU.findall(text):
        out = b""
        for line in block.strip().splitlines():
            with contextlib.suppress(binascii.Error):
                out += binascii.a2b_uu(line)
        views.append(out.decode("utf-8", "replace"))
    if data[:2] == b"PK" or data[:2] == b"\x1f\x8b":
        views += _archive_views(data)
    return views


def _walk(msg: Message) -> list[Message]:
    """Every part, not descending into base64/quoted-printable message/* (decoded instead)."""
    found = [msg]
    cte = str(msg.get("Content-Transfer-Encoding", "")).lower().strip()
    if msg.get_content_maintype() == "message" and cte in ("base64", "quoted-printable"):
        return found
    payload = msg.get_payload()
    if isinstance(payload, list):
        for child in payload:
            found += _walk(child)
    return found


def client_view(raw: bytes, depth: int = 0, *, skip: tuple[str, ...] = ("To",)) -> list[str]:
    """Every text the recipient can see of the message (the top-level `skip` headers aside)."""
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    views: list[str] = []
    for index, part in enumerate(_walk(msg)):
        views += _part_views(part, depth, skip if index == 0 and depth == 0 else ())
    # Drawn as a client draws it: right-to-left overrides reverse their run, format characters
    # are not drawn, compatibility forms look like their base letters.
    views = [re.sub("\u202e([^\u202c\n]*)", lambda m: m.group(1)[::-1], v) for v in views]
    return [unicodedata.normalize("NFKC", "".join(
        c for c in v if unicodedata.category(c) != "Cf")) for v in views]


def _flat(text: str) -> str:
    folded = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return re.sub(r"[\s\-]+", " ", folded.casefold())


def leaks(raw: bytes, who: dict[str, str] | None = None,
          skip: tuple[str, ...] = ("To",)) -> list[str]:
    """Which of the secrets the client view of `raw` shows."""
    who = {**SENDER, **(who or {})}
    domain = who["sender"].rpartition("@")[2]
    secrets = {"sender address": who["sender"], "partner address": who["partner"],
               "personal domain": domain, "surname": who["surname"], "full name": who["full"]}
    views = client_view(raw, skip=skip)
    seen = "\n".join(_flat(v) for v in views)
    seen += "\n" + "\n".join(_flat(unquote(v)) for v in views if "%" in v)
    return [label for label, secret in secrets.items() if _flat(secret) in seen]
