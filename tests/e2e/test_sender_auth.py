"""Who is really writing, over SMTP against the real gateway: SPF, DKIM and DMARC checked through a
DNS server on 127.0.0.1 started by the test (dnslib, test keys), or the front MTA's
Authentication-Results believed; a strict From header. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import dkim
import pytest
from sqlmodel import select

from gateway.clock import MovableClock
from gateway.mail.parse import parse
from gateway.store.models import Message
from tests.conftest import make_settings
from tests.e2e.dns_server import DKIM_KEY, LocalDns
from tests.e2e.harness import Harness, PairInfo, simple_message
from tests.e2e.moderation_helpers import received_by
from tests.e2e.smarthost import Smarthost

pytestmark = pytest.mark.e2e
Started = Callable[..., AbstractAsyncContextManager[tuple[Harness, PairInfo]]]


@pytest.fixture
def started(db_url: str, tmp_path: Path, clock: MovableClock, smarthost: Smarthost,
            empty_rules: Path) -> Started:
    @asynccontextmanager
    async def run(**authentication: Any) -> AsyncIterator[tuple[Harness, PairInfo]]:
        settings = make_settings(db_url, tmp_path, rules_dir=empty_rules,
                                 authentication=authentication)
        harness = Harness(settings, clock, smarthost.port)
        await harness.start()
        try:
            pair = await harness.make_pair()  # the mentee is a minor
            await harness.pump()
            smarthost.clear()
            yield harness, pair
        finally:
            await harness.stop()

    return run


def signed(data: bytes, domain: str = "example.com") -> bytes:
    signature = dkim.sign(data, b"sel", domain.encode(), DKIM_KEY,
                          include_headers=[b"from", b"to", b"subject", b"message-id"])
    return signature + data


def parsed(smarthost: Smarthost) -> list[Any]:
    return [parse(m.data) for m in smarthost.messages]


async def states(harness: Harness) -> list[tuple[str, str | None]]:
    rows = await harness.db.read(lambda s: s.exec(select(Message).order_by(Message.id)).all())
    return [(m.state, m.hits_json) for m in rows]


async def test_spf_dkim_and_dmarc_decide_at_smtp_time(
        started: Started, local_dns: LocalDns, smarthost: Smarthost) -> None:
    zone = local_dns.zone
    zone.dkim_key("sel", "example.com")
    zone.txt["example.com"] = ["v=spf1 ip4:192.0.2.1 -all"]  # not our 127.0.0.1
    zone.txt["_dmarc.example.com"] = ["v=DMARC1; p=reject"]
    async with started(mode="verify", resolver=local_dns.address, dns_timeout=1.0) as (h, pair):
        def mail(subject: str) -> bytes:
            return simple_message(pair.mentor_email, pair.mentee_alias, subject)

        # Signed by the participant's domain: delivered.
        ok = await h.send(pair.mentor_email, [pair.mentee_alias], signed(mail("Signé")))
        assert ok.code == 250, ok
        # Anyone else using the address: the domain's DMARC policy says refuse.
        forged = await h.send(pair.mentor_email, [pair.mentee_alias], mail("Usurpé"))
        assert (forged.code, forged.text[:6]) == (550, "5.7.26"), forged
        assert "example.com" in forged.text
        # A signature by another domain is no pass for example.com.
        other = await h.send(pair.mentor_email, [pair.mentee_alias],
                             signed(mail("Autre domaine"), "attacker.example"))
        assert other.code == 550, other

        # No DMARC record: unauthenticated mail to a minor is held, not delivered.
        del zone.txt["_dmarc.example.com"]
        held = await h.send(pair.mentor_email, [pair.mentee_alias], mail("Sans preuve"))
        assert held.code == 250, held
        # SPF authorizes the sending address: aligned pass, delivered.
        zone.txt["example.com"] = ["v=spf1 ip4:127.0.0.1 -all"]
        spf_ok = await h.send(pair.mentor_email, [pair.mentee_alias], mail("SPF"))
        assert spf_ok.code == 250, spf_ok
        # To an adult, unauthenticated mail is accepted (the default for adults).
        adult = await h.send(pair.mentee_email, [pair.mentor_alias],
                             simple_message(pair.mentee_email, pair.mentor_alias, "Adulte"))
        assert adult.code == 250, adult

        await h.pump()
        forwards = received_by(smarthost, pair.mentee_email) + received_by(smarthost,
                                                                            pair.mentor_email)
        subjects = sorted(str(m["Subject"]) for m in forwards)
        # The registered sender hears of the hold (the partner named by first name: [privacy]).
        assert subjects == ["Adulte", "SPF", "Signé", "Ton message à Léa est en cours "
                            "de vérification"]
        stored = await states(h)
        assert [state for state, _ in stored] == ["delivered", "held", "delivered", "delivered"]
        assert '"unauthenticated"' in str(stored[1][1])


async def test_a_dns_timeout_is_a_temporary_failure_and_stalls_no_one(
        started: Started, local_dns: LocalDns, smarthost: Smarthost) -> None:
    local_dns.zone.silent.update({"_dmarc.example.com", "example.com"})
    async with started(mode="verify", resolver=local_dns.address, dns_timeout=2.0) as (h, pair):
        slow = asyncio.create_task(h.send(pair.mentor_email, [pair.mentee_alias],
                                          simple_message(pair.mentor_email, pair.mentee_alias)))
        await asyncio.sleep(0.2)
        started_at = time.monotonic()
        other = await h.send(pair.mentee_email, [pair.mentor_alias],
                             simple_message(pair.mentee_email, pair.mentor_alias, "Pendant"))
        assert other.code == 250 and time.monotonic() - started_at < 1.5, other
        assert not slow.done()  # answered while the other sender's DNS was still silent
        outcome = await slow
        assert (outcome.code, outcome.text[:5]) == (451, "4.4.3"), outcome  # never a silent pass
        await h.pump()
        assert [str(m["Subject"]) for m in parsed(smarthost)] == ["Pendant"]


TRUSTED = "mx.example.org"


def with_headers(data: bytes, *lines: str) -> bytes:
    return "".join(line + "\r\n" for line in lines).encode() + data


async def test_the_front_mta_results_are_believed_and_forged_ones_removed(
        started: Started, smarthost: Smarthost) -> None:
    async with started(mode="trust", trust_authserv_id=TRUSTED) as (h, pair):
        def mail(subject: str, *lines: str) -> bytes:
            return with_headers(simple_message(pair.mentor_email, pair.mentee_alias, subject),
                                *lines)

        refused = await h.send(pair.mentor_email, [pair.mentee_alias], mail(
            "Refusé", f"Authentication-Results: {TRUSTED}; spf=fail smtp.mailfrom=example.com;"
            " dkim=none; dmarc=fail (p=reject dis=none) header.from=example.com"))
        assert (refused.code, refused.text[:6]) == (550, "5.7.26"), refused
        passed = await h.send(pair.mentor_email, [pair.mentee_alias], mail(
            "Accepté", f"Authentication-Results: {TRUSTED}; dkim=pass header.d=example.com;"
            " dmarc=pass header.from=example.com",
            "Authentication-Results: elsewhere.example; dmarc=fail",
            "Received: from a by b; Mon, 30 Nov 2026 12:00:00 +0000"))
        assert passed.code == 250, passed
        # The sender wrote a "pass" under the trusted id below two hops: not the front MTA's.
        forged = await h.send(pair.mentor_email, [pair.mentee_alias], mail(
            "Falsifié", "Received: from mx by gw; Mon, 30 Nov 2026 12:00:00 +0000",
            "Received: from client by mx; Mon, 30 Nov 2026 12:00:00 +0000",
            f"Authentication-Results: {TRUSTED}; dmarc=pass header.from=example.com"))
        assert forged.code == 250, forged  # no result at all: to a minor, held
        await h.pump()
        assert [str(m["Subject"]) for m in received_by(smarthost, pair.mentee_email)] == ["Accepté"]
        rows = await h.db.read(lambda s: s.exec(select(Message).order_by(Message.id)).all())
        assert [m.state for m in rows] == ["delivered", "held"]
        assert rows[0].raw.count(b"Authentication-Results:") == 1  # the trusted one only
        assert b"elsewhere.example" not in rows[0].raw
        assert b"Authentication-Results" not in rows[1].raw


@pytest.mark.parametrize("from_header", [
    "=?utf-8?q?{addr}?=",  # the address only inside an encoded word: a name, not an address
    "=?utf-8?b?{b64}?=",
    "<{addr}> (Marie) autre@attacker.example",
    "{addr}, autre@attacker.example",
    "Marie <{addr}> texte en trop",
    "Groupe: {addr};",
])
async def test_from_must_be_exactly_one_plain_mailbox(
        started: Started, smarthost: Smarthost, from_header: str) -> None:
    import base64

    async with started(mode="off") as (h, pair):
        addr = pair.mentor_email
        header = from_header.format(addr=addr, b64=base64.b64encode(addr.encode()).decode())
        data = simple_message(addr, pair.mentee_alias).replace(
            f"From: {addr}".encode(), f"From: {header}".encode(), 1)
        outcome = await h.send(addr, [pair.mentee_alias], data)
        assert (outcome.code, outcome.text[:5]) == (550, "5.7.1"), (header, outcome)
        await h.pump()
        assert smarthost.messages == []
        assert received_by(smarthost, pair.mentee_email) == []
