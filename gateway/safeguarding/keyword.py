"""The report keyword: a message whose first word (new text or subject) is SIGNALER or REPORT."""

from __future__ import annotations

import re
import unicodedata
from email.message import EmailMessage

from gateway.mail.text import HEAD_CHARS, text_of

KEYWORDS = frozenset({"signaler", "signalement", "report"})
# The quoted part of a reply starts at one of these lines; only what was typed above counts.
_QUOTE_START = re.compile(
    r"^(>|On .+ wrote:|Le .+ a [ée]crit\s*:|-{3,}\s*(Original|Forwarded|Message)|De\s*:|From\s*:|_{5,})",
    re.IGNORECASE)
_SUBJECT_PREFIX = re.compile(r"^\s*((re|tr|fw|fwd|réf|ref|aw|sv)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
# Around the word: quotes, brackets, stars, dashes a child might type ("*SIGNALER*", « signaler »).
_WORD = re.compile(r"[\W_]*([^\W\d_]+)", re.UNICODE)


def fold(word: str) -> str:
    """Lower case without accents: SIGNALÉR, Signaler and signaler are one word."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def first_word(text: str) -> str:
    match = _WORD.match(text.lstrip())
    return fold(match.group(1)) if match else ""


def new_text(text: str, *, first_word_only: bool = False) -> str:
    """The lines typed above the quoted message (quoted lines and the attribution line left out).

    `first_word_only`: stop at the first line with a letter or digit, which decides first_word
    (a word never spans lines), instead of reading a long message to its end."""
    lines: list[str] = []
    for line in text.splitlines():
        if _QUOTE_START.match(line.strip()):
            break
        lines.append(line)
        if first_word_only and _DECIDES.search(line):
            break
    return "\n".join(lines).strip()


_DECIDES = re.compile(r"[^\W_]")


def is_report_text(subject: str, body: str) -> bool:
    if first_word(_SUBJECT_PREFIX.sub("", subject or "")) in KEYWORDS:
        return True
    return first_word(new_text(body, first_word_only=True)) in KEYWORDS


def is_report(msg: EmailMessage) -> bool:
    """True when the sender asks for help: the first word they typed is a report keyword."""
    try:
        subject = str(msg.get("Subject") or "")
    except Exception:  # a malformed subject: the body still counts
        subject = ""
    try:
        body = text_of(msg, head=HEAD_CHARS)
    except Exception:  # unreadable body: the subject decided
        body = ""
    return is_report_text(subject, body)
