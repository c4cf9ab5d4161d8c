"""Messages longer than the rules read: held unread, and nobody else's mail waits behind them."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

from tests.e2e import moderation_helpers as mod
from tests.e2e.moderation_helpers import (
    MakeGateway,
    make_gateway_fixture,  # noqa: F401  (fixture make_gateway)
)


async def test_a_message_longer_than_the_rules_read_is_held_and_the_next_one_flows(
        make_gateway: MakeGateway, smarthost: Any) -> None:
    """Past `max_checked_chars` the rest is not read (one long text must not stall everyone's
    mail): the message waits for a moderator, whatever hides at its end, even between adults."""
    h = await make_gateway(first_message=False, moderation={"max_checked_chars": 5_000})
    await mod.add_moderator(h, mod.MOD_FR, "Modératrice", lang="fr")
    pair = await mod.ready_pair(h, smarthost, mentee_lang="fr")
    filler = "Le stage à l'hôpital m'a beaucoup appris sur le métier d'infirmière. " * 100

    await mod.send(h, pair, f"{filler}\nÉcris-moi à lea.perso2009@gmail.com\n")
    await mod.send(h, pair, "Merci encore pour vos conseils, à bientôt !\n")

    held, passed = await mod.messages(h)
    assert (held.state, held.rules) == ("held", ["unchecked_text"])
    assert passed.state == "delivered"
    [forwarded] = mod.received_by(smarthost, pair.mentor_email)
    assert "Merci encore" in mod.text_body(forwarded.as_bytes())
    [notice] = mod.received_by(smarthost, pair.mentee_email)
    assert "en cours de vérification" in str(notice["Subject"])
    mod.assert_participant_notice(notice, forbidden=("lea.perso2009",))
    [alert] = mod.received_by(smarthost, mod.MOD_FR)
    assert f"#{held.id}" in mod.text_body(alert.as_bytes())


async def test_megabytes_of_filler_are_held_unread_with_the_shipped_budget(
        make_gateway: MakeGateway, smarthost: Any) -> None:
    """4 MB of "x y x y" took 71 s of checking on a slow machine, everyone's mail waiting
    behind it, then passed; HTML markup 8 s. Now both are read up to the budget and held."""
    h = await make_gateway(first_message=False)
    pair = await mod.ready_pair(h, smarthost)
    contact = "\nlea.perso2009@gmail.com 514 555 0199\n"
    for subtype, filler in (("plain", "x y " * 1_000_000),
                            ("html", "<p>Bonjour <b>toi</b> 1 2 </p>" * 130_000)):
        data = EmailMessage()
        data["From"], data["To"], data["Subject"] = pair.mentee_email, pair.mentor_alias, "Long"
        data.set_content(filler + contact, subtype=subtype)
        assert (await h.send(pair.mentee_email, [pair.mentor_alias], data.as_bytes())).code == 250
    await mod.send(h, pair, "Merci encore pour vos conseils, à bientôt !\n")
    assert [(m.state, m.rules) for m in await mod.messages(h)] == [
        ("held", ["unchecked_text"]), ("held", ["unchecked_text"]), ("delivered", [])]
    [forwarded] = mod.received_by(smarthost, pair.mentor_email)
    assert "Merci encore" in mod.text_body(forwarded.as_bytes())
