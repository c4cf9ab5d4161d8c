"""Headers read through the gateway's parsing policy are those the stock policy reads.

The policy parses each header line once and hands the same object to every later read (in this
message and others): what a reader sees must not depend on it, nor on what was read before.
"""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from pathlib import Path

from gateway.mail.text import parse_bytes

CORPORA = (Path(__file__).resolve().parents[2] / "data", Path("/work/shared/corpus/mikel-mail"))


def _reads(message: EmailMessage) -> list[object]:
    found: list[object] = []
    for part in message.walk():
        found += [part.get_content_type(), part.get_content_charset(), part.get_filename(),
                  part.get_param("format"), part.get_param("delsp"), part.get_content_disposition(),
                  part.get_params(), part.get_boundary()]
        for name, value in part.items():
            found += [name, str(value), type(value).__name__, tuple(map(str, value.defects))]
    return found


def test_every_header_read_is_the_stock_policys_twice_over() -> None:
    files = [p for folder in CORPORA if folder.is_dir() for p in sorted(folder.rglob("*"))
             if p.is_file()]
    assert files
    for path in files + files:  # the second round reads only from the shared objects
        raw = path.read_bytes()
        stock = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(stock, EmailMessage)
        assert _reads(parse_bytes(raw)) == _reads(stock), path
