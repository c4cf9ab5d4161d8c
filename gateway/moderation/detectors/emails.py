"""Find email addresses, also written as "jo arobase gmail point com" or "jo (at) gmail (dot) com"."""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterable, Iterator

from gateway.moderation.detectors import Finding, Taken

_PLAIN = re.compile(
    r"(?<![\w.%+-])[a-z0-9][a-z0-9._%+-]{0,63}@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,24}(?![\w-])")

# Obfuscated forms must end in a well-known top-level domain, so that "meet at school" is safe.
_TLDS = ("com|net|org|ca|fr|be|ch|io|me|info|edu|gouv|gov|uk|co|us|de|es|it|live|qc|ac|"
         "online|app|dev|xyz")
_AT = r"(?:\s*(?:@|[(\[{<]\s*(?:at|arobase?|a)\s*[)\]}>])\s*|\s+(?:at|arobase?|chez)\s+)"
_DOT = r"(?:\s*(?:\.|[(\[{<]\s*(?:dot|point|pt)\s*[)\]}>])\s*|\s+(?:dot|point)\s+)"
_LABEL = r"[a-z0-9](?:[a-z0-9_-]{0,62})"
_OBFUSCATED = re.compile(
    rf"(?<![\w.+-]){_LABEL}(?:{_DOT}{_LABEL})*{_AT}{_LABEL}(?:{_DOT}{_LABEL})*{_DOT}(?:{_TLDS})(?![\w-])")
_SEPARATOR_AT = re.compile(_AT)
_SEPARATOR_DOT = re.compile(_DOT)


def canonical(evidence: str) -> str:
    """The address an obfuscated spelling stands for: "jo (at) x (dot) com" -> "jo@x.com"."""
    text = evidence.strip().lower()
    text = _SEPARATOR_AT.sub("@", text, count=1)
    return _SEPARATOR_DOT.sub(".", text).replace(" ", "")


_AROUND_AT = re.compile(r"[^\s@]+@[^\s@]+")


def _reversed(folded: str) -> list[tuple[int, int]]:
    """Addresses written backwards ("moc.liamg@oj")."""
    return [m.span() for m in _AROUND_AT.finditer(folded)
            if _PLAIN.fullmatch(m.group()[::-1].strip(".,;:!?()"))
            and not _PLAIN.fullmatch(m.group().strip(".,;:!?()"))]


def find_emails(field: str, text: str, folded: str, allowed: Iterable[str] = ()) -> list[Finding]:
    """Email addresses in `text`, except the `allowed` ones (the pair's own aliases)."""
    allowed_set = {address.lower() for address in allowed}
    findings: list[Finding] = []
    taken = Taken()
    backwards = _reversed(folded) if "@" in folded else []
    for start, end in _candidates(folded) + backwards:
        if taken.overlaps(start, end):
            continue
        taken.add(start, end)
        if canonical(folded[start:end]) in allowed_set:
            continue
        findings.append(Finding(field, start, end, text[start:end]))
    return findings


# Where an "at" may be: only there is the (slower) full pattern tried, on a small window.
# One search per form, each starting with a literal so that re skips ahead at C speed (one
# alternation would be tried at every position); the forms never overlap, so the merged
# positions are those of the alternation "@|arobase|\bchez\b|\bat\b|[(\[{<]\s*a\s*[)\]}>]".
_AT_MARKERS = (
    re.compile(r"@"),
    re.compile(r"arobase?+"),
    re.compile(r"chez\b(?<!\wchez)"),  # the look-behind after the literal stands for a leading \b
    re.compile(r"at\b(?<!\wat)"),
    # "[(\[{<]\s*a\s*[)\]}>]", one search per opening bracket: a leading class is tried at
    # every position, a leading literal is skipped to at C speed
    *(re.compile(re.escape(bracket) + r"\s*a\s*[)\]}>]") for bracket in "([{<"),
)
_DOMAIN_AFTER = re.compile(rf"[^\s\w]*\s*{_LABEL}(?:{_DOT}{_LABEL})*{_DOT}[a-z]{{2,24}}")
_WINDOW = 80
# The markers followed by a label and a dot, the start of every _DOMAIN_AFTER match: a marker
# without them fails the windowed test too, and re tells so without a Python call per "at".
# Only the first label and dot: the whole domain would read on along "at.at.at…" from every
# "at" (quadratic). Every marker has one possible end ("arobase?+" is possessive: not "arobas"
# + "e.com"), and so has a label before a dot (a dot never starts with a label's character).
# The punctuation before the label is bounded by the window _DOMAIN_AFTER reads (so no marker
# it would accept is skipped) and possessive: unbounded, each "@" of "@@@@…" read on to the end
# of the text (100 KB took two minutes).
_DOMAIN_AHEAD = rf"[^\s\w]{{0,{_WINDOW}}}+\s*[a-z0-9][a-z0-9_-]{{0,62}}+{_DOT}"
_AT_MARKERS_BEFORE_DOMAIN = tuple(re.compile(f"{marker.pattern}(?={_DOMAIN_AHEAD})")
                                  for marker in _AT_MARKERS)


# The "at" forms followed by a label and a dot that one text may have read with the full
# pattern. Each costs up to ~0.13 ms ("at. at. at. …" backtracks through its whole window), so
# 20 MB of them would hold a checking worker, and every message behind it, for ten minutes.
# Past the budget the text is not read on: the next form is reported as an address, and the
# message is held for a moderator (never passed unread). A long letter has a few dozen.
MAX_AT_FORMS = 1000


def _at_markers(folded: str,
                markers: tuple[re.Pattern[str], ...] = _AT_MARKERS) -> Iterator[tuple[int, int]]:
    """Spans of every "at" form, in text order; lazily, as a text may hold millions."""
    found = [(m.span() for m in marker.finditer(folded)) for marker in markers
             # its first character, looked for with memchr: "@", "[", "{", "<" are mostly absent
             if marker.pattern.lstrip("\\")[0] in folded]
    return heapq.merge(*found)


def _candidates(folded: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    if "@" in folded:
        spans += [m.span() for m in _PLAIN.finditer(folded)]
    for read, (marker_start, after) in enumerate(_at_markers(folded, _AT_MARKERS_BEFORE_DOMAIN)):
        if read == MAX_AT_FORMS:
            spans.append((marker_start, min(len(folded), after + _WINDOW)))
            break
        if not _DOMAIN_AFTER.match(folded, after, after + _WINDOW):
            continue
        start = max(0, marker_start - _WINDOW)
        for match in _OBFUSCATED.finditer(folded, start, after + _WINDOW):
            if match.start() <= marker_start < match.end():
                spans.append(match.span())
    return spans
