"""A rewritten message back to bytes, as the stdlib writes it with CRLF line ends, only faster."""

from __future__ import annotations

import re
from email._policybase import Compat32
from email.generator import BytesGenerator
from email.message import Message
from io import BytesIO
from typing import Any

_SHORT_FOLDED_ASCII = re.compile(r"[\x20-\x7e\t]{0,900}(?:\r\n[ \t][\x20-\x7e\t]{0,900})*")


class _FastFoldPolicy(Compat32):
    """compat32 that writes already-folded ASCII header values as they are.

    compat32 re-folds every header through email.header.Header, which dominated the cost of a
    rewrite; values from the source (CRLF-normalized) or set by us are already valid as is.
    """

    def fold_binary(self, name: str, value: Any) -> bytes:
        if isinstance(value, str) and _SHORT_FOLDED_ASCII.fullmatch(value):
            return f"{name}: {value}\r\n".encode("ascii")
        return super().fold_binary(name, value)


_OUTPUT_POLICY = _FastFoldPolicy(linesep="\r\n")
_LINE_END = re.compile(r"\r\n|\r|\n")  # email.generator.NLCRE


class _BodyAtOnceGenerator(BytesGenerator):
    """BytesGenerator writing a body's lines in one write, not two writes (and two encodes) per
    line: the same bytes (each line end becomes the policy's, as the stdlib's loop does)."""

    def _write_lines(self, lines: str) -> None:
        if lines:
            self.write(_with_line_ends(lines, self._NL))  # type: ignore[attr-defined]


def _with_line_ends(lines: str, end: str) -> str:
    """`end.join(_LINE_END.split(lines))`: the regex split cost most of writing a message, while
    a text whose line ends are all LF, or all CRLF, only needs a replace (or nothing)."""
    if "\r" not in lines:
        return lines if end == "\n" else lines.replace("\n", end)
    if lines.count("\r") == lines.count("\n") == lines.count("\r\n"):
        return lines if end == "\r\n" else lines.replace("\r\n", end)
    return end.join(_LINE_END.split(lines))


def to_bytes(msg: Message) -> bytes:
    """`msg` as compat32 writes it with CRLF (no ">From" mangling), header and body alike."""
    out = BytesIO()
    _BodyAtOnceGenerator(out, mangle_from_=False, policy=_OUTPUT_POLICY).flatten(msg)
    return out.getvalue()
