"""The privacy gate's fold gives what lowering the whole text first gave, on any characters."""

from __future__ import annotations

import random

from gateway.mail.privacy import _base_of, _quick_fold


def _quick_fold_lowered(text: str) -> str:
    """The plain definition: lower the whole text, then each non-ASCII character to its base."""
    return "".join(c if c.isascii() else _base_of(c) for c in text.lower())

# ASCII, accents in both cases, and the characters whose lowercase is special: the sigma that
# depends on its neighbours, "İ" (two characters), ligatures, the Kelvin sign (lowers to ASCII),
# fullwidth letters, a lone surrogate, other scripts.
ALPHABET = [*"aBcZ '-.", "é", "É", "à", "Ç", "Σ", "σ", "ς", "İ", "ı", "ﬁ", "\u212a", "Ａ", "ß",
            "ẞ", "Ǆ", "ǅ", "½", "\ud800", "中", "Ω", "Ö", "ø", "Ł", "ŉ", "\u0345", "ΐ"]


def test_the_fold_equals_lowering_first() -> None:
    rng = random.Random(5)
    for _ in range(30_000):
        text = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 20)))
        assert _quick_fold(text) == _quick_fold_lowered(text), repr(text)


def test_a_long_french_text_folds_to_ascii() -> None:
    text = "Léa a reçu l'exposé à LA LIBRAIRIE, Noël GAGNON-TRÉMBLAY. " * 800
    assert _quick_fold(text) == _quick_fold_lowered(text)
    assert _quick_fold(text).isascii() and "gagnon-tremblay" in _quick_fold(text)
