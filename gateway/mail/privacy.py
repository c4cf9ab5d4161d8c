"""What must never reach the other side (real addresses, personal domains, real names) and how
each is replaced: the alias, a neutral mark, or the name the program shows for that person."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

DOMAIN_MARK = "[…]"
# How an "@" can be spelled in text: plain, percent-encoded, HTML references, fullwidth/small.
_AT = r"(?:@|%40|&#0*64;?|&#x0*40;?|&commat;|\uff20|\ufe6b)"
_NAME_GAP = r"[\s\u00a0\-\u2010\u2011.']*"
_PARTICLES = frozenset({"de", "du", "des", "la", "le", "les", "van", "von", "der", "den", "di",
                        "da", "del", "st", "ste", "saint", "sainte", "mc", "mac", "jr", "sr"})
# Surnames that are also everyday French or English words: written all in lowercase they are the
# word ("à côté de", "tes parents"), so only a capitalized spelling is taken for the name.
COMMON_WORDS = frozenset({
    "cote", "parent", "parents", "lemieux", "roy", "martin", "richard", "blanc", "petit", "brun",
    "noel", "leblanc", "lebrun", "renaud", "vaillancourt", "bois", "dubois", "rivard", "lavallee",
    "fortin", "poirier", "boucher", "charron", "mercier", "lachance", "marchand", "masson",
    "brown", "white", "black", "green", "young", "king", "wood", "hill", "page", "rose", "may",
    "long", "little", "bell", "price", "baker", "cook", "miller", "smith", "carpenter", "hunter",
    "love", "hope", "grace", "joy", "faith", "guerin", "lapierre", "pierre", "laporte", "lacroix",
    "chevalier", "berger", "meunier", "boulanger", "marin", "lavoie", "laplante", "fontaine",
})


def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text)
                   if not unicodedata.combining(c)).casefold()


def _quick_fold(text: str) -> str:
    """Lowercase, and non-ASCII letters to their base letters (fullwidth too): for the gate."""
    if text.isascii():
        return text.lower()
    # str.lower() of a non-ASCII text is slow (~5 µs a KB): the ASCII letters are lowered as
    # bytes, then one str.replace per distinct non-ASCII character puts its folded form.
    data = text.encode("utf-8", "surrogatepass")
    lowered = data.lower().decode("utf-8", "surrogatepass")
    for char in set(data.translate(None, _ASCII_BYTES).decode("utf-8", "surrogatepass")):
        lowered = lowered.replace(char, _folded_char(char))
    return lowered


_ASCII_BYTES = bytes(range(128))


@functools.lru_cache(maxsize=4096)
def _folded_char(char: str) -> str:
    # Lowering can yield several characters ("İ" is "i" and a combining dot), ASCII ones too.
    return "".join(c if c.isascii() else _base_of(c) for c in char.lower())


@functools.lru_cache(maxsize=4096)
def _base_of(char: str) -> str:
    return unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode("ascii").lower()


def _variants() -> dict[str, str]:
    found: dict[str, set[str]] = {}
    for code in list(range(0x41, 0x5B)) + list(range(0x61, 0x7B)) + list(range(0xC0, 0x250)):
        char = chr(code)
        base = _fold(char)
        if len(base) == 1 and base.isalpha():
            found.setdefault(base, {base, base.upper()}).update({char, char.lower(), char.upper()})
    return {base: "[" + "".join(sorted(re.escape(c) for c in chars if len(c) == 1)) + "]"
            for base, chars in found.items()}


_LETTER = _variants()


def _name_regex(name: str) -> str:
    """Accent- and case-insensitive, any spacing or hyphenation between its words."""
    words = [w for w in re.split(r"[\s\-\u2010\u2011]+", _fold(name)) if w]
    return _NAME_GAP.join("".join(_LETTER.get(c, re.escape(c)) for c in word) for word in words)


@dataclass(frozen=True)
class Person:
    address: str  # real address
    alias: str  # what stands for the address
    real_name: str = ""  # as registered ("Marie-Ève Tremblay")
    shown_name: str = ""  # what the program shows ("Marie-Ève"); equal to real_name: no scrub


def name_parts(real_name: str) -> tuple[str, list[str]]:
    """(full name, surnames): the words after the first one that contain letters."""
    words = [w for w in real_name.split() if any(c.isalpha() for c in w)]
    if len(words) < 2:
        return "", []
    full = " ".join(words)
    rest = " ".join(words[1:])
    # An initial ("Marie T.") is too short to be told from ordinary text: only the full name.
    surnames = [rest] if sum(c.isalpha() for c in rest) >= 2 else []
    for word in words[1:]:
        for piece in re.split(r"[-\u2010\u2011]", word):
            if len(piece) >= 3 and _fold(piece) not in _PARTICLES and piece not in surnames:
                surnames.append(piece)
    return full, surnames


def first_name(real_name: str) -> str:
    words = real_name.split()
    return words[0] if words else real_name


class _Compiled(NamedTuple):
    replacements: tuple[str, ...]
    common: tuple[bool, ...]  # the term is also an everyday word: only capitalized is it the name
    keys: tuple[str, ...]  # literals one of which every match contains, once folded
    pattern: re.Pattern[str] | None


def _name_terms(people: tuple[Person, ...]) -> list[tuple[str, str, bool]]:
    terms: list[tuple[str, str, bool]] = []
    for person in people:
        shown = person.shown_name.strip()
        if not person.real_name.strip() or _fold(shown) == _fold(person.real_name.strip()):
            continue
        full, surnames = name_parts(person.real_name)
        if full:
            terms.append((full, shown, False))
        terms += [(s, shown, _fold(s) in COMMON_WORDS) for s in surnames]
    return sorted(terms, key=lambda t: len(t[0]), reverse=True)


@functools.lru_cache(maxsize=256)
def _compiled(people: tuple[Person, ...], domains: tuple[str, ...]) -> _Compiled:
    """Built once per pair, not once per message: building the names' accent-insensitive
    patterns cost about a fifth of a rewrite."""
    replacements: list[str] = []
    common: list[bool] = []
    alternatives: list[str] = []
    for person in sorted(people, key=lambda p: len(p.address), reverse=True):
        local, _at, domain = person.address.strip().strip("<>").rpartition("@")
        if not _at:
            continue
        alternatives.append(re.escape(local) + r"(?:\+[\w.=-]*)?" + _AT + re.escape(domain))
        replacements.append(person.alias)
        common.append(False)
    for domain in domains:
        alternatives.append(r"(?<![\w-])(?:[\w-]+\.)*" + re.escape(domain) + r"(?![\w-])")
        replacements.append(DOMAIN_MARK)
        common.append(False)
    terms = _name_terms(people)
    for term, shown, is_common in terms:
        # A name ends where letters end: "CV_Levesque_2026" holds it, "Levesques" does not.
        alternatives.append(r"(?<![^\W\d_])" + _name_regex(term) + r"(?![^\W\d_])")
        replacements.append(shown)
        common.append(is_common)
    keys = {p.address.strip().strip("<>").rpartition("@")[2].lower() for p in people}
    keys.update(domains)
    for term, _shown, _common in terms:
        keys.add(max(re.split(r"[\s\-\u2010\u2011.']+", _quick_fold(term)), key=len))
    pattern = re.compile("|".join(f"({a})" for a in alternatives), re.IGNORECASE) \
        if alternatives else None
    return _Compiled(tuple(replacements), tuple(common), tuple(k for k in keys if k), pattern)


class Privacy:
    """Built once per message from both participants; replaces, counts and finds what leaks."""

    def __init__(self, people: Sequence[Person], domains: Iterable[str] = ()) -> None:
        self.people = tuple(p for p in people if p.address.strip())
        self.domains = tuple(sorted({d.strip().lower().strip(".") for d in domains if d.strip()},
                                    key=len, reverse=True))
        compiled = _compiled(self.people, self.domains)
        self._replacements = compiled.replacements
        self._common = compiled.common
        self._keys = compiled.keys
        self._pattern = compiled.pattern

    # The last long text found to hold no key. Folding is done character by character, so a
    # piece of that text holds no key either: the rewrite scrubs a part's text, then its leak
    # check reads the same text again (stripped), which then costs a search, not a second fold.
    _clean = ""
    _LONG = 256  # shorter texts are folded faster than they are searched for

    def may_contain(self, text: str) -> bool:
        if len(text) > self._LONG and text in self._clean:
            return False
        folded = _quick_fold(text)
        for key in self._keys:  # a loop, not any(): no generator for the many short texts
            if key in folded:
                return True
        if len(text) > self._LONG:
            self._clean = text
        return False

    @property
    def empty(self) -> bool:
        return self._pattern is None

    def _replace(self, match: re.Match[str]) -> str:
        index = (match.lastindex or 1) - 1
        found = match.group(0)
        if self._common[index] and found == found.lower():
            return found
        replacement = self._replacements[index]
        # A percent-encoded "@" sits in a URL or an RFC 2231 value, where a bare "@" is invalid.
        return replacement.replace("@", "%40") if "%40" in found else replacement

    def subn(self, text: str) -> tuple[str, int]:
        """`text` with every address, personal domain and real name replaced; how many."""
        if self._pattern is None or not text or not self.may_contain(text):
            return text, 0
        count = 0

        def replace(match: re.Match[str]) -> str:
            nonlocal count
            new = self._replace(match)
            count += new != match.group(0)
            return new

        new_text = self._pattern.sub(replace, text)
        return new_text, count

    def found(self, text: str) -> list[str]:
        """What still shows in `text` (as the client draws it): evidence strings, [] if none."""
        if self._pattern is None or not text or not self.may_contain(text):
            return []
        hits = []
        for match in self._pattern.finditer(text):
            index = (match.lastindex or 1) - 1
            if self._common[index] and match.group(0) == match.group(0).lower():
                continue
            hits.append(match.group(0))
        return hits

    def in_bytes(self, data: bytes) -> bool:
        """An address or personal domain inside a binary file (ASCII or UTF-16 text in it)."""
        if not data:
            return False
        lowered = data.lower()
        needles = [p.address.lower() for p in self.people] + list(self.domains)
        for needle in needles:
            encoded = needle.encode("utf-8", "ignore")
            if encoded and (encoded in lowered or needle.encode("utf-16-le") in lowered):
                return True
        return False
