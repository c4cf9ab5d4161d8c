"""Outbound transports against a real SMTP server and a real maildir: what the worker will see."""

from __future__ import annotations

import asyncio
import shutil
import smtplib
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from pathlib import Path
from typing import Any

import pytest

from gateway.delivery.transports import (
    SendResult,
    SmtpTransport,
    build_transport,
)
from tests.e2e.smarthost import Smarthost

pytestmark = pytest.mark.e2e
# Every test runs against a smarthost that offers PIPELINING (the transport takes the connection
# over from aiosmtplib, see delivery/pipelining.py) and one that does not (aiosmtplib's sendmail):
# the two ways of sending must give the same results.
WAYS = ["pipelining", "one-command-at-a-time"]


@pytest.fixture(params=WAYS)
def smarthost(request: pytest.FixtureRequest) -> Iterator[Smarthost]:
    host = Smarthost(pipelining=request.param == "pipelining").start()
    try:
        yield host
    finally:
        host.stop()

SENDER = "bounces+42@gateway.example.org"
RECIPIENT = "jeune.1@eleves.example.net"


def message(number: int = 1, body: str = "Bonjour, ça va ?\n") -> bytes:
    msg = EmailMessage()
    msg["From"] = "Marie <m-abc123@gateway.example.org>"
    msg["To"] = RECIPIENT
    msg["Subject"] = f"Message {number}"
    msg["Message-ID"] = f"<{number}.test@gateway.example.org>"
    msg.set_content(body)
    return msg.as_bytes(policy=SMTP_POLICY)


def transport_for(host: Smarthost, timeout: float = 5.0) -> SmtpTransport:
    return SmtpTransport("127.0.0.1", host.port, timeout=timeout, local_hostname="gw.test")


async def test_the_way_of_sending_follows_the_offer(smarthost: Smarthost) -> None:
    transport = transport_for(smarthost)
    try:
        assert (await transport.send(SENDER, RECIPIENT, message())).status == "sent"
        assert (transport._replies is not None) == smarthost.pipelining
    finally:
        await transport.close()
    assert smarthost.open_connections == 0 or await _closed_soon(smarthost)


def test_uvloop_connections_are_taken_over_too(smarthost: Smarthost) -> None:
    results, taken_over = _two_on_uvloop(lambda: transport_for(smarthost))
    assert [r.status for r in results] == ["sent", "sent"]
    assert taken_over == smarthost.pipelining
    assert [m.data for m in smarthost.wait_for(2)] == [message(0), message(1)]


def _two_on_uvloop(make: Callable[[], SmtpTransport]) -> tuple[list[SendResult], bool]:
    """Two sends on one transport under uvloop (`serve` runs on it when installed): the
    results, and whether the connection was taken over for pipelining."""
    uvloop = pytest.importorskip("uvloop")

    async def send_two() -> tuple[list[SendResult], bool]:
        transport = make()
        try:
            results = [await transport.send(SENDER, RECIPIENT, message(n)) for n in range(2)]
            return results, transport._replies is not None
        finally:
            await transport.close()

    return uvloop.run(send_two())  # type: ignore[no-any-return]


async def _closed_soon(host: Smarthost) -> bool:
    for _ in range(50):
        if host.open_connections == 0:
            return True
        await asyncio.sleep(0.02)
    return False


async def test_message_arrives_with_envelope_and_exact_bytes(smarthost: Smarthost) -> None:
    transport = transport_for(smarthost)
    data = message()
    try:
        result = await transport.send(SENDER, RECIPIENT, data)
    finally:
        await transport.close()
    assert result.status == "sent"
    assert result.detail.startswith("250")
    [got] = await smarthost.wait_for_async(1)
    assert got.envelope_from == SENDER
    assert got.rcpt_tos == (RECIPIENT,)
    assert got.data == data


async def test_scripted_451_twice_then_250_on_one_transport(smarthost: Smarthost) -> None:
    smarthost.script("451 4.3.0 try later", "451 4.3.0 try later", "250")
    transport = transport_for(smarthost)
    try:
        results = [await transport.send(SENDER, RECIPIENT, message()) for _ in range(3)]
    finally:
        await transport.close()
    assert [r.status for r in results] == ["temporary", "temporary", "sent"]
    assert results[0].detail == "451 4.3.0 try later"
    assert len(smarthost.messages) == 1
    assert smarthost.connections == 1  # a 4xx does not cost a reconnect


async def test_550_is_permanent_and_carries_the_server_text(smarthost: Smarthost) -> None:
    smarthost.always("550 5.1.1 no such user")
    transport = transport_for(smarthost)
    try:
        result = await transport.send(SENDER, RECIPIENT, message())
        smarthost.reset()
        after = await transport.send(SENDER, RECIPIENT, message(2))
    finally:
        await transport.close()
    assert result == SendResult("permanent", "550 5.1.1 no such user")
    assert after.status == "sent"  # the session survived the refusal
    assert smarthost.connections == 1


async def test_recipient_refused_at_rcpt(smarthost: Smarthost) -> None:
    smarthost.script("550 5.1.1 no such user", "450 4.2.1 mailbox busy", stage="rcpt")
    transport = transport_for(smarthost)
    try:
        first = await transport.send(SENDER, RECIPIENT, message())
        second = await transport.send(SENDER, RECIPIENT, message(2))
        third = await transport.send(SENDER, RECIPIENT, message(3))
    finally:
        await transport.close()
    assert first == SendResult("permanent", "550 5.1.1 no such user")
    assert second == SendResult("temporary", "450 4.2.1 mailbox busy")
    assert third.status == "sent"
    assert len(smarthost.messages) == 1


async def test_smarthost_down_is_temporary_and_up_again_delivers(smarthost: Smarthost) -> None:
    transport = transport_for(smarthost)
    try:
        assert (await transport.send(SENDER, RECIPIENT, message(1))).status == "sent"
        smarthost.down()
        refused = await transport.send(SENDER, RECIPIENT, message(2))
        smarthost.up()
        back = await transport.send(SENDER, RECIPIENT, message(3))
    finally:
        await transport.close()
    assert refused.status == "temporary"
    assert str(smarthost.port) in refused.detail
    assert "Traceback" not in refused.detail
    assert back.status == "sent"
    assert [m.data for m in smarthost.messages] == [message(1), message(3)]


async def test_hanging_server_times_out_as_temporary(smarthost: Smarthost) -> None:
    smarthost.hang()
    transport = transport_for(smarthost, timeout=0.5)
    started = time.monotonic()
    try:
        result = await transport.send(SENDER, RECIPIENT, message())
        smarthost.reset()
        after = await transport.send(SENDER, RECIPIENT, message(2))
    finally:
        await transport.close()
    assert result.status == "temporary"
    assert "0.5s" in result.detail
    assert time.monotonic() - started < 5
    assert after.status == "sent"  # a fresh connection, not the stuck one
    assert smarthost.connections == 2


async def test_server_dropping_connection_during_data_is_temporary(smarthost: Smarthost) -> None:
    smarthost.script("disconnect")
    transport = transport_for(smarthost)
    try:
        result = await transport.send(SENDER, RECIPIENT, message())
    finally:
        await transport.close()
    assert result.status == "temporary"
    assert smarthost.messages == []


async def test_idle_connection_closed_by_server_reconnects_transparently(
        smarthost: Smarthost) -> None:
    transport = transport_for(smarthost)
    try:
        assert (await transport.send(SENDER, RECIPIENT, message(1))).status == "sent"
        smarthost.drop_connections()
        await asyncio.sleep(0.2)  # the client sees the close while idle
        result = await transport.send(SENDER, RECIPIENT, message(2))
    finally:
        await transport.close()
    assert result.status == "sent"
    assert smarthost.connections == 2
    assert [m.connection for m in smarthost.messages] == [1, 2]


async def test_stale_connection_noticed_only_on_send_is_retried_once(
        smarthost: Smarthost) -> None:
    # The client has not yet seen the close when it starts sending: the send itself hits the
    # dead socket, and the transport must reconnect and deliver without reporting a failure.
    transport = transport_for(smarthost)
    try:
        assert (await transport.send(SENDER, RECIPIENT, message(1))).status == "sent"
        smarthost.drop_connections()
        result = await transport.send(SENDER, RECIPIENT, message(2))
    finally:
        await transport.close()
    assert result.status == "sent"
    assert len(smarthost.messages) == 2
    assert smarthost.connections == 2


async def test_hundred_messages_share_one_connection(smarthost: Smarthost) -> None:
    transport = transport_for(smarthost)
    try:
        results = [await transport.send(SENDER, RECIPIENT, message(n)) for n in range(100)]
    finally:
        await transport.close()
    assert {r.status for r in results} == {"sent"}
    recorded = await smarthost.wait_for_async(100)
    assert smarthost.connections == 1
    assert {m.connection for m in recorded} == {1}
    assert [m.data for m in recorded] == [message(n) for n in range(100)]


async def test_concurrent_senders_on_one_transport_do_not_interleave(
        smarthost: Smarthost) -> None:
    transport = transport_for(smarthost)
    try:
        results = await asyncio.gather(
            *(transport.send(SENDER, f"user{n}@example.net", message(n)) for n in range(20)))
    finally:
        await transport.close()
    assert {r.status for r in results} == {"sent"}
    by_rcpt = {m.rcpt_tos: m.data for m in smarthost.messages}
    assert by_rcpt == {(f"user{n}@example.net",): message(n) for n in range(20)}


async def test_international_recipient_uses_smtputf8(smarthost: Smarthost) -> None:
    transport = transport_for(smarthost)
    try:
        result = await transport.send(SENDER, "léa@exemple.fr", message())
    finally:
        await transport.close()
    assert result.status == "sent"
    assert smarthost.messages[0].rcpt_tos == ("léa@exemple.fr",)


async def test_invalid_address_is_permanent_and_never_raises(smarthost: Smarthost) -> None:
    transport = transport_for(smarthost)
    try:
        result = await transport.send(SENDER, "not an address\r\nRCPT TO:<x@y>", message())
        after = await transport.send(SENDER, RECIPIENT, message(2))
    finally:
        await transport.close()
    assert result.status == "permanent"
    assert after.status == "sent"
    assert [m.rcpt_tos for m in smarthost.messages] == [(RECIPIENT,)]


async def test_build_transport_smtp(smarthost: Smarthost) -> None:
    transport = build_transport("smtp", host="127.0.0.1", port=smarthost.port, timeout=5.0)
    try:
        assert (await transport.send(SENDER, RECIPIENT, message())).status == "sent"
    finally:
        await transport.close()
    assert len(smarthost.messages) == 1


async def test_close_without_any_send_and_twice_is_harmless(smarthost: Smarthost) -> None:
    transport = transport_for(smarthost)
    await transport.close()
    assert (await transport.send(SENDER, RECIPIENT, message())).status == "sent"
    await transport.close()
    await transport.close()
    assert smarthost.connections == 1


# ----- the recording smarthost itself, as every other end-to-end test relies on it -----

SMTPLIB_DATA = b"Subject: hi\r\n\r\nhello\r\n"


def smtplib_send(port: int, data: bytes = SMTPLIB_DATA, rcpt: str = "b@example.net") -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=5) as client:
        client.sendmail("a@example.org", [rcpt], data)


def test_wait_for_wakes_when_a_message_arrives_from_another_thread(smarthost: Smarthost) -> None:
    sender = threading.Timer(0.2, smtplib_send, args=(smarthost.port,))
    started = time.monotonic()
    sender.start()
    try:
        assert len(smarthost.wait_for(1, timeout=5)) == 1
    finally:
        sender.join()
    assert time.monotonic() - started < 3


def test_wait_for_fails_clearly_when_nothing_comes(smarthost: Smarthost) -> None:
    with pytest.raises(AssertionError, match="expected 1 message"):
        smarthost.wait_for(1, timeout=0.2)


def test_scripted_replies_then_default(smarthost: Smarthost) -> None:
    smarthost.script("451 4.3.0 try later", "550 5.1.1 no such user")
    codes = []
    for _ in range(3):
        try:
            smtplib_send(smarthost.port)
            codes.append(250)
        except smtplib.SMTPDataError as exc:
            codes.append(exc.smtp_code)
    assert codes == [451, 550, 250]
    assert len(smarthost.messages) == 1
    assert smarthost.data_commands == 3


def test_down_refuses_and_up_listens_on_the_same_port(smarthost: Smarthost) -> None:
    port = smarthost.port
    smarthost.down()
    with pytest.raises(ConnectionRefusedError):
        smtplib_send(port)
    smarthost.up()
    assert smarthost.port == port
    smtplib_send(port)
    assert len(smarthost.wait_for(1)) == 1


def test_stop_does_not_wait_for_a_hanging_session() -> None:
    host = Smarthost().start()
    host.hang()
    client = smtplib.SMTP("127.0.0.1", host.port, timeout=5)
    client.ehlo()
    client.mail("a@example.org")
    client.rcpt("b@example.net")
    client.putcmd("data")
    client.getreply()
    client.send(SMTPLIB_DATA + b".\r\n")  # the message is now in flight and will never be answered
    started = time.monotonic()
    host.stop()
    client.close()
    assert time.monotonic() - started < 5


# ----- STARTTLS and AUTH -----

@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


@pytest.fixture(params=WAYS)
def tls_smarthost(tls_files: tuple[Path, Path], request: pytest.FixtureRequest) -> Iterator[Smarthost]:
    cert, key = tls_files
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    host = Smarthost(tls_context=server_context, credentials={"gw": "s3cret"},
                     pipelining=request.param == "pipelining").start()
    try:
        yield host
    finally:
        host.stop()


def tls_transport(host: Smarthost, cert: Path, **kwargs: Any) -> SmtpTransport:
    return SmtpTransport("127.0.0.1", host.port, timeout=5.0,
                         tls_context=ssl.create_default_context(cafile=str(cert)), **kwargs)


async def test_starttls_and_auth_deliver(tls_smarthost: Smarthost,
                                         tls_files: tuple[Path, Path]) -> None:
    transport = tls_transport(tls_smarthost, tls_files[0], starttls=True, username="gw",
                              password="s3cret")
    try:
        results = [await transport.send(SENDER, RECIPIENT, message(n)) for n in range(3)]
    finally:
        await transport.close()
    assert [r.status for r in results] == ["sent"] * 3
    assert tls_smarthost.authenticated == ["gw"]  # one login for the reused connection
    assert tls_smarthost.connections == 1


@pytest.mark.parametrize("settings", [
    {"starttls": True, "username": "gw", "password": "wrong"},
    {"starttls": False, "username": None, "password": None},
    {"starttls": True, "username": None, "password": None},
])
async def test_smarthost_settings_mistakes_keep_mail_for_later(
        tls_smarthost: Smarthost, tls_files: tuple[Path, Path], settings: dict[str, Any]) -> None:
    transport = tls_transport(tls_smarthost, tls_files[0], **settings)
    try:
        result = await transport.send(SENDER, RECIPIENT, message())
    finally:
        await transport.close()
    assert result.status == "temporary"
    assert result.detail[:1] == "5"  # the server's own refusal, shown to the operator
    assert tls_smarthost.messages == []


async def test_null_reverse_path_for_notices(smarthost: Smarthost) -> None:
    transport = transport_for(smarthost)
    try:
        result = await transport.send("", RECIPIENT, message())
    finally:
        await transport.close()
    assert result.status == "sent"
    assert smarthost.messages[0].envelope_from == "<>"


async def test_send_cancelled_mid_data_never_reuses_the_half_finished_session(
        smarthost: Smarthost) -> None:
    # A worker shutting down cancels a send stuck in DATA. The next send must not read the
    # stuck session's late reply as its own: it gets a fresh connection and its own answer.
    smarthost.hang()
    transport = transport_for(smarthost)
    try:
        stuck = asyncio.ensure_future(transport.send(SENDER, RECIPIENT, message(1)))
        await asyncio.sleep(0.3)
        stuck.cancel()
        with pytest.raises(asyncio.CancelledError):
            await stuck
        smarthost.reset()
        smarthost.script("550 5.7.1 refused")
        refused = await transport.send(SENDER, RECIPIENT, message(2))
        after = await transport.send(SENDER, RECIPIENT, message(3))
    finally:
        await transport.close()
    assert refused == SendResult("permanent", "550 5.7.1 refused")
    assert after.status == "sent"
    assert [m.data for m in smarthost.messages] == [message(3)]
    assert smarthost.connections == 2


async def test_lines_starting_with_a_dot_arrive_whole(smarthost: Smarthost) -> None:
    # A line holding only "." ends DATA on the wire: without dot-stuffing the rest would be lost.
    data = message(body="Avant\n.\n..deux points\n.fin\nAprès\n")
    transport = transport_for(smarthost)
    try:
        result = await transport.send(SENDER, RECIPIENT, data)
    finally:
        await transport.close()
    assert result.status == "sent"
    [got] = await smarthost.wait_for_async(1)
    assert got.data == data


def test_uvloop_starttls_and_auth_connection_is_taken_over_too(
        tls_smarthost: Smarthost, tls_files: tuple[Path, Path]) -> None:
    results, taken_over = _two_on_uvloop(lambda: tls_transport(
        tls_smarthost, tls_files[0], starttls=True, username="gw", password="s3cret"))
    assert [r.status for r in results] == ["sent", "sent"]
    assert taken_over == tls_smarthost.pipelining
    assert tls_smarthost.connections == 1
