"""Choosing a mentor by email, the pure part: which of the offered mentors a reply picks."""

from __future__ import annotations

import re

from gateway.matching.fold import fold_tokens

# Where the quoted offer starts in common clients (FR and EN); the choice is above it.
_QUOTE_START = re.compile(
    r"^(>|On .+ wrote:|Le .+ a [ée]crit\s*:|-{3,}\s*Original Message|-{3,}\s*Message d'origine|"
    r"De\s*:|From\s*:|Envoy[ée]\s*:|Sent\s*:|_{5,}|--\s*$)", re.IGNORECASE)
_SPELLED = {
    "1": 1, "premier": 1, "premiere": 1, "first": 1, "1er": 1,
    "1re": 1, "2": 2, "deux": 2, "two": 2, "deuxieme": 2, "second": 2, "seconde": 2, "2e": 2,
    "3": 3, "trois": 3, "three": 3, "troisieme": 3, "third": 3, "3e": 3,
}
_WORDS = {fold_tokens(word)[0]: number for word, number in _SPELLED.items()}
# "un", "une", "one" are also articles ("the second one"): a choice only when alone.
_WEAK_ONE = frozenset({"un", "une", "one"})
# Words that may surround a choice without making it unclear ("je choisis le 2", "#2 please").
_FILLER = frozenset(fold_tokens(
    "je j choisis choisi choix choose chose option numero number no le la l mentor mentore "
    "mentorat please svp stp sil vous plait merci thanks thank you pick take prends veux "
    "voudrais want would like ok oui yes bonjour salut hello hi allo the"))


def own_text(reply: str) -> str:
    """The lines the mentee typed, above the quoted offer."""
    lines: list[str] = []
    for line in reply.splitlines():
        if _QUOTE_START.match(line.strip()):
            break
        lines.append(line)
    return "\n".join(lines).strip()


def parse_choice(reply: str, offered: int) -> int | None:
    """1..offered when the reply clearly names one offer; None when unclear (explain, change nothing).

    Clear: "2", "#2", "Le 2 svp", "deux", "the second one". Unclear: two different numbers, a
    number outside the offer, or words that are not about choosing ("je ne sais pas").
    """
    tokens = fold_tokens(own_text(reply))
    picks = {_WORDS[t] for t in tokens if t in _WORDS}
    if not picks and any(t in _WEAK_ONE for t in tokens):
        picks = {1}
    others = [t for t in tokens if t not in _WORDS and t not in _FILLER and t not in _WEAK_ONE]
    if len(picks) != 1 or others:
        return None
    choice = picks.pop()
    return choice if 1 <= choice <= offered else None
