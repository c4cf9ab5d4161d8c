"""Look at attachments: every name (also inside archives), content types, sizes, unreadable parts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from gateway.mail.archives import list_archive
from gateway.mail.text import Attachment
from gateway.moderation.detectors import Finding

if TYPE_CHECKING:
    from gateway.moderation.detectors.fields import FieldTexts

UNREADABLE_KINDS = ("unreadable", "private", "unchecked")


def archive_members(payload: bytes) -> list[str]:
    """Names inside an archive (and inside archives within it), [] for anything else."""
    return list_archive(payload).names if payload[:2] == b"PK" else []


class NameLine(NamedTuple):
    attachment: int  # which one of the message's attachments
    name: str  # its file name, or "archive.zip/member" for what an archive holds
    is_member: bool


def attachment_lines(attachments: tuple[Attachment, ...]) -> list[NameLine]:
    """A line for every attachment and every archive member (the reading lists members)."""
    return [NameLine(index, attachment.filename or "(no name)", attachment.member)
            for index, attachment in enumerate(attachments)]


def extension_matches(name: str, extensions: frozenset[str]) -> bool:
    lowered = name.lower().rstrip(". \t")
    return any(lowered.endswith(ext) for ext in extensions)


def content_type_matches(content_type: str, patterns: frozenset[str]) -> bool:
    """`image/*` style patterns match a whole family; others match exactly."""
    lowered = content_type.lower()
    family = lowered.split("/", 1)[0] + "/*"
    return lowered in patterns or family in patterns


@dataclass(frozen=True)
class UnreadableMatcher:
    """Parts the gateway cannot read to text ("unreadable"), or participants' details where the
    rewrite cannot remove them ("private"): one finding per part, naming it and saying why."""

    kinds: tuple[str, ...] = UNREADABLE_KINDS

    def find(self, fields: FieldTexts) -> list[Finding]:
        return [Finding("message", 0, 0, f"{part.where}: {part.why}")
                for part in fields.facts.unreadable if part.kind in self.kinds]
