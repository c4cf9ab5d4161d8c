"""The named text fields of a message that rules search, computed and folded once per message."""

from __future__ import annotations

from gateway.moderation.detectors.attachments import NameLine, attachment_lines
from gateway.moderation.detectors.fold import fold
from gateway.moderation.detectors.vocabulary import words_of
from gateway.moderation.facts import MessageFacts

TEXT_FIELDS = ("subject", "text", "attachment_names")
HEADER_PREFIX = "header:"


class FieldTexts:
    """Lazily built texts of one message: `subject`, `text`, `attachment_names`, `header:<Name>`."""

    def __init__(self, facts: MessageFacts) -> None:
        self.facts = facts
        self._texts: dict[str, str] = {}
        self._folded: dict[str, str] = {}
        self._words: dict[str, frozenset[str]] = {}
        self._attachment_lines: list[NameLine] | None = None

    def text(self, field: str) -> str:
        if field not in self._texts:
            self._texts[field] = self._build(field)
        return self._texts[field]

    def folded(self, field: str) -> str:
        if field not in self._folded:
            self._folded[field] = fold(self.text(field))
        return self._folded[field]

    def words(self, field: str) -> frozenset[str]:
        """The words of the folded field, shared by every detector's "can it match at all?" test."""
        if field not in self._words:
            self._words[field] = words_of(self.folded(field))
        return self._words[field]

    def attachment_lines(self) -> list[NameLine]:
        """One line per attachment and archive member, in the order of the field text."""
        if self._attachment_lines is None:
            self._attachment_lines = attachment_lines(self.facts.attachments)
        return self._attachment_lines

    def _build(self, field: str) -> str:
        if field == "subject":
            return self.facts.subject
        if field == "text":
            return self.facts.text
        if field == "html":
            return self.facts.html
        if field == "attachment_names":
            return "\n".join(line.name for line in self.attachment_lines())
        if field.startswith(HEADER_PREFIX):
            name = field[len(HEADER_PREFIX):].strip().lower()
            return "\n".join(self.facts.headers.get(name, ()))
        return ""
