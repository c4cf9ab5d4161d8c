"""What a moderator's reply to a notice decides: approve, reject with a reason, or nothing clear.

Pure: text in, decision out. Quoted notices (Gmail "On … wrote:", "Le … a écrit :", Outlook
"-----Original Message-----" / "De :" header blocks, `>` lines) and signatures are not read.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from mailparser_reply import EmailReplyParser

APPROVE_WORDS = {"approve", "approved", "approuve", "approuver", "approuvé", "ok", "okay", "oui",
                 "yes", "accept", "accepte", "accepter", "valide", "valider"}
REJECT_WORDS = {"reject", "rejected", "refuse", "refuser", "refusé", "rejeter", "rejette", "non",
                "no", "deny"}
# Lines that start what the moderator did not write: quoted notice, client headers, signatures.
QUOTE_START = re.compile(
    r"^(>|On .+ wrote:?$|Le .+ a écrit\s*:?$|-{2,}\s*(Original Message|Message d'origine)\s*-{2,}"
    r"|(From|De)\s*:\s|(Sent|Envoyé)\s*:\s|_{5,}|-- ?$)", re.IGNORECASE)
FIRST_WORD = re.compile(r"^\s*([^\W\d_]+)[ \t]*[:,.!\-–—]*[ \t]*(.*)$", re.DOTALL)


@dataclass(frozen=True)
class ReplyDecision:
    action: Literal["approve", "reject", "unclear"]
    text: str  # the reason of a rejection, or the note of an approval ("" if none)


def _own_cut(text: str) -> str:
    lines = text.splitlines()
    kept: list[str] = []
    for number, line in enumerate(lines):
        stripped = line.strip()
        following = lines[number + 1].strip() if number + 1 < len(lines) else ""
        # Gmail wraps a long attribution: "On Sun, … <program@…>" / "wrote:".
        wrapped = stripped.startswith(("On ", "Le ")) and re.match(r"^(wrote|a écrit)\s*:", following)
        if QUOTE_START.match(stripped) or wrapped:
            break
        kept.append(line.rstrip())
    return "\n".join(kept).strip()


def written_part(text: str) -> str:
    """What the moderator typed, without the quoted notice or the client's header block.

    Our own cut first; mail-parser-reply then may cut more (other clients' attributions), but
    only at a line boundary of what we kept: it has been seen to return a stray word of the
    attribution line ("Le") for a reply with nothing typed above it."""
    own = _own_cut(text)
    try:
        theirs = (EmailReplyParser(languages=["en", "fr"]).parse_reply(text=own) or "").strip()
    except Exception:  # the library is a help, not a requirement
        return own
    if theirs and own.startswith(theirs) and own[len(theirs):len(theirs) + 1] in ("", "\n"):
        return theirs
    return own


def _fold(word: str) -> str:
    return unicodedata.normalize("NFC", word.lower())


def _first_paragraph(text: str) -> str:
    """What follows the command word up to the first blank line (after it: a sign-off or a
    signature, never a reason a participant should read)."""
    first, *below = text.split("\n")
    kept = [first.strip()] if first.strip() else []
    for line in below:
        if not line.strip():
            break
        kept.append(line.strip())
    return "\n".join(kept)


def read_decision(text: str) -> ReplyDecision:
    """`approve` / `ok` / `oui` [note], or `reject: reason` / `non: raison` (the reason on the
    same line or the lines right below it). Anything else is unclear and decides nothing."""
    written = written_part(text)
    found = FIRST_WORD.match(written)
    if not found:
        return ReplyDecision("unclear", "")
    word, rest = _fold(found.group(1)), found.group(2)
    if word in APPROVE_WORDS:
        return ReplyDecision("approve", _first_paragraph(rest))
    if word in REJECT_WORDS:
        return ReplyDecision("reject", _first_paragraph(rest)[:1000])
    return ReplyDecision("unclear", "")
