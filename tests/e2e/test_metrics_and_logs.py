"""Operators' view after real SMTP traffic: /metrics parsed by prometheus-client's own parser, its
protection (token or loopback), and JSON log lines: one per message handled, ids and no address."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.clock import MovableClock
from gateway.config import LoggingSettings
from gateway.logs import setup_logging
from tests.e2e.harness import PHONE_RULE, simple_message
from tests.e2e.test_web_http import Site, running_site

pytestmark = pytest.mark.e2e


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    setup_logging(LoggingSettings(format="json", level="info"), stream)
    try:
        yield stream
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])


@pytest.fixture
async def site(db_url: str, tmp_path: Path, clock: MovableClock,
               smarthost: Any) -> AsyncIterator[Site]:
    async with running_site(db_url, tmp_path, clock, smarthost.port,
                            {"phone.toml": PHONE_RULE}) as running:
        yield running


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


async def traffic(site: Site, clock: MovableClock) -> list[int]:
    """One message forwarded, one held (phone number), one stranger refused at RCPT."""
    harness = site.harness
    pairs = [await harness.make_pair(org="École A"), await harness.make_pair()]
    sent = [(pairs[0].mentee_email, pairs[0].mentor_alias, "Bonjour, une question.\n"),
            (pairs[1].mentor_email, pairs[1].mentee_alias, "Appelle-moi au 514-555-1234\n")]
    for sender, alias, body in sent:
        assert (await harness.send(sender, [alias], simple_message(sender, alias, body=body))).code == 250
    stranger = await harness.send("stranger@elsewhere.example", [pairs[0].mentor_alias],
                                  simple_message("stranger@elsewhere.example", pairs[0].mentor_alias))
    assert stranger.code == 550
    await harness.pump()
    clock.advance(timedelta(minutes=10))
    return [p.id for p in pairs]


async def test_metrics_after_real_traffic(site: Site, clock: MovableClock,
                                          json_log: io.StringIO) -> None:
    pair_ids = await traffic(site, clock)
    async with httpx.AsyncClient(base_url=site.base) as client:
        response = await client.get("/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain; version=")
        got = samples(response.text)
        assert got[("mentor_gateway_messages_handled_total",
                    (("outcome", "forwarded"), ("reason", "none")))] == 1
        assert got[("mentor_gateway_messages_handled_total",
                    (("outcome", "held"), ("reason", "phone")))] == 1
        assert got[("mentor_gateway_processing_seconds_count", ())] == 2
        assert got[("mentor_gateway_review_queue_length", ())] == 1
        assert got[("mentor_gateway_review_queue_oldest_age_seconds", ())] == pytest.approx(600, abs=5)
        assert got[("mentor_gateway_messages_waiting", (("state", "held"),))] == 1
        assert got[("mentor_gateway_messages_waiting", (("state", "received"),))] == 0
        # The forward and the notices were sent by pump(): nothing is waiting in the outbox.
        assert got[("mentor_gateway_outbox_backlog", (("state", "queued"),))] == 0
        assert got[("mentor_gateway_outbox_oldest_age_seconds", ())] == 0

        proxied = await client.get("/metrics", headers={"x-forwarded-for": "203.0.113.9"})
        assert proxied.status_code == 403, "behind a proxy, loopback proves nothing"
        site.harness.app.settings = site.harness.app.settings.replace(metrics={"token": "s3cret"})
        assert (await client.get("/metrics")).status_code == 401
        assert (await client.get("/metrics", headers={"authorization": "Bearer nope"})).status_code == 401
        ok = await client.get("/metrics", headers={"authorization": "Bearer s3cret",
                                                    "x-forwarded-for": "203.0.113.9"})
        assert ok.status_code == 200 and "mentor_gateway_review_queue_length 1.0" in ok.text

    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]  # every line is JSON
    handled = [line for line in lines if line.get("event") == "message_handled"]
    assert sorted(line["pair_id"] for line in handled) == sorted(pair_ids)
    assert {line["outcome"] for line in handled} == {"forwarded", "held"}
    assert all(isinstance(line["message_id"], int) and line["level"] == "INFO" for line in handled)
    for line in lines:
        text = json.dumps(line, ensure_ascii=False)
        assert "@" not in text and "514-555" not in text and "question" not in text, line
    # One line per message handled: no per-state audit chatter at INFO.
    assert not [line for line in lines if line["logger"] == "gateway.audit"]
