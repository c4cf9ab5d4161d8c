"""Crafted messages from a determined mentor, over real SMTP to a minor's alias: what reaches the
mentee's mail client shows no real address, personal domain or surname; what is held says why,
and the moderator's redacted approval delivers a clean copy."""

from __future__ import annotations

from typing import Any

from gateway.program import service
from tests.e2e.moderation_helpers import (  # noqa: F401
    MakeGateway,
    approve,
    make_gateway_fixture,
    messages,
    received_by,
)
from tests.unit.mail.adversarial import PERSONAL_DOMAIN, SENDER, leaks, load, names

# One or two per family: folded text, HTML encodings, look-alikes, containers, opaque parts,
# names, executables (the whole corpus runs through the same steps in tests/unit/mail).
SUBSET = ("ics_attendee_folded", "rfc2231_filename_continuation",
          "html_dec_no_semicolon", "html_data_uri", "fullwidth_all",
          "rfc822_base64", "uuencoded_plain", "tnef",
          "zip_with_address", "quote_attribution_fr", "forwarded_cc_names",
          "exe_zip_nested")


async def test_crafted_messages_over_smtp(make_gateway: MakeGateway, smarthost: Any) -> None:
    h = await make_gateway(first_message=False, privacy={"personal_domains": [PERSONAL_DOMAIN]})
    now = h.clock.now()

    def create(s: Any) -> service.PairView:
        service.add_participant(s, email=SENDER["sender"], name=SENDER["full"], role="mentor",
                                now=now)
        service.add_participant(s, email=SENDER["partner"], name="Léa Tremblay", role="mentee",
                                minor=True, now=now)
        return service.create_pair(s, h.settings, mentor=SENDER["sender"],
                                   mentee=SENDER["partner"], now=now)

    pair = await h.db.write(create)
    await h.pump()
    outcomes: dict[str, str] = {}
    notices: dict[str, list[str]] = {}
    files = {name.split("_", 1)[1].removesuffix(".eml"): name for name in names()}
    for name in SUBSET:
        smarthost.clear()
        raw = load(files[name], {"partner_alias": pair.mentee_alias})
        assert (await h.send(SENDER["sender"], [pair.mentee_alias], raw)).code == 250
        await h.pump()
        stored = (await messages(h))[-1]
        outcomes[name] = stored.state
        if stored.state == "held":
            assert stored.rules, name  # the moderator sees which rule held it
            await approve(h, stored.id, redacted=True)
            await h.pump()
            await h.pump()
        delivered = received_by(smarthost, SENDER["partner"])
        if stored.state == "rejected":
            assert delivered == [], name
            continue
        assert len(delivered) == 1, (name, stored)
        assert leaks(delivered[0].as_bytes()) == [], name
        notices[name] = [str(m["Subject"]) for m in received_by(smarthost, SENDER["sender"])]
    assert outcomes["tnef"] == "held" and outcomes["zip_with_address"] == "held"
    assert outcomes["exe_zip_nested"] == "rejected"
    assert outcomes["quote_attribution_fr"] not in ("held", "rejected")  # scrubbed only
    # A file named after the address cannot be fixed in place: withheld, and the sender is told.
    assert "Une partie de ton message n’a pas été transmise" in notices[
        "rfc2231_filename_continuation"]
