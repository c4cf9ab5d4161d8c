"""A short excerpt of a held message with the rules' evidence marked, for moderators' notices."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

EXCERPT_CHARS = 600


def evidence_spans(text: str, hits: Sequence[Mapping[str, Any]]) -> list[tuple[int, int]]:
    """Every place an evidence passage occurs in `text`, overlapping ones merged."""
    spans: list[tuple[int, int]] = []
    for passage in {str(h.get("evidence") or "") for h in hits}:
        start = text.find(passage) if passage else -1
        while start >= 0:
            spans.append((start, start + len(passage)))
            start = text.find(passage, start + len(passage))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def excerpt_parts(text: str, hits: Sequence[Mapping[str, Any]],
                  limit: int = EXCERPT_CHARS) -> list[tuple[str, bool]]:
    """(piece, flagged) pieces of at most `limit` characters of the text, starting a little before
    the first evidence so that it is always in view; "…" where the text was cut."""
    text = text.strip()
    spans = evidence_spans(text, hits)
    begin = max(0, spans[0][0] - limit // 3) if spans and spans[0][1] > limit else 0
    end = min(len(text), begin + limit)
    pieces: list[tuple[str, bool]] = [("…", False)] if begin else []
    position = begin
    for start, stop in spans:
        if stop <= begin or start >= end:
            continue
        start, stop = max(start, begin), min(stop, end)
        pieces += [(text[position:start], False), (text[start:stop], True)]
        position = stop
    pieces.append((text[position:end], False))
    if end < len(text):
        pieces.append(("…", False))
    return [(piece, flagged) for piece, flagged in pieces if piece]


def excerpt_text(parts: Sequence[tuple[str, bool]]) -> str:
    """The excerpt for a text/plain part: flagged passages between >>> and <<<."""
    return "".join(f">>>{piece}<<<" if flagged else piece for piece, flagged in parts)
