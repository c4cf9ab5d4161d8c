"""A normalized reading of a folded text (texting spellings, emoji, spaced letters) with offsets.

Rules about intent and contact details must see "chu", "tkt", "5️⃣1️⃣4️⃣", "ｓｎａｐ" and
"s n a p" as "je suis", "t'inquiete", "514", "snap" and "snap". The reading is built in one
regex pass over the folded text (same length as the original), and every span found in it maps
back to the original text, so evidence and redaction still point at what the sender wrote.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass

# Texting spellings, folded (no accents), whole words only. Kept to forms that are not ordinary
# words of the other language ("ya" is "il y a" in French and "you" in English: left alone).
TEXTING: dict[str, str] = {
    # Québec French
    "pis": "puis", "jsp": "je sais pas", "jsais": "je sais", "chu": "je suis", "chui": "je suis",
    "jsuis": "je suis", "che": "je sais", "tkt": "t'inquiete", "pcq": "parce que",
    "pck": "parce que", "c": "c'est", "ct": "c'etait", "jai": "j'ai", "ptit": "petit",
    "ptite": "petite", "qqn": "quelqu'un", "qqch": "quelque chose", "bcp": "beaucoup",
    "stp": "s'il te plait", "svp": "s'il vous plait", "tse": "tu sais", "koi": "quoi",
    "kan": "quand", "ki": "qui", "ke": "que", "dla": "de la", "tjrs": "toujours",
    "pk": "pourquoi", "pq": "pourquoi", "msg": "message", "num": "numero", "toe": "toi",
    "moe": "moi", "icitte": "ici", "fak": "alors", "faque": "alors", "asteure": "maintenant",
    "mtn": "maintenant", "jte": "je te", "jvais": "je vais", "jveux": "je veux",
    "jpeux": "je peux", "jtenvoie": "je t'envoie", "jtaime": "je t'aime", "dis-le": "dis le",
    # English
    "u": "you", "ur": "your", "r": "are", "pls": "please", "plz": "please", "rn": "right now",
    "wanna": "want to", "gonna": "going to", "gotta": "got to", "lemme": "let me",
    "gimme": "give me", "irl": "in real life", "bf": "boyfriend", "gf": "girlfriend",
    "pic": "photo", "pics": "photos", "pix": "photos", "txt": "text", "b4": "before",
    "2nite": "tonight", "2day": "today", "l8r": "later", "cuz": "because", "bc": "because",
    "ppl": "people", "dont": "don't", "cant": "can't", "im": "i'm", "youre": "you're",
    "ive": "i've", "doesnt": "doesn't", "didnt": "didn't", "thats": "that's", "whats": "what's",
    "wat": "what", "wut": "what", "luv": "love", "bday": "birthday", "hmu": "hit me up",
    "wyd": "what are you doing", "wya": "where are you", "nvm": "never mind",
}
# Emoji that stand for a word in these messages; variation selectors and keycaps vanish.
EMOJI: dict[str, str] = {
    "\U0001f47b": " snapchat ", "\U0001f4f8": " instagram ", "\U0001f4f7": " photo ",
    "\U0001f4de": " telephone ", "\u260e": " telephone ", "\U0001f4f1": " telephone ",
    "\U0001f92b": " secret ", "\U0001f910": " secret ", "\U0001f346": " sexe ",
    "\U0001f351": " sexe ", "\U0001f4a6": " sexe ", "\U0001f445": " sexe ",
    "\U0001f697": " voiture ", "\U0001f381": " cadeau ", "\U0001f4b5": " argent ",
    "\U0001f4b0": " argent ", "\U0001f4b8": " argent ", "\U0001f3e0": " maison ",
    "\U0001f3e1": " maison ", "\U0001f4cd": " adresse ", "\U0001f48b": " bisou ",
    "\U0001f618": " bisou ",
}
_INVISIBLE = "\ufe0f\ufe0e\u20e3\u200b\u200c\u200d\u2060\ufeff\u00ad"
_SEP = r"[ .\-_*]"
# Three or more single letters (then maybe single digits), or three or more single digits,
# each separated by one character: "s n a p", "s.a.m.k.0.9", "5 1 4".
_SPACED = (rf"(?<![\w'@])(?:[a-z](?:{_SEP}[a-z]){{2,}}(?:{_SEP}[0-9])*"
           rf"|[0-9](?:{_SEP}[0-9]){{2,}})(?![\w'@])")
_WIDE = "\uff01-\uff5e\U0001d7ce-\U0001d7ff\u2460-\u2468\u2070-\u2079\u2080-\u2089"
_CHARS = re.compile(rf"[{_INVISIBLE}{_WIDE}{''.join(EMOJI)}]+")
# Two single characters in a row ("il y a", "s n a p"): only there can a spaced run start.
_SINGLES = re.compile(rf"[\s.\-_*(:;,/\"<>\[]([a-z0-9]){_SEP}[a-z0-9](?![\w'@])")
_SPACED_RUN = re.compile(_SPACED)
_SPACED_REACH = 128  # a spaced run is read from a little before the first pair of singles


@functools.lru_cache(maxsize=256)
def _texting_pattern(words: frozenset[str]) -> re.Pattern[str]:
    alternatives = "|".join(sorted((re.escape(w) for w in words), key=len, reverse=True))
    return re.compile(rf"(?<![\w'-])(?:{alternatives})(?![\w'-])")


def _wide_char(char: str) -> str:
    code = ord(char)
    if 0xFF01 <= code <= 0xFF5E:
        return chr(code - 0xFEE0).lower()
    if 0x1D7CE <= code <= 0x1D7FF:
        return str((code - 0x1D7CE) % 10)
    if 0x2460 <= code <= 0x2468:
        return str(code - 0x245F)
    if 0x2070 <= code <= 0x2079 or 0x2080 <= code <= 0x2089:
        return str(code % 16)
    return ""


def _spaced(match: re.Match[str]) -> str:
    return re.sub(_SEP, "", match.group())


def _word(match: re.Match[str]) -> str:
    return TEXTING[match.group()]


def _chars(match: re.Match[str]) -> str:
    return "".join(EMOJI.get(c) or _wide_char(c) for c in match.group())


# A byte per character: ASCII letters and digits "a", the separators of _SEP "b", anything else
# "x". A match of _SINGLES has a lone "a" (none beside it), a "b", then another lone "a".
_CLASSES = bytes(
    97 if 97 <= code <= 122 or 48 <= code <= 57 else 98 if chr(code) in " .-_*" else 120
    for code in range(256))
# Each starts with a three-byte literal, rare in text (a lone character and a separator), so
# re skips to it at C speed; a class first, or "aba" alone (every gap between words), would not.
_LONE_PAIRS = (re.compile(rb"bab(?=a(?!a))"), re.compile(rb"xab(?=a(?!a))"))


def _lone_pairs(classes: bytes) -> list[int]:
    """Every index of a lone "a" followed by "b" and a lone "a", in order. A match hides the
    next one only when that one starts on its last "a" ("s n a p"): followed along the chain."""
    found: set[int] = set()
    for pattern in _LONE_PAIRS:
        for match in pattern.finditer(classes):
            at = match.start() + 1
            if at in found:
                continue  # followed already, to the end of its chain
            found.add(at)
            # (a chain is followed once: "1 1 1 …" must stay linear)
            while (classes[at + 3:at + 5] == b"ba" and classes[at + 5:at + 6] != b"a"
                   and at + 2 not in found):
                at += 2
                found.add(at)
    return sorted(found)


def _singles(text: str) -> Iterator[re.Match[str]]:
    """What _SINGLES.finditer(text) yields, tried only at the lone pairs of characters (found at
    C speed), not at every character (its first class has no literal for re to skip to)."""
    classes = text.encode("ascii", "replace").translate(_CLASSES)  # one byte per character
    position = 0  # where finditer would search from: after the last match
    for at in _lone_pairs(classes):
        if at - 1 >= position:
            match = _SINGLES.match(text, at - 1)
            if match is not None:
                yield match
                position = match.end()


_ASCII_BYTES = bytes(range(128))


def _may_have_chars(folded: str) -> bool:
    """Whether one of _CHARS' characters occurs: its distinct non-ASCII characters, found at C
    speed, are few; _CHARS (a large class, tried at every character) costs ~30 ns a character."""
    utf8 = folded.encode("utf-8", "surrogatepass")
    others = set(utf8.translate(None, _ASCII_BYTES).decode("utf-8", "surrogatepass"))
    return any(_CHARS.match(char) for char in others)


def _edits(folded: str, words: frozenset[str]) -> list[tuple[int, int, str]]:
    """(start, end, replacement) of every change, disjoint, in text order. Each kind of change
    is searched only where a cheap test says it can be: most long texts need none."""
    edits: list[tuple[int, int, str]] = []
    if not folded.isascii() and _may_have_chars(folded):
        edits += [(m.start(), m.end(), _chars(m)) for m in _CHARS.finditer(folded)]
    texting = words & TEXTING.keys()
    if texting:
        edits += [(m.start(), m.end(), _word(m))
                  for m in _texting_pattern(frozenset(texting)).finditer(folded)]
    searched_to = 0
    for single in _singles(" " + folded):  # the space: a run may open the text
        first = single.start(1) - 1  # in `folded`
        if first < searched_to:
            continue
        run = _SPACED_RUN.search(folded, first, first + _SPACED_REACH)
        if run is not None and run.start() <= first + 2:  # "s n a p", or "c 5 1 4" from the 5
            edits.append((run.start(), run.end(), _spaced(run)))
            searched_to = run.end()
    edits.sort()
    kept: list[tuple[int, int, str]] = []
    for edit in edits:  # a spaced run wins over a texting word inside it ("c 5 1 4" keeps "c")
        if kept and edit[0] < kept[-1][1]:
            if edit[1] - edit[0] > kept[-1][1] - kept[-1][0]:
                kept[-1] = edit
            continue
        kept.append(edit)
    return kept


@dataclass(frozen=True)
class Reading:
    """`text` is the normalized reading; spans in it map back to the original with `span`."""

    text: str
    # (reading start, reading end, original start, original end) of every replaced stretch
    changes: tuple[tuple[int, int, int, int], ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    def position(self, index: int, *, end: bool) -> int:
        """The original offset of reading offset `index` (a replaced stretch maps as a whole)."""
        starts = [c[0] for c in self.changes]
        at = bisect.bisect_right(starts, index) - 1
        if at < 0:
            return index
        r_start, r_end, o_start, o_end = self.changes[at]
        if index < r_end:
            return o_end if end and index > r_start else o_start
        return o_end + (index - r_end)

    def span(self, start: int, end: int) -> tuple[int, int]:
        return self.position(start, end=False), self.position(end, end=True)


def read(folded: str, words: frozenset[str]) -> Reading:
    """The normalized reading of a folded text (see fold.fold); `words` is words_of(folded)."""
    pieces: list[str] = []
    changes: list[tuple[int, int, int, int]] = []
    position = length = 0
    for start, end, replacement in _edits(folded, words):
        if replacement == folded[start:end]:
            continue
        pieces.append(folded[position:start])
        length += start - position
        changes.append((length, length + len(replacement), start, end))
        pieces.append(replacement)
        length += len(replacement)
        position = end
    if not changes:
        return Reading(folded)
    pieces.append(folded[position:])
    return Reading("".join(pieces), tuple(changes))
