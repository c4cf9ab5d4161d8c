"""The thread ids read from the header section alone are those a full parse reads, on every corpus message and on tricky header sections."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.mail.parse import parse
from gateway.relay.forward import thread_refs, thread_refs_of

DATA = Path(__file__).resolve().parents[2] / "data"
CORPUS = sorted(DATA.rglob("*.eml"))

TRICKY = [
    b"From: a@b\r\nIn-Reply-To: <x@y>\r\n\r\nbody\r\n",
    b"From: a@b\nREFERENCES: <1@y>\n <2@y>\n\nbody\n",
    b"From: a@b\r\nSubject: hi\r\n\nReferences: <not-a-header@y>\r\n",  # \r\n\n ends the headers
    b"From: a@b\n\r\nIn-Reply-To: <body@y>\n",  # a bare \r\n line ends them too
    b"From: a@b\r\nin-reply-to:<x@y>\r\nReferences: <x@y> <z@y>\r\n\r\n",
    b"From: a@b\r\nX-Note: references elsewhere\r\n\r\n",
    b"In-Reply-To: <only@headers>",  # no body, no blank line
    b"",
    b"From: a@b\r\nIn-Reply-To: =?utf-8?q?=3Cx=40y=3E?=\r\n\r\n",
]


@pytest.mark.parametrize("raw", [p.read_bytes() for p in CORPUS] + TRICKY,
                         ids=[p.name for p in CORPUS] + [f"tricky{n}" for n in range(len(TRICKY))])
def test_header_section_alone_reads_the_same_thread_ids(raw: bytes) -> None:
    assert thread_refs_of(raw) == thread_refs(parse(raw))


def test_a_reply_is_read_and_a_new_conversation_is_not_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    import gateway.relay.forward as forward

    assert thread_refs_of(TRICKY[4]) == (("<x@y>", "<z@y>"), ("<x@y>",))

    def no_parse(raw: bytes) -> object:
        raise AssertionError("a message that names no thread header needs no parse")

    monkeypatch.setattr(forward, "parse_headers", no_parse)
    assert thread_refs_of(b"From: a@b\r\nSubject: new\r\n\r\nIn-Reply-To: <x@y>\r\n") == ((), ())
