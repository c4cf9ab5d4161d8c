"""One matcher per rule kind: given a message's fields, return the evidence it finds."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from gateway.moderation.detectors import Finding, Taken
from gateway.moderation.detectors.attachments import content_type_matches, extension_matches
from gateway.moderation.detectors.emails import find_emails
from gateway.moderation.detectors.fields import FieldTexts
from gateway.moderation.detectors.handles import find_handles
from gateway.moderation.detectors.language import language_near
from gateway.moderation.detectors.links import host_in, host_of
from gateway.moderation.detectors.phone import find_phones
from gateway.moderation.detectors.read_fields import ReadFields, as_read
from gateway.moderation.detectors.reading import Reading
from gateway.moderation.detectors.street import find_street_addresses
from gateway.moderation.detectors.words import WordGate
from gateway.moderation.facts import MessageFacts

DEFAULT_FIELDS = ("subject", "text")


class DetectorFields(Protocol):
    """What a PII detector asks of the message besides the text: its facts and its words."""

    @property
    def facts(self) -> MessageFacts: ...

    def words(self, field: str) -> frozenset[str]: ...


PiiDetector = Callable[[str, str, str, DetectorFields], list[Finding]]

PII_DETECTORS: dict[str, PiiDetector] = {
    "phone": lambda field, text, folded, f: find_phones(field, text, folded, f.words(field)),
    "email": lambda field, text, folded, f: find_emails(field, text, folded, f.facts.pair_aliases),
    "handle": lambda field, text, folded, f: find_handles(field, text, folded, f.words(field)),
    "street_address": lambda field, text, folded, f: find_street_addresses(field, text, folded,
                                                                          f.words(field)),
}


class Matcher(Protocol):
    def find(self, fields: FieldTexts) -> list[Finding]: ...


def _search(pattern: re.Pattern[str], field: str, text: str, haystack: str) -> list[Finding]:
    return [Finding(field, m.start(), m.end(), text[m.start():m.end()])
            for m in pattern.finditer(haystack) if m.end() > m.start()]


@dataclass(frozen=True)
class RegexMatcher:
    pattern: re.Pattern[str]
    fields: tuple[str, ...]

    def find(self, fields: FieldTexts) -> list[Finding]:
        found: list[Finding] = []
        for field in self.fields:
            text = fields.text(field)
            found += _search(self.pattern, field, text, text)
        return found


@dataclass(frozen=True)
class WordList:
    """One compiled list; `language` "fr"/"en" keeps a hit only where the text is not read as
    the other language (undecided text keeps it: a miss costs more than a hold)."""

    pattern: re.Pattern[str]
    gate: WordGate | None = None  # skips the regex on a text none of the phrases can match
    language: str = ""


@dataclass(frozen=True)
class WordsMatcher:
    lists: tuple[WordList, ...]
    fields: tuple[str, ...] = DEFAULT_FIELDS
    exceptions: re.Pattern[str] | None = None  # a hit inside one of these phrases is no hit

    def find(self, fields: FieldTexts) -> list[Finding]:
        found: list[Finding] = []
        for field in self.fields:
            found += self._find_in(as_read(fields), field)
        return found

    def _find_in(self, fields: ReadFields, field: str) -> list[Finding]:
        reading, words = fields.reading(field), fields.reading_words(field)
        text = reading.text
        spans: list[tuple[int, int]] = []
        for word_list in self.lists:
            if word_list.gate is not None and not word_list.gate.may_match(
                    words, text, fields.sorted_words(field)):
                continue
            for match in word_list.pattern.finditer(text):
                other = {"fr": "en", "en": "fr"}.get(word_list.language)
                if other and language_near(text, match.start(), match.end()) == other:
                    continue
                spans.append(match.span())
        if spans and self.exceptions is not None:
            spans = [span for span in spans if not self._excepted(text, span)]
        return _findings(field, fields.text(field), reading, sorted(set(spans)))

    def _excepted(self, text: str, span: tuple[int, int]) -> bool:
        assert self.exceptions is not None
        low, high = max(0, span[0] - 40), span[1] + 40
        return any(m.start() <= span[0] and span[1] <= m.end()
                   for m in self.exceptions.finditer(text, low, high))


def _findings(field: str, original: str, reading: Reading,
              spans: list[tuple[int, int]]) -> list[Finding]:
    findings = []
    for start, end in spans:
        o_start, o_end = reading.span(start, end)
        findings.append(Finding(field, o_start, o_end, original[o_start:o_end]))
    return findings


@dataclass(frozen=True)
class LinksMatcher:
    domains: tuple[str, ...]
    pattern: re.Pattern[str]  # the domains in running text, with or without a scheme
    fields: tuple[str, ...] = DEFAULT_FIELDS
    hint: re.Pattern[str] | None = None  # a necessary condition, cheaper still than the scan

    def find(self, fields: FieldTexts) -> list[Finding]:
        found: list[Finding] = []
        for field in self.fields:
            folded = fields.folded(field)
            if self.hint is not None and not self.hint.search(folded):
                continue
            if any(domain in folded for domain in self.domains):  # cheap scan before the regex
                found += _search(self.pattern, field, fields.text(field), folded)
        seen_in_text = " ".join(f.evidence.lower() for f in found)
        html = fields.facts.html
        for link in fields.facts.links:
            if host_in(host_of(link), self.domains) and link.lower() not in seen_in_text:
                start = max(html.find(link), 0)
                found.append(Finding("html", start, start + len(link), link))
        return found


@dataclass(frozen=True)
class PiiMatcher:
    detectors: tuple[str, ...]
    fields: tuple[str, ...] = DEFAULT_FIELDS

    def find(self, fields: FieldTexts) -> list[Finding]:
        read_fields = as_read(fields)
        found: list[Finding] = []
        for field in self.fields:
            text, folded = fields.text(field), fields.folded(field)
            here: list[Finding] = []
            for name in self.detectors:
                here += PII_DETECTORS[name](field, text, folded, fields)
            reading = read_fields.reading(field)
            if reading.changed:  # "５１４", "s n a p", "mon 👻 c jojo": read again, normalized
                taken = Taken((h.start, h.end) for h in here)
                here += [f for f in self._in_reading(read_fields, field, reading)
                         if not taken.overlaps(f.start, f.end)]
            found += here
        return found

    def _in_reading(self, fields: ReadFields, field: str, reading: Reading) -> list[Finding]:
        spans: list[tuple[int, int]] = []
        for name in self.detectors:
            spans += [(f.start, f.end) for f in
                      PII_DETECTORS[name](field, reading.text, reading.text, _ReadingView(fields))]
        return _findings(field, fields.text(field), reading, sorted(set(spans)))


class _ReadingView:
    """What a PII detector asks of the fields, answered from the normalized reading."""

    def __init__(self, fields: ReadFields) -> None:
        self._fields = fields

    @property
    def facts(self) -> MessageFacts:
        return self._fields.facts

    def words(self, field: str) -> frozenset[str]:
        return self._fields.reading_words(field)


@dataclass(frozen=True)
class AttachmentMatcher:
    content_types: frozenset[str] = frozenset()
    extensions: frozenset[str] = frozenset()
    max_bytes: int | None = None

    def find(self, fields: FieldTexts) -> list[Finding]:
        found: list[Finding] = []
        attachments = fields.facts.attachments
        offset = 0
        for line in fields.attachment_lines():
            attachment = attachments[line.attachment]
            if self._matches(line.name, attachment.content_type, attachment.size, line.is_member):
                found.append(Finding("attachment_names", offset, offset + len(line.name), line.name))
            offset += len(line.name) + 1
        return found

    def _matches(self, name: str, content_type: str, size: int, is_member: bool) -> bool:
        if self.extensions and extension_matches(name, self.extensions):
            return True
        if is_member:  # type and size belong to the archive itself, judged on its own line
            return False
        if self.content_types and content_type_matches(content_type, self.content_types):
            return True
        return self.max_bytes is not None and size > self.max_bytes


@dataclass(frozen=True)
class SizeMatcher:
    max_bytes: int

    def find(self, fields: FieldTexts) -> list[Finding]:
        size = fields.facts.size
        if size <= self.max_bytes:
            return []
        return [Finding("message", 0, 0, f"{size} bytes > {self.max_bytes}")]


@dataclass(frozen=True)
class AnyMatcher:
    def find(self, fields: FieldTexts) -> list[Finding]:
        return [Finding("message", 0, 0, "")]
