"""One matcher per rule kind: given a message's fields, return the evidence it finds."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from gateway.moderation.detectors import Finding
from gateway.moderation.detectors.attachments import content_type_matches, extension_matches
from gateway.moderation.detectors.emails import find_emails
from gateway.moderation.detectors.fields import FieldTexts
from gateway.moderation.detectors.handles import find_handles
from gateway.moderation.detectors.links import host_in, host_of
from gateway.moderation.detectors.phone import find_phones
from gateway.moderation.detectors.street import find_street_addresses
from gateway.moderation.detectors.words import WordGate, find_words

DEFAULT_FIELDS = ("subject", "text")
PiiDetector = Callable[[str, str, str, FieldTexts], list[Finding]]

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
class WordsMatcher:
    pattern: re.Pattern[str] | None
    fields: tuple[str, ...] = DEFAULT_FIELDS
    gate: WordGate | None = None  # skips the regex on a text none of the phrases can match

    def find(self, fields: FieldTexts) -> list[Finding]:
        if self.pattern is None:
            return []
        found: list[Finding] = []
        for field in self.fields:
            folded = fields.folded(field)
            if self.gate is None or self.gate.may_match(fields.words(field), folded):
                found += find_words(self.pattern, field, fields.text(field), folded)
        return found


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
        found: list[Finding] = []
        for field in self.fields:
            text, folded = fields.text(field), fields.folded(field)
            for name in self.detectors:
                found += PII_DETECTORS[name](field, text, folded, fields)
        return found


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
