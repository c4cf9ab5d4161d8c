"""With [outbound] dkim_selector set, every mail the gateway sends carries a DKIM signature for its
domain that the receiving server verifies; a bad key stops start-up naming the config key."""

from __future__ import annotations

import base64
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dkim as dkimpy
import pytest

from gateway.app import App
from gateway.clock import MovableClock
from gateway.config import ConfigError
from gateway.program import service
from gateway.startup_checks import load_checked_settings
from tests.conftest import make_settings

SELECTOR = "mg1"


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    """(private key file, the TXT record a resolver would return), made fresh with openssl."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test key")
    path = tmp_path_factory.mktemp("dkim") / "key.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(path), "2048"], check=True, capture_output=True)
    public_der = subprocess.run(["openssl", "rsa", "-in", str(path), "-pubout", "-outform", "DER"],
                                check=True, capture_output=True).stdout
    return path, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public_der)


def resolver_stub(domain: str, record: bytes) -> Callable[..., bytes | None]:
    """The public DNS cannot run here: a stub that knows only our selector's TXT record."""
    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        return record if name == f"{SELECTOR}._domainkey.{domain}.".encode() else None
    return lookup


async def test_introductions_leave_signed_for_the_gateway_domain(
        db_url: str, tmp_path: Path, clock: MovableClock, smarthost: Any, empty_rules: Path,
        key: tuple[Path, bytes]) -> None:
    settings = make_settings(
        db_url, tmp_path, rules_dir=empty_rules,
        outbound={"mode": "smtp", "host": "127.0.0.1", "port": smarthost.port,
                  "dkim_selector": SELECTOR, "dkim_key_file": str(key[0])})
    app = App(settings, clock=clock, background=False)  # transports built from the settings
    await app.start()
    try:
        def pair(s: Any) -> None:
            service.add_participant(s, email="marie@example.com", name="Marie", role="mentor",
                                    lang="fr", now=clock.now())
            service.add_participant(s, email="lea@example.net", name="Léa", role="mentee",
                                    lang="en", minor=True, now=clock.now())
            service.create_pair(s, settings, mentor="marie@example.com", mentee="lea@example.net",
                                now=clock.now())
        await app.db.write(pair)
        await app.pump()
        await smarthost.wait_for_async(2, timeout=10)
    finally:
        await app.stop()
    dns = resolver_stub(settings.gateway.domain, key[1])
    for arrived in smarthost.messages:
        assert arrived.data.startswith(b"DKIM-Signature:")
        assert f"d={settings.gateway.domain}".encode() in arrived.data.split(b"\r\n\r\n")[0]
        assert dkimpy.verify(arrived.data, dnsfunc=dns)
        assert not dkimpy.verify(arrived.data.replace(b"Subject:", b"Subject: x"), dnsfunc=dns)


def test_an_unusable_key_stops_start_up_naming_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key")
    config = tmp_path / "config.toml"
    config.write_text(f'[outbound]\ndkim_selector = "{SELECTOR}"\ndkim_key_file = "{bad}"\n')
    with pytest.raises(ConfigError, match=r"config\.toml.*line 3.*dkim_key_file|dkim_key_file.*line 3"):
        load_checked_settings(config)
    config.write_text(f'[outbound]\ndkim_selector = "{SELECTOR}"\n')
    with pytest.raises(ConfigError, match="dkim_key_file is empty"):
        load_checked_settings(config)
