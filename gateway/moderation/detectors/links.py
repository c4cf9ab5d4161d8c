"""Match links by host or any parent domain, in plain text and in HTML hrefs."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

_URL_TAIL = r"(?:[/?#][^\s<>\"')\]]*)?"


def compile_domains(domains: Iterable[str]) -> re.Pattern[str]:
    """A regex finding any of `domains` (or a subdomain) in folded text, with or without scheme."""
    names = "|".join(re.escape(d.lower().strip(".")) for d in sorted(domains, key=len, reverse=True))
    return re.compile(
        rf"(?<![\w.@-])(?:[a-z][a-z0-9+.-]*://)?(?:[a-z0-9-]+\.)*(?:{names})(?![\w-]|\.[a-z0-9]){_URL_TAIL}")


def compile_hint(domains: Iterable[str]) -> re.Pattern[str] | None:
    """A quick necessary test: any of `domains` in folded text shows its last ".label"
    (None when a domain has no dot). One literal-led search is much cheaper than `in` per domain."""
    labels = {d.lower().strip(".").rpartition(".")[2] for d in domains}
    if any("." not in d.strip(".") for d in domains):
        return None
    return re.compile(rf"\.(?:{'|'.join(re.escape(label) for label in sorted(labels))})")


def host_of(url: str) -> str:
    """The lowercase host of a URL ('' if it has none or cannot be parsed)."""
    candidate = url.strip()
    if "://" not in candidate and not candidate.startswith("//"):
        candidate = "//" + candidate
    try:
        return (urlsplit(candidate).hostname or "").rstrip(".")
    except ValueError:
        return ""


def host_in(host: str, domains: Iterable[str]) -> bool:
    """True when `host` is one of `domains` or a subdomain of one."""
    return any(host == d or host.endswith("." + d) for d in domains)
