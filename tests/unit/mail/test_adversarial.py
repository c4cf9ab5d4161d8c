"""A determined sender's crafted messages (tests/data/adversarial/) through the rules and the
rewrite: what the recipient's client shows never holds a real address, the personal domain or
the surname, or the message is held/refused with a reason, and its redacted approval is clean."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.mail.canonical import read_bytes
from gateway.mail.privacy import Person, Privacy
from gateway.mail.rewrite import Party, RewriteContext, anonymize
from gateway.moderation.chain import Decision, evaluate
from gateway.moderation.facts import facts_from_message
from gateway.moderation.rules import RuleSet, load_rules
from gateway.review.held import redact
from tests.unit.mail.adversarial import (
    PERSONAL_DOMAIN,
    SENDER,
    attempt,
    client_view,
    leaks,
    load,
    names,
)

RULES = Path(__file__).resolve().parents[3] / "relay_rules"
MENTOR = Party(SENDER["sender"], SENDER["first"], SENDER["sender_alias"], real_name=SENDER["full"])
MENTEE = Party(SENDER["partner"], "Léa", SENDER["partner_alias"], real_name="Léa Tremblay")
CTX = RewriteContext(sender=MENTOR, recipient=MENTEE, program_name="Programme",
                     new_message_id="<n1@mentor.example.org>", in_reply_to=(), references=(),
                     private_domains=(PERSONAL_DOMAIN,))
PRIVACY = Privacy([Person(p.address, p.alias, p.real_name, p.display_name) for p in (MENTOR, MENTEE)],
                  (PERSONAL_DOMAIN,))


@pytest.fixture(scope="module")
def shipped() -> RuleSet:
    return load_rules(RULES)


def decide(rules: RuleSet, raw: bytes, *, minor: bool = True) -> Decision:
    facts = facts_from_message(raw, direction="mentor_to_mentee", recipient_is_minor=minor,
                               pair_aliases=(MENTOR.alias, MENTEE.alias), privacy=PRIVACY)
    return evaluate(rules, facts)


def test_the_corpus_is_large_and_says_what_each_file_tries() -> None:
    assert len(names()) >= 80
    for name in names():
        assert attempt(load(name))[0], f"{name} has no X-Test-Attempt header"


@pytest.mark.parametrize("name", names())
def test_nothing_private_reaches_the_recipient(shipped: RuleSet, name: str) -> None:
    raw = load(name)
    what, expected = attempt(raw)
    if expected != "reject":  # the attempt is real: a client shows the secret in the original
        assert leaks(raw, skip=("To", "From")) or expected == "hold", what
    decision = decide(shipped, raw)
    if expected:
        assert decision.verdict == expected, (what, decision.hits)
    if decision.verdict == "reject":
        assert all(hit.reason_en and hit.reason_fr for hit in decision.hits)
        return
    if decision.verdict == "hold":
        held = [h for h in decision.hits if h.action == "hold"]
        assert held and all(h.reason_en and h.reason_fr for h in held)
        raw = redact(raw, [h.evidence for h in decision.hits])  # approve --redact
    out = anonymize(raw, CTX)
    assert leaks(out) == [], what
    if any(h.rule == "unreadable_part" for h in decision.hits):  # removed, one line says so
        assert read_bytes(out).unreadable == ()
        assert "withheld by the program" in "\n".join(client_view(out))


@pytest.mark.parametrize("name", names())
def test_an_adult_pair_gets_a_clean_copy_without_the_minor_only_hold(
        shipped: RuleSet, name: str) -> None:
    """For adults, unreadable parts are not held by default: the rewrite alone keeps it clean."""
    raw = load(name)
    if decide(shipped, raw, minor=False).verdict in ("pass", "flag"):
        assert leaks(anonymize(raw, CTX)) == [], attempt(raw)[0]
