"""The maildir transport: whole files appear in new/, nothing partial, failures kept for retry."""

from __future__ import annotations

import asyncio
import errno
import os
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from pathlib import Path

import pytest

from gateway.delivery import transports as transports_module
from gateway.delivery.transports import MaildirTransport, SendResult, build_transport

SENDER = "bounces+42@gateway.example.org"
RECIPIENT = "jeune.1@eleves.example.net"


def message(number: int = 1, body: str = "Bonjour, ça va ?\n") -> bytes:
    msg = EmailMessage()
    msg["From"] = "Marie <m-abc123@gateway.example.org>"
    msg["To"] = RECIPIENT
    msg["Subject"] = f"Message {number}"
    msg.set_content(body)
    return msg.as_bytes(policy=SMTP_POLICY)


async def test_maildir_file_appears_in_new_with_exact_bytes(tmp_path: Path) -> None:
    root = tmp_path / "outbox-maildir"
    transport = MaildirTransport(root)
    data = message(body="Bonjour\r\n.\r\nligne avec un point\n" + "x" * 5000 + "\n")
    result = await transport.send(SENDER, RECIPIENT, data)
    assert result.status == "sent"
    assert sorted(p.name for p in root.iterdir()) == ["cur", "new", "tmp"]
    [delivered] = list((root / "new").iterdir())
    assert delivered.read_bytes() == data
    assert delivered.name in result.detail
    assert list((root / "tmp").iterdir()) == []


async def test_maildir_file_is_complete_before_it_is_visible(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # At the moment the data is flushed to disk, the reader's folder new/ must still be empty:
    # the file only appears there, whole, by the rename that follows.
    root = tmp_path / "md"
    seen_at_fsync: list[tuple[list[str], list[int]]] = []
    real_fsync = os.fsync

    def spying_fsync(fd: int) -> None:
        new_names = sorted(p.name for p in (root / "new").iterdir())
        tmp_sizes = [p.stat().st_size for p in (root / "tmp").iterdir()]
        seen_at_fsync.append((new_names, tmp_sizes))
        real_fsync(fd)

    monkeypatch.setattr(transports_module.os, "fsync", spying_fsync)
    data = message(body="y" * 200_000 + "\n")
    assert (await MaildirTransport(root).send(SENDER, RECIPIENT, data)).status == "sent"
    file_sync = seen_at_fsync[0]
    assert file_sync == ([], [len(data)])
    assert [p.read_bytes() for p in (root / "new").iterdir()] == [data]


async def test_maildir_write_failure_is_temporary_and_leaves_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(transports_module.os, "fsync", disk_full)
    root = tmp_path / "md"
    result = await MaildirTransport(root).send(SENDER, RECIPIENT, message())
    assert result == SendResult("temporary", f"cannot write to maildir {root}: disk full")
    assert list((root / "new").iterdir()) == []
    assert list((root / "tmp").iterdir()) == []


async def test_maildir_unwritable_root_is_temporary(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_bytes(b"")
    result = await MaildirTransport(blocker / "md").send(SENDER, RECIPIENT, message())
    assert result.status == "temporary"
    assert "Traceback" not in result.detail


async def test_maildir_concurrent_sends_get_unique_names(tmp_path: Path) -> None:
    transport = build_transport("maildir", root=tmp_path / "md")
    data = [message(n) for n in range(200)]
    results = await asyncio.gather(*(transport.send(SENDER, RECIPIENT, d) for d in data))
    await transport.close()
    assert {r.status for r in results} == {"sent"}
    files = list((tmp_path / "md" / "new").iterdir())
    assert len({f.name for f in files}) == 200
    assert sorted(f.read_bytes() for f in files) == sorted(data)


def test_build_transport_refuses_unknown_mode() -> None:
    with pytest.raises(ValueError, match="smtp"):
        build_transport("pigeon", root=Path("."))  # type: ignore[arg-type]
