"""Look at attachments: names (also inside zip archives), content types and sizes."""

from __future__ import annotations

import io
import zipfile
from typing import NamedTuple

from gateway.mail.text import Attachment

_ZIP_MAGIC = b"PK\x03\x04"
_MAX_MEMBERS = 10_000
_MAX_NESTED_BYTES = 10 * 1024 * 1024
_MAX_RATIO = 100  # a member inflating more than this is a zip bomb: not opened
_MAX_DEPTH = 2


def archive_members(payload: bytes, depth: int = 1) -> list[str]:
    """Names inside a zip archive (and inside zips within it), [] for anything else or broken."""
    if not payload.startswith(_ZIP_MAGIC) or depth > _MAX_DEPTH:
        return []
    names: list[str] = []
    try:
        with zipfile.ZipFile(io.BytesIO(payload)) as archive:
            for info in archive.infolist()[:_MAX_MEMBERS]:
                names.append(info.filename)
                if _worth_opening(info):
                    inner = archive.read(info)
                    names += [f"{info.filename}/{n}" for n in archive_members(inner, depth + 1)]
    except Exception:  # noqa: BLE001 - a corrupt or hostile archive yields what was listed so far
        return names
    return names


def _worth_opening(info: zipfile.ZipInfo) -> bool:
    if not info.filename.lower().endswith(".zip") or info.file_size > _MAX_NESTED_BYTES:
        return False
    return info.file_size <= max(info.compress_size, 1) * _MAX_RATIO


class NameLine(NamedTuple):
    attachment: int  # which one of the message's attachments
    name: str  # its file name, or "archive.zip/member" for what an archive holds
    is_member: bool


def attachment_lines(attachments: tuple[Attachment, ...]) -> list[NameLine]:
    """A line for every attachment and every archive member inside it."""
    lines: list[NameLine] = []
    for index, attachment in enumerate(attachments):
        outer = attachment.filename or "(no name)"
        lines.append(NameLine(index, outer, False))
        lines += [NameLine(index, f"{outer}/{member}", True)
                  for member in archive_members(attachment.payload)]
    return lines


def extension_matches(name: str, extensions: frozenset[str]) -> bool:
    lowered = name.lower().rstrip(". ")
    return any(lowered.endswith(ext) for ext in extensions)


def content_type_matches(content_type: str, patterns: frozenset[str]) -> bool:
    """`image/*` style patterns match a whole family; others match exactly."""
    lowered = content_type.lower()
    family = lowered.split("/", 1)[0] + "/*"
    return lowered in patterns or family in patterns
