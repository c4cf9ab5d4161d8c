"""The speed-ups of the mail steps read and write exactly what the plain code did, on every
message of tests/data, tests/data/adversarial and the shared real-world corpus."""

from __future__ import annotations

import email
import email.policy
import hashlib
import json
import random
from email.message import Message
from pathlib import Path

import pytest

from gateway.mail.privacy import _base_of, _quick_fold
from gateway.mail.rewrite import Party, RewriteContext, anonymize_report
from gateway.mail.text import FAST_DEFAULT_POLICY, FastCompatMessage

DATA = Path(__file__).resolve().parents[2] / "data"
CORPUS = Path("/work/shared/corpus/mikel-mail")
DIGESTS = Path(__file__).with_name("rewrite_digests.json")  # sha256 of each forward, as rendered before the speed-ups
FILES = sorted(DATA.glob("*.eml")) + sorted((DATA / "adversarial").glob("*.eml")) + (
    sorted(CORPUS.rglob("*.eml")) if CORPUS.is_dir() else [])


def _key(path: Path) -> str:
    return str(path.relative_to(CORPUS.parent if CORPUS in path.parents else DATA))


def _context() -> RewriteContext:
    return RewriteContext(
        sender=Party("jean.tremblay@example.com", "Jean", "a1b2c3@gw.example",
                     real_name="Jean Tremblay"),
        recipient=Party("marie@example.org", "Marie", "z9y8x7@gw.example",
                        real_name="Marie-Ève Gagnon"),
        program_name="Programme", new_message_id="<n@gw.example>", in_reply_to=("<r@gw.example>",),
        references=("<r@gw.example>",), fallback_date="Mon, 30 Nov 2026 15:00:00 +0000",
        private_domains=("example.net",))


def digest(raw: bytes) -> str:
    report = anonymize_report(raw, _context())
    return hashlib.sha256(report.data + repr(report.withheld).encode()).hexdigest()


def _reads(msg: Message) -> list[object]:
    """Every header of every part as the rules and the reading see it (read twice: the second
    read comes from the cache)."""
    seen: list[object] = []
    for part in msg.walk():
        for name in list(part.keys()) + ["content-type", "Subject", "x-absent"]:
            for _ in range(2):
                try:
                    value = part.get(name)
                except Exception as error:  # noqa: BLE001 - the same failure is expected
                    seen.append(("raised", type(error).__name__))
                    continue
                seen.append((name, str(value), type(value).__mro__[1].__name__,
                             [type(d).__name__ for d in getattr(value, "defects", ())],
                             dict(getattr(value, "params", {}) or {})))
        for _ in range(2):
            seen += [part.get_content_type(), part.get_content_charset(), part.get_filename(),
                     part.get_params(), part.get_params(header="content-disposition"),
                     part.get_params(unquote=False), part.get_param("format"),
                     part.get_boundary()]
    return seen


@pytest.mark.parametrize("path", FILES, ids=_key)
def test_header_reads_equal_the_stock_policy(path: Path) -> None:
    raw = path.read_bytes()
    stock = email.message_from_bytes(raw, policy=email.policy.default)
    fast = email.message_from_bytes(raw, policy=FAST_DEFAULT_POLICY)
    assert _reads(fast) == _reads(stock)
    assert _reads(fast) == _reads(stock)  # once more, every value now cached


@pytest.mark.parametrize("path", FILES, ids=_key)
def test_parameter_reads_equal_compat32(path: Path) -> None:
    raw = path.read_bytes()
    stock = email.message_from_bytes(raw, policy=email.policy.compat32)
    fast = email.message_from_bytes(raw, policy=email.policy.compat32.clone(
        message_factory=FastCompatMessage))
    assert _reads(fast) == _reads(stock)


@pytest.mark.skipif(not DIGESTS.exists(), reason="no digests recorded")
@pytest.mark.parametrize("path", FILES, ids=_key)
def test_forward_bytes_are_unchanged(path: Path) -> None:
    expected = json.loads(DIGESTS.read_text())
    if _key(path) not in expected:
        pytest.skip("not recorded")
    assert digest(path.read_bytes()) == expected[_key(path)]


def _str_fold(text: str) -> str:
    """privacy._quick_fold as it was written first (lowering the whole str)."""
    lowered = text.lower()
    if lowered.isascii():
        return lowered
    others = set(lowered.encode("utf-8", "surrogatepass").translate(None, bytes(range(128)))
                 .decode("utf-8", "surrogatepass"))
    for char in others:
        lowered = lowered.replace(char, _base_of(char))
    return lowered


def test_quick_fold_equals_the_str_fold_for_every_character() -> None:
    misses = [cp for cp in range(0x110000) if _quick_fold(chr(cp)) != _str_fold(chr(cp))]
    assert misses == []


def test_quick_fold_equals_the_str_fold_on_mixed_text() -> None:
    pick = random.Random(3)
    alphabet = ("aZ .@-'\u00e9\u00c9\u0130\u212a\u03a3\u03c3\u00df\u1e9e\uff21\uff45\u0301"
                "\udce9\U0001d400\u00a0\u202e")
    for _ in range(5000):
        text = "".join(pick.choice(alphabet) for _ in range(pick.randrange(0, 40)))
        assert _quick_fold(text) == _str_fold(text), text
