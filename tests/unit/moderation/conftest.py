"""Helpers for moderation tests: build messages and run the shipped rules on them."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest

from gateway.moderation.chain import Decision, evaluate
from gateway.moderation.facts import Direction, MessageFacts, facts_from_message
from gateway.moderation.rules import RuleSet, load_rules

SHIPPED = Path(__file__).resolve().parents[3] / "relay_rules"
ALIASES = ("mentor-7k2p@relay.example.org", "mentee-q9x4@relay.example.org")


def message_bytes(text: str = "", *, subject: str = "Bonjour", html: str | None = None,
                  attachments: tuple[tuple[str, str, bytes], ...] = ()) -> bytes:
    msg = EmailMessage()
    msg["From"] = ALIASES[0]
    msg["To"] = ALIASES[1]
    msg["Subject"] = subject
    if html is not None and not text:
        msg.set_content(html, subtype="html")
    else:
        msg.set_content(text)
        if html is not None:
            msg.add_alternative(html, subtype="html")
    for filename, content_type, payload in attachments:
        maintype, subtype = content_type.split("/")
        msg.add_attachment(payload, maintype=maintype, subtype=subtype, filename=filename)
    return bytes(msg)


def facts_of(text: str = "", *, direction: Direction = "mentor_to_mentee",
             first_message: bool = False, minor: bool = False, **kwargs: object) -> MessageFacts:
    return facts_from_message(message_bytes(text, **kwargs),  # type: ignore[arg-type]
                              direction=direction, recipient_is_minor=minor,
                              first_message=first_message, pair_aliases=ALIASES)


@pytest.fixture(scope="session")
def shipped() -> RuleSet:
    return load_rules(SHIPPED)


def decide(rules: RuleSet, text: str = "", **kwargs: object) -> Decision:
    return evaluate(rules, facts_of(text, **kwargs))  # type: ignore[arg-type]


def hits_of(rules: RuleSet, rule: str, text: str = "", **kwargs: object) -> list[str]:
    return [h.evidence for h in decide(rules, text, **kwargs).hits if h.rule == rule]
