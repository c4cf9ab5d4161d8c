"""The fast reading of MAIL FROM / RCPT TO paths gives what aiosmtpd's own parser gives."""

from __future__ import annotations

import itertools
import random
from types import SimpleNamespace

from aiosmtpd.smtp import SMTP

from gateway.ingress.smtp import plain_path

LOCALS = ["a", "user", "First.Last", "x+tag", "a=b", "under_score", "dash-ed", "9", "a.b.c",
          ".lead", "trail.", "dou..ble", "quo\"te", "sp ace", "é", "(c)x", "a!b", "a#b", ""]
DOMAINS = ["example.org", "EXAMPLE.ORG", "a-b.example", "-lead.example", "x", "mentor.test",
           "dou..ble.org", "[127.0.0.1]", "exa mple.org", "ex(c)ample.org", "é.example", ""]
TAILS = ["", " SIZE=5120", "  SIZE=1 BODY=8BITMIME", "\tSIZE=1", " ", "\t", " (comment)",
         "x", " (c) SIZE=1", "> extra", " SMTPUTF8"]
HEADS = ["<", " <", "", "<<", "\t<"]


def _aiosmtpd(arg: str) -> tuple[str | None, str | None]:
    return SMTP._getaddr(SimpleNamespace(local_part_limit=0), arg)  # type: ignore[arg-type]


def _cases() -> list[str]:
    cases = [f"{head}{local}@{domain}>{tail}" for head, local, domain, tail
             in itertools.product(HEADS, LOCALS, DOMAINS, TAILS)]
    pick = random.Random(17)
    alphabet = "aZ09._+=-@<>() \t\"[]é!#"
    cases += ["<" + "".join(pick.choice(alphabet) for _ in range(pick.randrange(1, 20)))
              for _ in range(20000)]
    return cases


def test_plain_paths_read_as_aiosmtpd_reads_them() -> None:
    fast = 0
    for arg in _cases():
        found = plain_path(arg)
        if found is not None:
            fast += 1
            assert found == _aiosmtpd(arg), arg
    assert fast > 200  # the fast path is taken for the ordinary cases


def test_ordinary_paths_take_the_fast_path() -> None:
    assert plain_path("<sender@example.org>") == ("sender@example.org", "")
    assert plain_path("<Sender.Name+x@Mail.Example.org> SIZE=5120 BODY=8BITMIME") == (
        "Sender.Name+x@Mail.Example.org", "SIZE=5120 BODY=8BITMIME")
    assert plain_path('<"quoted"@example.org>') is None
    assert plain_path("<>") is None
