"""A moderator's reply to a notice, as mail clients write it: what it decides."""

from __future__ import annotations

import pytest

from gateway.review.reply_words import ReplyDecision, read_decision

NOTICE = "Message #12 attend une décision.\nPour approuver, répondez approve ou oui.\n"
GMAIL_FR = "\n\nLe dim. 29 nov. 2026 à 12:00, Academos <program@mentor.test> a écrit :\n" + \
    "".join(f"> {line}\n" for line in NOTICE.splitlines())
GMAIL_EN = "\n\nOn Sun, Nov 29, 2026 at 12:00 PM Academos <program@mentor.test>\nwrote:\n> approve\n"
OUTLOOK_EN = ("\n\nMarie Tremblay\nCoordinator\n\n-----Original Message-----\nFrom: Academos "
              "<program@mentor.test>\nSent: Sunday, November 29, 2026 12:00 PM\nSubject: [Moderation]"
              "\n\n" + NOTICE)
OUTLOOK_FR = ("\n\nDe : Academos <program@mentor.test>\nEnvoyé : dimanche 29 novembre 2026 12:00\n"
              "À : Marie\nObjet : [Modération] Message #12\n\n" + NOTICE)


@pytest.mark.parametrize("quote", [GMAIL_FR, GMAIL_EN, OUTLOOK_EN, OUTLOOK_FR, ""])
@pytest.mark.parametrize(("typed", "expected"), [
    ("approve", ReplyDecision("approve", "")),
    ("OK!", ReplyDecision("approve", "")),
    ("Oui", ReplyDecision("approve", "")),
    ("oui, le numéro est celui de l'école", ReplyDecision("approve", "le numéro est celui de l'école")),
    ("reject: no phone numbers please", ReplyDecision("reject", "no phone numbers please")),
    ("Non : pas de rendez-vous en personne.", ReplyDecision("reject", "pas de rendez-vous en personne.")),
    ("Refuser\nLes coordonnées restent privées.", ReplyDecision("reject", "Les coordonnées restent privées.")),
    ("non", ReplyDecision("reject", "")),  # no reason: refused by the caller, nothing decided
    ("Merci, je regarde demain.", ReplyDecision("unclear", "")),
    ("", ReplyDecision("unclear", "")),
])
def test_what_the_moderator_typed_decides_the_quote_never_does(
        typed: str, expected: ReplyDecision, quote: str) -> None:
    assert read_decision(typed + quote) == expected


def test_a_signature_is_never_the_reason_sent_to_the_participant() -> None:
    assert read_decision("non\n\nMarie Tremblay\n514-555-0000") == ReplyDecision("reject", "")
    assert read_decision("reject: no contact details\n\n--\nMarie\n514-555-0000") == \
        ReplyDecision("reject", "no contact details")


def test_a_command_only_in_the_quoted_notice_decides_nothing() -> None:
    assert read_decision("Je ne suis pas sûre." + GMAIL_FR).action == "unclear"
    assert read_decision("> approve\n> oui\n").action == "unclear"
