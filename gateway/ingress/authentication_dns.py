"""Sender checks that need DNS: SPF (pyspf), DKIM (dkimpy), DMARC policy (authheaders), all through
one dnspython resolver with a timeout. Blocking: callers run `check_sender` in a worker thread."""

from __future__ import annotations

import contextvars
import functools
import importlib.resources
from dataclasses import dataclass, field
from typing import Any

import dkim
import dns.exception
import dns.resolver
import spf
from authheaders import dmarc_lookup, dmarc_per_from
from publicsuffix2 import PublicSuffixList

MAX_SIGNATURES = 5  # DKIM signatures checked per message: a thousand would be a thousand lookups


@dataclass
class DnsClient:
    """TXT (and SPF's A/MX/PTR) lookups through one resolver; a timeout or a failing server is
    remembered as `temperror`, so that a DNS outage never reads as "no record"."""

    resolver_address: str = ""
    timeout: float = 5.0
    temperror: bool = False
    resolver: dns.resolver.Resolver = field(init=False)

    def __post_init__(self) -> None:
        if self.resolver_address:
            resolver = dns.resolver.Resolver(configure=False)
            host, port = _host_port(self.resolver_address)
            resolver.nameservers = [host]
            resolver.port = port
        else:
            resolver = dns.resolver.Resolver()
        resolver.lifetime = resolver.timeout = self.timeout
        self.resolver = resolver

    def answers(self, name: str, qtype: str) -> list[Any]:
        try:
            return list(self.resolver.resolve(name, qtype, lifetime=self.timeout, search=False))
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except (dns.exception.Timeout, dns.resolver.NoNameservers, OSError):
            self.temperror = True
            return []
        except dns.exception.DNSException:  # a malformed name: nothing to find there
            return []

    def txt_records(self, name: str) -> list[bytes]:
        return [b"".join(rdata.strings) for rdata in self.answers(name, "TXT")]

    def dkim_txt(self, name: bytes | str, timeout: int = 5) -> bytes | None:
        """dkimpy's dnsfunc: the key record of selector._domainkey.domain."""
        text = name.decode("ascii", "replace") if isinstance(name, bytes) else name
        records = self.txt_records(text.rstrip("."))
        return records[0] if records else None

    def dmarc_txt(self, name: str) -> str | None:
        """authheaders' dnsfunc: the one v=DMARC1 record at `name` (two records = none, RFC 7489)."""
        if not name.startswith("_dmarc."):  # the np= existence check: any answer will do
            return "exists" if self.answers(name, "A") or self.answers(name, "MX") else None
        found = [r.decode("utf-8", "replace") for r in self.txt_records(name)
                 if r[:8].lower() == b"v=dmarc1"]
        return found[0] if len(found) == 1 else None


def _host_port(address: str) -> tuple[str, int]:
    if address.count(":") == 1:
        host, port = address.split(":")
        return host, int(port)
    return address.strip("[]"), 53


# pyspf looks names up through its module-level DNSLookup; ours sends them to the DnsClient of
# the check running in this thread (asyncio.to_thread copies the context), never to another's.
_CURRENT: contextvars.ContextVar[DnsClient | None] = contextvars.ContextVar("dns", default=None)
_PYSPF_LOOKUP = spf.DNSLookup


def _spf_lookup(name: str, qtype: str, strict: bool = True, timeout: float = 30) -> list[Any]:
    client = _CURRENT.get()
    if client is None:
        return list(_PYSPF_LOOKUP(name, qtype, strict, timeout))
    before = client.temperror
    client.temperror = False
    found = client.answers(name, qtype)
    timed_out, client.temperror = client.temperror, before or client.temperror
    if timed_out:
        raise spf.TempError(f"DNS lookup of {name} {qtype} failed or timed out")
    out: list[Any] = []
    for rdata in found:
        if qtype in ("A", "AAAA"):
            out.append(((name, qtype), rdata.address))
        elif qtype == "MX":
            out.append(((name, qtype), (rdata.preference, rdata.exchange)))
        elif qtype == "PTR":
            out.append(((name, qtype), rdata.target.to_text(True)))
        elif qtype in ("TXT", "SPF"):
            out.append(((name, qtype), rdata.strings))
    return out


spf.DNSLookup = _spf_lookup


@functools.lru_cache(maxsize=1)
def _public_suffixes() -> PublicSuffixList:
    ref = importlib.resources.files("authheaders") / "public_suffix_list.txt"
    with importlib.resources.as_file(ref) as location, open(location, encoding="utf-8") as lines:
        return PublicSuffixList(lines)


@functools.lru_cache(maxsize=4096)
def get_org_domain(domain: str) -> str:
    """The organizational domain (public suffix + one label), from authheaders' bundled list.

    authheaders re-reads the whole list on every call (70 ms of CPU each, several per message);
    read once here, and its DMARC lookup uses this one too."""
    return str(_public_suffixes().get_public_suffix(domain))


dmarc_lookup.get_org_domain = get_org_domain


@dataclass(frozen=True)
class SenderChecks:
    """What DNS said about one message: raw results, before any policy."""

    spf: str  # pass | fail | softfail | neutral | none | temperror | permerror
    spf_domain: str
    dkim_pass_domains: tuple[str, ...]
    dmarc_policy: str  # reject | quarantine | none | "" (no DMARC record)
    aligned: bool  # an SPF or DKIM pass whose domain is aligned with the From domain
    temperror: bool


def check_sender(raw: bytes, *, from_domain: str, mail_from: str, ip: str | None, helo: str,
                 resolver: str, timeout: float) -> SenderChecks:
    client = DnsClient(resolver, timeout)
    token = _CURRENT.set(client)
    try:
        spf_result, spf_domain = _spf(ip, mail_from, helo, timeout)
        dkim_domains = _dkim_passes(raw, client)
        record = dmarc_per_from(from_domain, dnsfunc=client.dmarc_txt, policy_only=True)
    finally:
        _CURRENT.reset(token)
    policy_record: dict[str, str] = record[4] or {}
    policy = str(record[3] or "") if policy_record else ""
    strict_spf = policy_record.get("aspf", "r") == "s"
    strict_dkim = policy_record.get("adkim", "r") == "s"
    aligned = (spf_result == "pass" and _aligned(spf_domain, from_domain, strict_spf)) or any(
        _aligned(d, from_domain, strict_dkim) for d in dkim_domains)
    return SenderChecks(spf=spf_result, spf_domain=spf_domain, dkim_pass_domains=dkim_domains,
                        dmarc_policy=policy, aligned=aligned,
                        temperror=client.temperror or spf_result == "temperror")


def _spf(ip: str | None, mail_from: str, helo: str, timeout: float) -> tuple[str, str]:
    domain = (mail_from.rpartition("@")[2] or helo).lower()
    if ip is None or not domain:
        return "none", domain
    try:
        result, _why = spf.check2(ip, mail_from or f"postmaster@{helo}", helo or domain,
                                  querytime=timeout * 2)
    except Exception:  # a library surprise is not a pass
        return "permerror", domain
    return str(result).lower(), domain


def _dkim_passes(raw: bytes, client: DnsClient) -> tuple[str, ...]:
    try:
        checker = dkim.DKIM(raw)
    except Exception:  # not parseable as a message: no signature to trust
        return ()
    count = sum(1 for name, _ in checker.headers if name.lower() == b"dkim-signature")
    passed = []
    for index in range(min(count, MAX_SIGNATURES)):
        try:
            ok = checker.verify(idx=index, dnsfunc=client.dkim_txt)
        except Exception:  # a broken signature, a bad key record: not a pass
            ok = False
        fields = getattr(checker, "signature_fields", {}) or {}
        domain = fields.get(b"d", b"").decode("ascii", "replace").lower()
        if ok and domain:
            passed.append(domain)
    return tuple(passed)


def _aligned(domain: str, from_domain: str, strict: bool) -> bool:
    domain, from_domain = domain.lower().rstrip("."), from_domain.lower().rstrip(".")
    if not domain:
        return False
    if strict:
        return domain == from_domain
    return get_org_domain(domain) == get_org_domain(from_domain)
