"""anonymize never raises on real-world mail and always yields sendable, address-free output."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest

from gateway.mail.parse import address_of, parse
from gateway.mail.rewrite import Party, RewriteContext, anonymize, privacy_of

CORPUS = Path("/work/shared/corpus/mikel-mail")
if not CORPUS.is_dir():
    CORPUS = Path(__file__).resolve().parents[4] / "shared" / "corpus" / "mikel-mail"
CPYTHON = Path(sys.base_prefix) / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" \
    / "test" / "test_email" / "data"  # CPython's own test_email corpus, when installed
FILES = (sorted(CORPUS.rglob("*.eml")) if CORPUS.is_dir() else []) + (
    sorted(CPYTHON.glob("msg_*.txt")) if CPYTHON.is_dir() else [])
DATA = sorted((Path(__file__).resolve().parents[2] / "data").glob("*.eml"))


def _context(raw: bytes) -> RewriteContext:
    msg = parse(raw)
    sender = address_of(str(msg.get("From", "") or ""))
    recipient = address_of(str(msg.get("To", "") or ""))
    if sender and recipient and (sender in recipient or recipient in sender):
        recipient = None  # one address inside the other would make the leak check meaningless
    return RewriteContext(
        sender=Party(sender or "alice@invented.example", "Alice Élève", "a1b2c3d4e5f6g7h8@gw.example"),
        recipient=Party(recipient or "bob@invented.example",
                        "Bob Mentor", "z9y8x7w6v5u4t3s2@gw.example"),
        program_name="Programme", new_message_id="<n@gw.example>", in_reply_to=(), references=(),
    )


@pytest.mark.skipif(not FILES, reason="shared corpus not present")
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_real_world_message_is_rewritten_safely(path: Path) -> None:
    raw = path.read_bytes()
    ctx = _context(raw)
    out = anonymize(raw, ctx)
    assert b"\n" not in out.replace(b"\r\n", b"")
    assert max(len(line) for line in out.split(b"\r\n")) <= 998
    assert ctx.sender.address.encode() not in out.lower()
    assert out.lower().count(ctx.recipient.address.encode()) <= 1


def _attachments(raw: bytes) -> Counter[bytes]:
    """Decoded bytes of every non-text leaf (files, images), as a multiset."""
    found: Counter[bytes] = Counter()
    for part in parse(raw).walk():
        if part.is_multipart() or part.get_content_maintype() in ("text", "message", "multipart"):
            continue
        data = part.get_payload(decode=True)
        if isinstance(data, bytes) and data:
            if str(part.get("Content-Transfer-Encoding", "7bit")).lower() in ("7bit", "8bit"):
                data = data.replace(b"\r\n", b"\n")  # SMTP's CRLF: a line end, not a change
            found[data] += 1
    return found


@pytest.mark.parametrize("path", FILES + DATA, ids=lambda p: p.name)
def test_files_nobody_is_named_in_arrive_byte_identical(path: Path) -> None:
    raw = path.read_bytes()
    ctx = _context(raw)
    privacy = privacy_of(ctx)
    untouched = Counter({data: n for data, n in _attachments(raw).items()
                         if not privacy.in_bytes(data)})
    delivered = _attachments(anonymize(raw, ctx))
    assert untouched - delivered == Counter()
