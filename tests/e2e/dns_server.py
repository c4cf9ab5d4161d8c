"""A small authoritative DNS server on 127.0.0.1 (dnslib, UDP and TCP on one free port) for the
sender-authentication tests: TXT records for SPF, DKIM keys and DMARC; names that never answer."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from dnslib import QTYPE, RR, TXT, A
from dnslib.server import BaseResolver, DNSHandler, DNSServer

DATA = Path(__file__).resolve().parent.parent / "data" / "dkim"
DKIM_KEY = (DATA / "test-sender.pem").read_bytes()
DKIM_PUBLIC = (DATA / "test-sender.pub.b64").read_text().strip()


@dataclass
class Zone(BaseResolver):
    """TXT and A records by name; names in `silent` get no answer at all (a DNS timeout)."""

    txt: dict[str, list[str]] = field(default_factory=dict)
    a: dict[str, str] = field(default_factory=dict)
    silent: set[str] = field(default_factory=set)
    release: threading.Event = field(default_factory=threading.Event)

    def resolve(self, request, handler):  # type: ignore[no-untyped-def]
        name = str(request.q.qname).rstrip(".").lower()
        if name in self.silent:
            self.release.wait(10)  # longer than any test's timeout; freed at shutdown
            return None
        reply = request.reply()
        qtype = QTYPE[request.q.qtype]
        if qtype == "TXT":
            for text in self.txt.get(name, []):
                chunks = [text[i:i + 255] for i in range(0, len(text), 255)]
                reply.add_answer(RR(request.q.qname, QTYPE.TXT, rdata=TXT(chunks), ttl=60))
        elif qtype == "A" and name in self.a:
            reply.add_answer(RR(request.q.qname, QTYPE.A, rdata=A(self.a[name]), ttl=60))
        return reply

    def dkim_key(self, selector: str, domain: str) -> None:
        self.txt[f"{selector}._domainkey.{domain}"] = [f"v=DKIM1; k=rsa; p={DKIM_PUBLIC}"]


class _QuietHandler(DNSHandler):
    def handle(self) -> None:  # a None reply (silent name) must not crash the thread noisily
        with contextlib.suppress(Exception):
            super().handle()


class _NoLog:
    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return lambda *args, **kwargs: None


@dataclass
class LocalDns:
    zone: Zone
    port: int

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


def _free_udp_and_tcp_port() -> int:
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = int(udp.getsockname()[1])
            with socket.socket() as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
        return port
    raise RuntimeError("no free port for the test DNS server")


@pytest.fixture
def local_dns() -> Iterator[LocalDns]:
    zone = Zone()
    port = _free_udp_and_tcp_port()
    servers = [DNSServer(zone, address="127.0.0.1", port=port, tcp=tcp, logger=_NoLog(),
                         handler=_QuietHandler) for tcp in (False, True)]
    for server in servers:
        server.start_thread()
    try:
        yield LocalDns(zone, port)
    finally:
        zone.release.set()
        for server in servers:
            server.stop()
