"""Turn text as written into text as a client shows it: no invisible characters, NFKC, unfolded."""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from urllib.parse import unquote

# Characters a client draws as nothing (format characters: zero-width space/joiners, soft hyphen,
# bidi controls, word joiner, BOM, Mongolian vowel separator, combining grapheme joiner, tags).
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\U000e0000-\U000e007f]+")
# RFC 5545/6350 folding: a line break followed by one space or tab continues the line.
_FOLD = re.compile(r"\r?\n[ \t]")
_PERCENT = re.compile(r"%[0-9a-fA-F]{2}")
_UU_BEGIN = re.compile(r"^begin [0-7]{3,4} (.*)$", re.MULTILINE)
_DATA_URI = re.compile(r"data:([\w.+-]+/[\w.+-]+)?((?:;[\w.+-]+=[\w.+-]+)*)(;base64)?,([^\s\"'<>)]*)",
                       re.IGNORECASE)
MAX_UU_BYTES = 5 * 1024 * 1024
_ASCII_BYTES = bytes(range(128))


_OVERRIDE = re.compile("\u202e([^\u202c\n]*)\u202c?")


def display_order(text: str) -> str:
    """Text after a right-to-left override is drawn reversed: "\u202emoc.x@oj" shows "jo@x.com"."""
    if "\u202e" not in text:
        return text
    return _OVERRIDE.sub(lambda m: m.group(1)[::-1], text)


def unflow(text: str, *, delsp: bool) -> str:
    """RFC 3676 format=flowed: a line ending in a space continues on the next one."""
    return re.sub(r" \r?\n" if delsp else r"(?<= )\r?\n", "", text)


# Long texts already drawn, and how: the relay draws a message's body for the rules and again
# for the leak check of its forward (NFKC's check alone costs ~2 µs a KB). A few, not too long.
_DRAWN: dict[str, str] = {}
_DRAWN_SIZES = range(512, 65537)
_DRAWN_COUNT = 8


def visible(text: str, *, reorder: bool = True) -> str:
    """What is drawn: format characters removed, then compatibility forms folded (NFKC).
    `reorder=False` keeps the logical order (a file's real extension, not the one drawn)."""
    if text.isascii():
        return text
    if not reorder or len(text) not in _DRAWN_SIZES:
        return _drawn(text, reorder=reorder)
    found = _DRAWN.get(text)
    if found is None:
        found = _drawn(text, reorder=True)
        if len(_DRAWN) >= _DRAWN_COUNT:
            _DRAWN.clear()  # start over rather than grow (or order the entries)
        _DRAWN[text] = found
    return found


def _drawn(text: str, *, reorder: bool) -> str:
    if reorder:
        text = display_order(text)
    # The distinct non-ASCII characters, found at C speed: a regex scan of 50 KB costs ~1 ms.
    others = set(text.encode("utf-8", "surrogatepass").translate(None, _ASCII_BYTES)
                 .decode("utf-8", "surrogatepass"))
    if any(_INVISIBLE.match(char) for char in others):
        text = _INVISIBLE.sub("", text)
    return text if unicodedata.is_normalized("NFKC", text) else unicodedata.normalize("NFKC", text)


def unfold(text: str) -> str:
    """iCalendar/vCard content lines joined back (a folded line is one line on screen)."""
    return _FOLD.sub("", text)


def percent_decoded(text: str) -> str:
    """`%40` and friends decoded (links, RFC 2231 values); '' when the text holds none."""
    if "%" not in text or not _PERCENT.search(text):
        return ""
    try:
        return unquote(text, errors="replace")
    except Exception:  # noqa: BLE001 - junk escapes: nothing more to show
        return ""


def uudecoded(text: str) -> list[tuple[str, bytes]]:
    """Each uuencoded block of a plain text (`begin 644 name` … `end`) as (name, bytes)."""
    if "begin " not in text:
        return []
    blocks: list[tuple[str, bytes]] = []
    for match in _UU_BEGIN.finditer(text):
        out = bytearray()
        for line in text[match.end():].splitlines()[1:]:
            if line.strip() == "end" or len(out) > MAX_UU_BYTES:
                break
            if not line:
                continue
            try:
                out += binascii.a2b_uu(line)
            except (binascii.Error, ValueError):
                try:  # some encoders write lines a2b_uu finds too long: trust the length byte
                    length = (ord(line[0]) - 32) & 63
                    out += binascii.a2b_uu(line[: 1 + (length + 2) // 3 * 4])
                except (binascii.Error, ValueError, IndexError):
                    break
        blocks.append((match.group(1).strip(), bytes(out)))
    return blocks


def uu_spans(text: str) -> list[tuple[int, int]]:
    """Where each uuencoded block (from `begin` to `end`) sits in `text`."""
    spans = []
    for match in _UU_BEGIN.finditer(text):
        end = re.search(r"^end[ \t]*$", text[match.end():], re.MULTILINE)
        spans.append((match.start(), match.end() + (end.end() if end else len(text) - match.end())))
    return spans


def data_uris(text: str) -> list[tuple[str, bytes]]:
    """Every `data:` URI in a text or link as (media type, decoded bytes)."""
    if "data:" not in text.lower():
        return []
    found = []
    for match in _DATA_URI.finditer(text):
        media = (match.group(1) or "text/plain").lower()
        body = match.group(4)
        try:
            data = (base64.b64decode(unquote(body) + "===", validate=False) if match.group(3)
                    else unquote(body).encode("utf-8", "replace"))
        except (binascii.Error, ValueError):
            continue
        found.append((media, data))
    return found


def looks_like_text(data: bytes) -> bool:
    """True for bytes a viewer would open as text: no NUL, mostly printable once decoded."""
    sample = data[:4096]
    if not sample or b"\x00" in sample:
        return False
    try:
        sample.decode("utf-8")
        return True
    except UnicodeDecodeError as error:
        if error.start >= len(sample) - 4:  # a character cut at the end of the sample
            return True
    printable = sum(1 for byte in sample if byte >= 32 or byte in (9, 10, 13))
    return printable / len(sample) > 0.95


def decode_text(data: bytes, charset: str | None) -> str:
    """Bytes as a client decodes them: declared charset, else UTF-8, else Windows-1252/Latin-1."""
    for candidate in (charset, "utf-8", "cp1252"):
        if not candidate:
            continue
        try:
            return data.decode(_codec(candidate))
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("latin-1")


def _codec(charset: str) -> str:
    name = charset.strip().strip('"').lower()
    # Mislabelled Latin-1 is really Windows-1252 for every client (the WHATWG rule).
    return "cp1252" if name in ("iso-8859-1", "latin1", "latin-1", "us-ascii", "ascii") else name
