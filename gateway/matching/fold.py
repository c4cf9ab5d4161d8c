"""Fold words for comparison: no accents, no case, no punctuation, light plural stripping."""

from __future__ import annotations

import re
import unicodedata

_NON_WORD = re.compile(r"[^0-9a-z]+")


def fold_tokens(text: str) -> list[str]:
    """'Jeux vidéo, l'Infirmière!' -> ['jeu', 'video', 'l', 'infirmiere']."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    bare = bare.replace("œ", "oe").replace("æ", "ae").replace("ß", "ss")
    return [_singular(token) for token in _NON_WORD.split(bare) if token]


def fold(text: str) -> str:
    return " ".join(fold_tokens(text))


def _singular(token: str) -> str:
    # French and English plurals mostly add -s or -x; both sides are folded alike, so a crude
    # rule is enough ("infirmieres" and "infirmiere" meet, so do "jeux" and "jeu").
    if len(token) > 3 and token[-1] in "sx" and not token.endswith("ss"):
        return token[:-1]
    return token
