"""List what an archive holds (zip, tar and compressed tar), nested to a limit, never trusting it."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import tarfile
import zipfile
from dataclasses import dataclass, field

MAX_ENTRIES = 1_000
MAX_DEPTH = 3
MAX_MEMBER_BYTES = 10 * 1024 * 1024
MAX_RATIO = 100  # a member inflating more than this is a bomb: not opened, the archive held
_ZIP_LOCAL = b"PK\x03\x04"
_OPAQUE_MAGIC = {b"Rar!\x1a\x07": "RAR", b"7z\xbc\xaf\x27\x1c": "7-Zip", b"MSCF": "CAB"}
_ARCHIVE_NAMES = (".zip", ".tar", ".tgz", ".tar.gz", ".tbz2", ".tar.bz2", ".txz", ".tar.xz",
                  ".gz", ".bz2", ".xz", ".rar", ".7z", ".cab", ".jar")


@dataclass
class Listing:
    names: list[str] = field(default_factory=list)  # "a/b.zip/c.exe" for nested members
    texts: list[tuple[str, bytes]] = field(default_factory=list)  # small members, for reading
    problem: str = ""  # why the listing is not complete ("" when it is)


def is_archive(payload: bytes, name: str, content_type: str) -> bool:
    if payload.startswith(_ZIP_LOCAL) or any(payload.startswith(m) for m in _OPAQUE_MAGIC):
        return True
    lowered = name.lower()
    return (lowered.endswith(_ARCHIVE_NAMES) or "zip" in content_type or "tar" in content_type
            or "compressed" in content_type or content_type in ("application/gzip",
                                                                "application/x-gzip"))


def list_archive(payload: bytes, depth: int = 1, prefix: str = "") -> Listing:
    """Every member name (nested archives opened); `problem` says what could not be listed."""
    listing = Listing()
    _list_into(listing, payload, depth, prefix)
    return listing


def _list_into(listing: Listing, payload: bytes, depth: int, prefix: str) -> None:
    if depth > MAX_DEPTH:
        listing.problem = listing.problem or "archives nested deeper than the limit"
        return
    for magic, kind in _OPAQUE_MAGIC.items():
        if payload.startswith(magic):
            listing.problem = listing.problem or f"{kind} archive (cannot be listed)"
            return
    if payload.startswith(_ZIP_LOCAL) or payload[:4] == b"PK\x05\x06":
        _zip(listing, payload, depth, prefix)
    elif not _tar(listing, payload, depth, prefix):
        _single_compressed(listing, payload, depth, prefix)


def _member(listing: Listing, name: str, data: bytes, depth: int) -> None:
    listing.names.append(name)
    if data.startswith(_ZIP_LOCAL) or _is_tar_like(name) or name.lower().endswith(_ARCHIVE_NAMES):
        _list_into(listing, data, depth + 1, name + "/")
    elif len(data) <= 1024 * 1024:
        listing.texts.append((name, data))


def _is_tar_like(name: str) -> bool:
    return name.lower().endswith((".tar", ".tgz", ".tar.gz", ".tbz2", ".txz"))


def _zip(listing: Listing, payload: bytes, depth: int, prefix: str) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(payload)) as archive:
            infos = archive.infolist()
            if len(infos) > MAX_ENTRIES:
                listing.names += [prefix + i.filename for i in infos[:MAX_ENTRIES]]
                listing.problem = listing.problem or f"more than {MAX_ENTRIES} files in an archive"
                return
            if _hidden_entries(payload, infos):
                listing.problem = listing.problem or "an archive hides files from its listing"
            for info in infos:
                name = prefix + info.filename
                if info.flag_bits & 0x1:
                    listing.names.append(name)
                    listing.problem = listing.problem or "an encrypted archive"
                    continue
                if info.is_dir():
                    listing.names.append(name)
                    continue
                data = _read_bounded(archive, info)
                if data is None:
                    listing.names.append(name)
                    listing.problem = listing.problem or "a file in an archive is too large or " \
                        "compressed too much to be opened"
                    continue
                _member(listing, name, data, depth)
    except Exception:  # noqa: BLE001 - a corrupt or hostile archive cannot be listed fully
        listing.problem = listing.problem or "a damaged archive"


def _read_bounded(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes | None:
    """The member's bytes, or None past the size or ratio limit (headers may lie: count it)."""
    limit = min(MAX_MEMBER_BYTES, max(info.compress_size, 1) * MAX_RATIO)
    if info.file_size > limit:
        return None
    with archive.open(info) as stream:
        data = stream.read(limit + 1)
    return None if len(data) > limit else data


def _hidden_entries(payload: bytes, infos: list[zipfile.ZipInfo]) -> bool:
    """Local file headers outside every listed entry's bytes: files some tools extract unlisted."""
    spans = []
    for info in infos:
        at = info.header_offset
        lengths = payload[at + 26:at + 30]
        extra = int.from_bytes(lengths[:2], "little") + int.from_bytes(lengths[2:], "little")
        spans.append((at, at + 30 + extra + info.compress_size))
    start = 0
    while (found := payload.find(_ZIP_LOCAL, start)) >= 0:
        if not any(s <= found < e for s, e in spans):
            return True
        start = found + 4
    return False


def _looks_packed(data: bytes) -> bool:
    if data.startswith((_ZIP_LOCAL, b"\x1f\x8b", b"BZh", b"\xfd7zXZ", *_OPAQUE_MAGIC)):
        return True
    return data[257:262] == b"ustar"


def _tar(listing: Listing, payload: bytes, depth: int, prefix: str) -> bool:
    try:
        archive = tarfile.open(fileobj=io.BytesIO(payload), mode="r:*")  # noqa: SIM115
    except Exception:  # noqa: BLE001 - not a tar (or a broken one): tried as another form
        return False
    try:
        with archive:
            for count, member in enumerate(archive):
                if count >= MAX_ENTRIES:
                    listing.problem = listing.problem or f"more than {MAX_ENTRIES} files in an archive"
                    break
                name = prefix + member.name
                if not member.isfile() or member.size > MAX_MEMBER_BYTES:
                    listing.names.append(name)
                    if member.isfile():
                        listing.problem = listing.problem or "a file in an archive is too large"
                    continue
                stream = archive.extractfile(member)
                _member(listing, name, stream.read() if stream else b"", depth)
    except Exception:  # noqa: BLE001
        listing.problem = listing.problem or "a damaged archive"
    return True


def _single_compressed(listing: Listing, payload: bytes, depth: int, prefix: str) -> None:
    openers = {b"\x1f\x8b": gzip.open, b"BZh": bz2.open, b"\xfd7zXZ": lzma.open}
    for magic, opener in openers.items():
        if payload.startswith(magic):
            try:
                with opener(io.BytesIO(payload)) as stream:  # type: ignore[operator]
                    data = stream.read(MAX_MEMBER_BYTES + 1)
            except Exception:  # noqa: BLE001
                listing.problem = listing.problem or "a damaged compressed file"
                return
            if len(data) > MAX_MEMBER_BYTES or len(data) > max(len(payload), 1) * MAX_RATIO:
                listing.problem = listing.problem or "a compressed file too large to open"
                return
            if _looks_packed(data):
                _list_into(listing, data, depth + 1, prefix)
            else:
                listing.texts.append((prefix or "(compressed)", data))
            return
    if not payload.startswith(_ZIP_LOCAL):
        listing.problem = listing.problem or "an archive in a format that cannot be listed"
