"""Archives are listed in full or reported as not listable: never trusted, never half-read."""

from __future__ import annotations

import io
import zipfile

from gateway.mail.archives import MAX_ENTRIES, list_archive


def _zip(files: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_an_ordinary_archive_is_listed_with_its_nested_members() -> None:
    listing = list_archive(_zip({"a.txt": b"hello", "inner.zip": _zip({"setup.exe": b"MZ"})}))
    assert listing.problem == ""
    assert listing.names == ["a.txt", "inner.zip", "inner.zip/setup.exe"]
    assert ("a.txt", b"hello") in listing.texts


def _without_first_central_entry(data: bytes) -> bytes:
    """The archive with its first entry left out of the central directory (its bytes stay)."""
    start = data.find(b"PK\x01\x02")
    second = data.find(b"PK\x01\x02", start + 4)
    end = data.find(b"PK\x05\x06")
    directory = data[second:end]
    eocd = bytearray(data[end:])
    eocd[8:10] = eocd[10:12] = (1).to_bytes(2, "little")
    eocd[12:16] = len(directory).to_bytes(4, "little")
    return data[:start] + directory + bytes(eocd)


def test_an_entry_hidden_from_the_central_directory_is_reported() -> None:
    crafted = _without_first_central_entry(
        _zip({"setup.exe": b"MZ", "readme.txt": b"hi"}, zipfile.ZIP_STORED))
    with zipfile.ZipFile(io.BytesIO(crafted)) as archive:
        assert archive.namelist() == ["readme.txt"]  # what a listing tool shows
    assert list_archive(crafted).problem == "an archive hides files from its listing"


def test_more_entries_than_the_limit_is_not_a_complete_listing() -> None:
    listing = list_archive(_zip({f"f{i}.txt": b"" for i in range(MAX_ENTRIES + 1)}))
    assert "more than" in listing.problem


def test_a_bomb_and_deep_nesting_are_not_opened() -> None:
    assert "too large" in list_archive(_zip({"big.txt": b"0" * 20_000_000})).problem
    data = _zip({"end.txt": b"x"})
    for level in range(5):
        data = _zip({f"l{level}.zip": data})
    assert "nested" in list_archive(data).problem


def test_unlistable_formats_say_so() -> None:
    assert "RAR" in list_archive(b"Rar!\x1a\x07\x00rest").problem
    assert list_archive(b"PK\x03\x04 broken").problem
