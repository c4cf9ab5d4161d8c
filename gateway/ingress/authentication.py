"""Who is really writing: strip untrusted Authentication-Results, read the front MTA's, and turn
SPF/DKIM/DMARC results into accept, hold, refuse or try-later (the checks run off the event loop)."""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from typing import Literal

from gateway.config import AuthenticationSettings
from gateway.ingress.authentication_dns import SenderChecks, _aligned, check_sender

DMARC_REJECT = ("550 5.7.26 This message claims to come from {domain}, whose owner (DMARC policy)"
                " asks to refuse mail that does not pass its checks; your message was not delivered")
UNAUTHENTICATED = ("550 5.7.26 Your message could not be verified as coming from your mail provider"
                   " (no aligned SPF or DKIM pass); your message was not delivered")
DNS_TEMPFAIL = ("451 4.4.3 Could not check your domain's DNS records (SPF/DKIM/DMARC) right now;"
                " please try again later")

Action = Literal["accept", "hold", "refuse", "tempfail"]


@dataclass(frozen=True)
class AuthDecision:
    action: Action
    reply: str = ""
    summary: str = ""  # for the log and the moderator: what the checks said

    def hold_hit(self) -> dict[str, object]:
        """The reason a moderator sees (same shape as a rule hit)."""
        return {"rule": "unauthenticated", "action": "hold", "field": "sender",
                "evidence": self.summary[:200], "start": 0, "end": 0,
                "reason_fr": "L'expéditeur n'a pas pu être authentifié (SPF/DKIM/DMARC) : "
                             "quelqu'un d'autre a pu utiliser son adresse.",
                "reason_en": "The sender could not be authenticated (SPF/DKIM/DMARC): someone "
                             "else may have used their address."}


NOT_CHECKED = SenderChecks(spf="none", spf_domain="", dkim_pass_domains=(), dmarc_policy="",
                           aligned=False, temperror=False)


def decide(checks: SenderChecks, settings: AuthenticationSettings, *, from_domain: str,
           to_minor: bool) -> AuthDecision:
    """Pure policy: what to do with a message given what SPF, DKIM and DMARC said."""
    summary = (f"spf={checks.spf} dkim={','.join(checks.dkim_pass_domains) or 'none'} "
               f"dmarc_policy={checks.dmarc_policy or 'none'} aligned={checks.aligned}")
    if checks.aligned:
        return AuthDecision("accept", summary=summary)
    if checks.temperror:  # what we could not read might have passed: never decide on it
        if settings.temperror == "hold":
            return AuthDecision("hold", summary=summary + " (DNS temperror)")
        return AuthDecision("tempfail", DNS_TEMPFAIL, summary + " (DNS temperror)")
    if checks.dmarc_policy in ("reject", "quarantine"):
        return AuthDecision("refuse", DMARC_REJECT.format(domain=from_domain), summary)
    mode = settings.unauthenticated_to_minor if to_minor else settings.unauthenticated
    if mode == "refuse":
        return AuthDecision("refuse", UNAUTHENTICATED, summary)
    return AuthDecision(mode, summary=summary)


async def authenticate(raw: bytes, settings: AuthenticationSettings, *, from_domain: str,
                       mail_from: str, ip: str | None, helo: str, to_minor: bool,
                       trusted: str | None) -> AuthDecision:
    """Check the sender as configured; DNS runs in a worker thread under an overall deadline."""
    if settings.mode == "off":
        return AuthDecision("accept", summary="not checked")
    if settings.mode == "trust":
        checks = read_trusted_results(trusted, from_domain) if trusted else NOT_CHECKED
    else:
        try:
            checks = await asyncio.wait_for(asyncio.to_thread(
                check_sender, raw, from_domain=from_domain, mail_from=mail_from, ip=ip, helo=helo,
                resolver=settings.resolver, timeout=settings.dns_timeout),
                timeout=settings.dns_timeout * 4)
        except TimeoutError:
            checks = SenderChecks(spf="temperror", spf_domain="", dkim_pass_domains=(),
                                  dmarc_policy="", aligned=False, temperror=True)
    return decide(checks, settings, from_domain=from_domain, to_minor=to_minor)


def hold_hits_json(decision: AuthDecision) -> str:
    return json.dumps([decision.hold_hit()], ensure_ascii=False)


# -- Authentication-Results headers --------------------------------------------------------------

_AR_NAME = re.compile(rb"^authentication-results[ \t]*:", re.IGNORECASE)
_AR_ANYWHERE = re.compile(rb"(?:^|\n)authentication-results[ \t]*:", re.IGNORECASE)
_RECEIVED = re.compile(rb"^received[ \t]*:", re.IGNORECASE)


def strip_authentication_results(raw: bytes, trusted_id: str) -> tuple[bytes, str | None]:
    """Remove every Authentication-Results header but the front MTA's own, which is returned.

    The front MTA's header is the topmost one carrying its authserv-id with at most one Received
    header above it (its own hop to us): one further down was written before it saw the message,
    i.e. by the sender, whatever id it claims. Linear in the header size."""
    end = raw.find(b"\r\n\r\n")
    if not _AR_ANYWHERE.search(raw[:end + 2] if end >= 0 else raw):
        return raw, None  # nothing to remove: no copy of a large message
    head, rest = (raw, b"") if end < 0 else (raw[:end + 2], raw[end + 2:])
    fields: list[list[bytes]] = []
    for line in head.split(b"\r\n")[:-1] if head.endswith(b"\r\n") else head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1].append(line)
        else:
            fields.append([line])
    kept: list[bytes] = []
    trusted_value: str | None = None
    received_above = 0
    for lines in fields:
        first = lines[0]
        if _RECEIVED.match(first):
            received_above += 1
        elif _AR_NAME.match(first):
            value = b" ".join(part.strip() for part in [first.split(b":", 1)[1], *lines[1:]])
            text = value.decode("utf-8", "replace")
            if (trusted_id and trusted_value is None and received_above <= 1
                    and _authserv_id(text) == trusted_id.lower()):
                trusted_value = text
                kept.extend(lines)
            continue
        kept.extend(lines)
    new_head = b"".join(line + b"\r\n" for line in kept)
    return new_head + rest, trusted_value


def _authserv_id(value: str) -> str:
    return re.split(r"[;\s]", value.strip(), maxsplit=1)[0].lower()


_RESULT = re.compile(r"\b(spf|dkim|dmarc)\s*=\s*([a-z]+)", re.IGNORECASE)


def read_trusted_results(value: str, from_domain: str) -> SenderChecks:
    """What the front MTA's Authentication-Results says (OpenDMARC, rspamd, Postfix policyd-spf)."""
    spf, spf_domain, dmarc, policy = "none", "", "none", ""
    dkim_domains: list[str] = []
    temperror = False
    for part in value.split(";")[1:]:
        found = _RESULT.search(part)
        if not found:
            continue
        method, result = found.group(1).lower(), found.group(2).lower()
        temperror = temperror or result == "temperror"
        if method == "spf":
            spf = result
            domain = re.search(r"smtp\.mailfrom\s*=\s*\"?[^\s;\"]*?@?([A-Za-z0-9.-]+)\"?", part)
            spf_domain = domain.group(1).lower() if domain else ""
        elif method == "dkim" and result == "pass":
            domain = re.search(r"header\.(?:d|i)\s*=\s*@?(?:[^\s@;]*@)?([A-Za-z0-9.-]+)", part)
            if domain:
                dkim_domains.append(domain.group(1).lower())
        elif method == "dmarc":
            dmarc = result
            found_policy = re.search(r"\b(?:p|policy\.dmarc|policy)\s*=\s*(reject|quarantine|none)",
                                     part, re.IGNORECASE)
            policy = found_policy.group(1).lower() if found_policy else ""
    if dmarc == "pass":
        aligned = True
    elif dmarc == "fail":
        aligned = False
    else:
        aligned = (spf == "pass" and _aligned(spf_domain, from_domain, False)) or any(
            _aligned(d, from_domain, False) for d in dkim_domains)
    if dmarc == "fail" and not policy:
        policy = "none"  # a failure whose policy the MTA did not say: unauthenticated, not refused
    return SenderChecks(spf=spf, spf_domain=spf_domain, dkim_pass_domains=tuple(dkim_domains),
                        dmarc_policy=policy if dmarc == "fail" else "", aligned=aligned,
                        temperror=temperror and not aligned)
