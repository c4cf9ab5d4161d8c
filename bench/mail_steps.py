"""CPU per message of each e-mail step on the relay's hot path, measured in process (thread_time).

    .venv/bin/python bench/mail_steps.py [--count 300] [--size 5120] [--eml tests/data]

Each step runs over loadgen-style messages (the relay benchmark's load) and, with --eml, over
the .eml files of a folder. The figures are CPU milliseconds per message, best of --repeat runs:
the machine is shared, so compare A/B in the same minutes.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from loadgen import message  # noqa: E402

from gateway.config import Settings  # noqa: E402
from gateway.ingress.accept import read_headers  # noqa: E402
from gateway.mail.autoreply import is_auto_reply  # noqa: E402
from gateway.mail.canonical import read  # noqa: E402
from gateway.mail.footer import append_footer  # noqa: E402
from gateway.mail.parse import parse  # noqa: E402
from gateway.mail.rewrite import Party, RewriteContext, anonymize_report  # noqa: E402
from gateway.mail.text import body_of  # noqa: E402
from gateway.reminders import unsubscribe  # noqa: E402
from gateway.safeguarding.keyword import is_report  # noqa: E402

SENDER = Party("sender@example.org", "Alex", "alex.k3j2@mentor.test", real_name="Alex Tremblay")
RECIPIENT = Party("sink@example.org", "Sam", "sam.q8w1@mentor.test", real_name="Sam Gagnon")


def context() -> RewriteContext:
    """As relay.forward._render builds it with the default settings."""
    settings = Settings()
    word = getattr(unsubscribe, "OWN_LINKS_WORD", "")  # older trees lack it: A/B against them
    return RewriteContext(
        sender=SENDER, recipient=RECIPIENT, program_name="Mentorat",
        new_message_id="<gw-1@mentor.test>", in_reply_to=("<a@mentor.test>",),
        references=("<a@mentor.test>",), fallback_date="Mon, 30 Nov 2026 15:00:00 +0000",
        private_text=(unsubscribe.own_unsubscribe_links(settings),),
        private_domains=(), **({"private_text_word": word} if word else {}))


def steps() -> dict[str, Callable[[bytes], object]]:
    ctx = context()
    return {
        "read_headers": read_headers,
        "parse": parse,
        "canonical.read": lambda raw: read(parse(raw)),
        "body_of": lambda raw: body_of(parse(raw)),
        "auto_reply+report": lambda raw: (is_auto_reply(p := parse(raw)), is_report(p)),
        "anonymize_report": lambda raw: anonymize_report(raw, ctx),
        "append_footer": lambda raw: append_footer(raw, "\nfooter text\n", "<p>footer</p>"),
    }


def cpu_ms(step: Callable[[bytes], object], runs: list[list[bytes]]) -> float:
    """Best of the runs; each run has its own messages (no cache is warm from the previous run
    with the very same header values, as it would never be for a relayed message)."""
    best = float("inf")
    for messages in runs:
        started = time.thread_time()
        for raw in messages:
            step(raw)
        best = min(best, (time.thread_time() - started) / len(messages))
    return best * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--size", type=int, default=5120)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--eml", type=Path, default=None, help="a folder of .eml files")
    parser.add_argument("--only", default="", help="comma-separated step names")
    args = parser.parse_args()
    loads = {"loadgen": [[message(run * args.count + n, SENDER.address, RECIPIENT.alias,
                                  args.size) for n in range(args.count)]
                         for run in range(args.repeat)]}
    if args.eml:
        files = [p.read_bytes() for p in sorted(args.eml.glob("*.eml"))]
        loads["eml"] = [files] * args.repeat
    wanted = {name for name in args.only.split(",") if name}
    for name, step in steps().items():
        if wanted and name not in wanted:
            continue
        figures = "  ".join(f"{load} {cpu_ms(step, runs):7.3f} ms" for load, runs in loads.items())
        print(f"{name:20} {figures}")


if __name__ == "__main__":
    main()
