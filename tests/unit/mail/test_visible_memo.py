"""visible() answers from its memo of long texts exactly what drawing them again answers."""

from __future__ import annotations

import random

from gateway.mail import visible as module
from gateway.mail.visible import visible

PIECES = ["Bonjour ", "é", "\u200b", "\u202e", "gro.elpmaxe@naej", "\u202c", "ﬁ", "Ｔ", "\u00a0",
          "\u0301", "e", "\ufeff", "\n", "x" * 200, "\udce9", "ß"]


def test_long_texts_drawn_from_the_memo_equal_a_fresh_drawing() -> None:
    pick = random.Random(6)
    texts = ["".join(pick.choice(PIECES) for _ in range(pick.randrange(0, 60)))
             for _ in range(300)]
    remembered = 0
    for text in texts + pick.sample(texts, len(texts)):
        for _ in range(2):  # as the relay: once for the rules, once for the leak check
            remembered += text in module._DRAWN
            for reorder in (True, False):
                expected = text if text.isascii() else module._drawn(text, reorder=reorder)
                assert visible(text, reorder=reorder) == expected
    assert remembered > 100
