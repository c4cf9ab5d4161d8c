"""The fast readings of From, Message-ID and Subject at DATA give what the e-mail parser gives."""

from __future__ import annotations

import email.policy
import itertools
import random
from email.parser import HeaderParser
from pathlib import Path

from gateway.ingress.accept import plain_header, read_headers
from gateway.ingress.from_header import parsed_mailbox, sole_mailbox

DATA = Path(__file__).resolve().parents[2] / "data"
LOCALS = ["a", "First.Last", "x+tag", "=a", "a=b", "under_score", "d-e", ".lead", "trail.",
          "dou..ble", "q\"q", "é", "a$b", "a?b", ""]
DOMAINS = ["example.org", "EXAMPLE.ORG", "a-b.example", "-lead.example", "x", "x.y-", "a..b",
           "[127.0.0.1]", "é.example", "a_b.org", ""]
NAMES = ["", "Jean", "Jean Tremblay", "J 2", "Jean  Tremblay", "\"Jean\"", "=?utf-8?q?J?=", "A.B"]
ALPHABET = "aZ09._+=-@<>()[] \t\"$?=é,;:\\"


def _from_values() -> list[str]:
    values = []
    for local, domain, name in itertools.product(LOCALS, DOMAINS, NAMES):
        address = f"{local}@{domain}"
        values += [address, f"{name} <{address}>", f"<{address}>", f"{address} x"]
    pick = random.Random(5)
    values += ["".join(pick.choice(ALPHABET) for _ in range(pick.randrange(1, 25)))
               for _ in range(20000)]
    return [v for v in values if v.strip() and "\x00" not in v]


def test_simple_from_values_read_as_the_parser_reads_them() -> None:
    for value in _from_values():
        value = value.strip()
        assert sole_mailbox([value]) == parsed_mailbox(value), value


def _header_values() -> list[str]:
    ids = [f"<{local}@{domain}>" for local, domain in itertools.product(LOCALS, DOMAINS)]
    ids += [i + tail for i in ids[:40] for tail in (" ", " (c)", "x", "\t")]
    subjects = ["Bonjour", "Re: hello  there", "=?utf-8?q?caf=C3=A9?=", "a =? b", "tab\there",
                "café", "x\x00y", "(comment) \"quoted\" \\back", " lead", "trail ", ""]
    pick = random.Random(9)
    noise = ["".join(pick.choice(ALPHABET) for _ in range(pick.randrange(1, 30)))
             for _ in range(5000)]
    return ids + subjects + noise


def test_plain_message_id_and_subject_equal_policy_default() -> None:
    plain_seen = 0
    for value, name in itertools.product(_header_values(), ("Message-ID", "Subject")):
        headers = HeaderParser(policy=email.policy.default).parsestr(f"{name}: {value}\n\n")
        plain = plain_header(headers, name)
        if plain is not None:
            plain_seen += 1
            assert plain == str(headers.get(name)), (name, value)
    assert plain_seen > 1000


def test_read_headers_of_the_test_mail_is_unchanged() -> None:
    for path in sorted(DATA.glob("*.eml")) + sorted((DATA / "adversarial").glob("*.eml")):
        raw = path.read_bytes()
        headers = email.message_from_bytes(raw, policy=email.policy.default)
        facts = read_headers(raw)
        subject = headers.get("Subject")
        assert facts.subject == (str(subject).replace("\x00", "")[:500] if subject else None)
