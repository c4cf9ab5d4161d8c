"""Adapter from a stored message and its pair to the rule engine's decision."""

from __future__ import annotations

from email.message import EmailMessage

from gateway.config import Settings
from gateway.moderation.chain import Decision, evaluate
from gateway.moderation.facts import facts_from_message
from gateway.moderation.rules import RuleSet
from gateway.relay.forward import PairPeople, privacy_for
from gateway.relay.processor import Moderate
from gateway.store.models import Message


def make_moderator(rules: RuleSet, settings: Settings | None = None) -> Moderate:
    if not rules.rules:
        # No rule can hit: skip parsing the message into facts (a few ms per message).
        return lambda _message, _people, _first, _parsed: Decision(verdict="pass", hits=())

    def moderate(message: Message, people: PairPeople, first_message: bool,
                 parsed: EmailMessage) -> Decision:
        facts = facts_from_message(
            message.raw,
            direction=message.direction,  # type: ignore[arg-type]
            sender_is_minor=people.sender.minor,
            recipient_is_minor=people.recipient.minor,
            first_message=first_message,
            pair_aliases=(people.sender_alias, people.recipient_alias),
            privacy=privacy_for(settings or Settings(), people),
            parsed=parsed,
            max_chars=(settings or Settings()).moderation.max_checked_chars,
        )
        return evaluate(rules, facts)

    return moderate
