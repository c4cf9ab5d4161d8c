"""The messages of the fast policies find a header exactly as the stdlib's do, after every way
the email package (and the rewrite) changes a message's headers."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable
from email.message import Message

import pytest

from gateway.mail.text import FAST_DEFAULT_POLICY, FastCompatMessage

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
]


def _reads(msg: Message) -> list[object]:
    return [(name, str(msg.get(name)), msg.get(name, "fallback") == "fallback", name in msg,
             str(msg[name])) for name in NAMES] + [msg.get_content_type(), msg.get_params()]


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
