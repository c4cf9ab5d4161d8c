"""The messages of the fast policies find a header and give their payload exactly as the stdlib's
do, after every way the email package (and the rewrite) changes a message's headers or payload."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable
from email.message import Message
from pathlib import Path

import pytest

from gateway.mail.text import FAST_DEFAULT_POLICY, FastCompatMessage
from tests.unit.mail.test_fast_paths import FILES, _key

RAW = (b"From: a@example.org\r\nTo: b@example.org\r\nSubject: one\r\nsubject: two\r\n"
       b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8; format=flowed\r\n"
       b"Content-Transfer-Encoding: 8bit\r\nX-Empty:\r\n\r\nbody \xc3\xa9\r\n")
NAMES = ["from", "To", "SUBJECT", "subject", "mime-version", "content-type", "Content-Type",
         "content-transfer-encoding", "x-empty", "x-added", "content-disposition", "absent", ""]

CHANGES: list[tuple[str, Callable[[Message], object]]] = [
    ("set_raw", lambda m: m.set_raw("X-Added", "1")),
    ("setitem", lambda m: m.__setitem__("X-Added", "2")),
    ("delitem", lambda m: m.__delitem__("subject")),
    ("delitem absent", lambda m: m.__delitem__("absent")),
    ("replace_header", lambda m: m.replace_header("SUBJECT", "three")),
    ("add_header", lambda m: m.add_header("Content-Disposition", "attachment", filename="f.txt")),
    ("set_param", lambda m: m.set_param("charset", "latin-1")),
    ("set_param new", lambda m: m.set_param("name", "x", header="Content-Disposition")),
    ("del_param", lambda m: m.del_param("format")),
    ("set_type", lambda m: m.set_type("text/html")),
    ("set_boundary", lambda m: m.set_boundary("b")),
    ("headers list", lambda m: setattr(m, "_headers", [("X-Added", "4"), ("From", "c@x")])),
    ("headers cleared", lambda m: setattr(m, "_headers", [])),
    ("set_payload charset", lambda m: m.set_payload("x", "utf-8")),
    ("delete then append", lambda m: (m.__delitem__("to"), m.set_raw("To", "d@x"))),
    ("payload", lambda m: m.set_payload("caf\udcc3\udca9 =C3=A9 YWJj\r\n")),
    ("payload ascii", lambda m: m.set_payload("YWJj\r\n")),
    ("base64", lambda m: m.replace_header("Content-Transfer-Encoding", "base64")),
    ("qp", lambda m: m.replace_header("content-transfer-encoding", "Quoted-Printable")),
    ("no cte", lambda m: m.__delitem__("content-transfer-encoding")),
    ("charset latin-1", lambda m: m.set_param("charset", "latin-1")),
    ("charset unknown", lambda m: m.set_param("charset", "x-unknown")),
    ("charset 2231", lambda m: m.set_param("charset", "utf-8", language="fr")),
    ("bytes payload", lambda m: setattr(m, "_payload", b"raw \xc3\xa9")),
    ("list payload", lambda m: m.attach(Message())),
]


def _shown(answer: object) -> object:
    if isinstance(answer, list):
        return [_shown(item) for item in answer]
    return ("message", answer.get_content_type()) if isinstance(answer, Message) else answer


def _payloads(msg: Message) -> list[object]:
    """get_payload in every mode, twice (the second answer may come from the memo)."""
    seen: list[object] = []
    for decode in (False, True, False, True):
        try:
            seen.append(_shown(msg.get_payload(decode=decode)))
        except Exception as error:  # noqa: BLE001 - the same failure is expected
            seen.append(("raised", type(error).__name__))
        seen.append([type(defect).__name__ for defect in msg.defects])
    try:
        seen.append(_shown(msg.get_payload(0)))
    except Exception as error:  # noqa: BLE001
        seen.append(("raised", type(error).__name__))
    return seen


def _reads(msg: Message) -> list[object]:
    return [(name, str(msg.get(name)), msg.get(name, "fallback") == "fallback", name in msg,
             str(msg[name])) for name in NAMES] + [msg.get_content_type(), msg.get_params(),
                                                   *_payloads(msg)]


@pytest.mark.parametrize("policy", [email.policy.compat32, email.policy.default],
                         ids=["compat32", "default"])
def test_every_change_then_every_read_equals_the_stdlib(policy: email.policy.Policy) -> None:
    fast_policy = (email.policy.compat32.clone(message_factory=FastCompatMessage)
                   if policy is email.policy.compat32 else FAST_DEFAULT_POLICY)
    for count in range(1, len(CHANGES) + 1):
        for start in range(len(CHANGES)):
            stock = email.message_from_bytes(RAW, policy=policy)
            fast = email.message_from_bytes(RAW, policy=fast_policy)
            assert type(fast) is not type(stock)
            assert _reads(fast) == _reads(stock)
            for _name, change in (CHANGES[start:] + CHANGES[:start])[:count]:
                for msg in (stock, fast):
                    try:
                        change(msg)
                    except Exception as error:  # noqa: BLE001 - the same refusal is expected
                        msg.refused = type(error).__name__  # type: ignore[attr-defined]
                assert getattr(fast, "refused", None) == getattr(stock, "refused", None)
                assert _reads(fast) == _reads(stock)


@pytest.mark.parametrize("path", FILES, ids=_key)
def test_payloads_of_every_part_equal_the_stdlib(path: Path) -> None:
    raw = path.read_bytes()
    for policy, fast_policy in ((email.policy.compat32, email.policy.compat32.clone(
            message_factory=FastCompatMessage)), (email.policy.default, FAST_DEFAULT_POLICY)):
        stock = list(email.message_from_bytes(raw, policy=policy).walk())
        fast = list(email.message_from_bytes(raw, policy=fast_policy).walk())
        assert [_payloads(part) for part in fast] == [_payloads(part) for part in stock]
