"""What must not travel, found and replaced in the spellings a client shows; and the rules read
the message as it will be shown (issue 12: a scrubbed own address is no reason to hold)."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest

from gateway.mail.canonical import read_bytes
from gateway.mail.privacy import Person, Privacy
from gateway.moderation.chain import evaluate
from gateway.moderation.facts import facts_from_message
from gateway.moderation.rules import load_rules

MENTOR = Person("jf.cote@travail.ca", "m7k3@mentor.example.org", "Jean-François Côté",
                "Jean-François")
MENTEE = Person("zoe@family.example", "q4z8@mentor.example.org", "Zoé Martin-Gagnon", "Zoé")
PRIVACY = Privacy([MENTOR, MENTEE], ["family.example"])
RULES = load_rules(Path(__file__).resolve().parents[3] / "relay_rules")


@pytest.mark.parametrize(("text", "expected"), [
    ("écris à JF.Cote@Travail.CA", "écris à m7k3@mentor.example.org"),
    ("mailto:jf.cote%40travail.ca", "mailto:m7k3%40mentor.example.org"),
    ("Jean-François Côté a écrit :", "Jean-François a écrit :"),
    ("JEAN FRANCOIS COTE", "Jean-François"),
    ("Signé: Côté", "Signé: Jean-François"),
    ("c'est à côté de l'école", "c'est à côté de l'école"),  # an everyday word in lowercase
    ("Zoé Martin-Gagnon, Gagnon, MARTIN", "Zoé, Zoé, Zoé"),
    ("www.family.example/photos", "[…]/photos"),
    ("CV_Cote_2026.pdf", "CV_Jean-François_2026.pdf"),
    ("Cotes et Martinez", "Cotes et Martinez"),  # other words that start like a name
])
def test_replacements(text: str, expected: str) -> None:
    assert PRIVACY.subn(text)[0] == expected
    assert PRIVACY.found(expected) == [] or expected == text


def _mail(body: str, html: str | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = MENTOR.address, MENTEE.alias, "Salut"
    msg.set_content(body)
    if html:
        msg.add_alternative(html, subtype="html")
    return bytes(msg)


def _verdict(raw: bytes) -> str:
    facts = facts_from_message(raw, direction="mentor_to_mentee", recipient_is_minor=True,
                               pair_aliases=(MENTOR.alias, MENTEE.alias), privacy=PRIVACY)
    return evaluate(RULES, facts).verdict


def test_own_and_partner_addresses_are_scrubbed_not_held_third_parties_still_are() -> None:
    quote = "Merci!\n\nLe 29 nov., Zoé <zoe@family.example> a écrit :\n> écris-moi à jf.cote@travail.ca"
    assert _verdict(_mail(quote)) == "pass"
    assert _verdict(_mail("écris à mon ami paul@autre.example")) == "hold"
    # an obfuscated spelling of the sender's own address is not replaced, so it is held
    assert _verdict(_mail("jf.cote (at) travail (dot) ca")) == "hold"


def test_the_html_copy_is_judged_as_rendered() -> None:
    raw = _mail("Bonjour", "<p>paul&#64autre<!-- -->.example</p>")
    assert _verdict(raw) == "hold"
    assert any("paul@autre.example" in seen.text for seen in read_bytes(raw).texts)


def test_content_ids_are_neutral_and_references_follow() -> None:
    from gateway.mail.rewrite import Party, RewriteContext, anonymize
    from tests.unit.mail.adversarial import load, names

    ctx = RewriteContext(sender=Party("marc.andre@castorbleu.qc.ca", "Marc", "m@gw.example"),
                         recipient=Party("lea@x.example", "Léa", "l@gw.example"),
                         program_name="P", new_message_id="<n@gw.example>", in_reply_to=(),
                         references=(), private_domains=("castorbleu.qc.ca",))
    [name] = [n for n in names() if "content_id_domain" in n]
    out = read_bytes(anonymize(load(name), ctx))
    [html] = [seen.text for seen in out.texts if seen.kind == "link" and "cid:" in seen.text]
    raw = anonymize(load(name), ctx).decode()
    content_id = raw.split("Content-ID: <", 1)[1].split(">", 1)[0]
    assert html == f"cid:{content_id}" and content_id.endswith("@gw.example")
    assert "castorbleu" not in raw
