"""End-to-end fixtures: the recording smarthost and a real gateway wired to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.clock import MovableClock
from tests.conftest import make_settings
from tests.e2e.dns_server import local_dns  # noqa: F401  (fixture)
from tests.e2e.harness import Harness
from tests.e2e.smarthost import smarthost  # noqa: F401  (fixture)


@pytest.fixture
async def gateway(db_url: str, tmp_path: Path, clock: MovableClock, smarthost,  # noqa: F811
                  empty_rules: Path) -> AsyncIterator[Harness]:
    """A gateway with no moderation rules: every message from a partner flows straight through."""
    harness = Harness(make_settings(db_url, tmp_path, rules_dir=empty_rules), clock, smarthost.port)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


@pytest.fixture
async def moderated_gateway(db_url: str, tmp_path: Path, clock: MovableClock,
                            smarthost) -> AsyncIterator[Harness]:  # noqa: F811
    """A gateway with the shipped rules in relay_rules/."""
    harness = Harness(make_settings(db_url, tmp_path), clock, smarthost.port)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()
