"""How much CPU the rules spend on texts built to be slow, against ordinary prose of the same size.

    .venv/bin/python bench/hostile_texts.py [--chars 100000] [--budget]

Messages are checked one after another, so one slow message delays everyone's mail: each
hostile text (a short token repeated) goes through the facts and the shipped rules at `--chars`
and twice that, and the bench prints CPU µs per character, the growth from one size to the
next (2.0 is linear) and the ratio to ordinary mentoring prose measured in the same run.
By default the reading budget (`[moderation] max_checked_chars`) is lifted, to measure the
rules themselves; `--budget` keeps it, as the relay does (past it the text is held unread).
"""

from __future__ import annotations

import argparse
import sys
import time
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gateway.mail.canonical import MAX_CHECKED_CHARS  # noqa: E402
from gateway.moderation.chain import evaluate  # noqa: E402
from gateway.moderation.facts import facts_from_message  # noqa: E402
from gateway.moderation.rules import RuleSet, load_rules  # noqa: E402

PROSE = ("Bonjour Léa, merci pour ta question sur le métier d'infirmière. J'ai commencé au "
         "cégep, puis j'ai fait un stage à l'hôpital. Hi Sam, the science fair is on Tuesday. ")
TOKENS = ("x y ", "1 2 ", "0\n", "at. ", "@chez> ", "(5", "a.b ", "snap ", "insta ", "#1 ",
          "é ", "<a href=x>y</a>", "@a ", "rue ", "www.", "dot com ")


def _raw(token: str, chars: int) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@example.org", "b@example.org", "hi"
    message.set_content((token * (chars // len(token) + 1))[:chars])
    return message.as_bytes()


def cost(rules: RuleSet, token: str, chars: int, budget: int | None) -> float:
    """CPU µs per character to read `chars` of `token` repeated and run the rules on it."""
    raw = _raw(token, chars)
    started = time.thread_time()
    evaluate(rules, facts_from_message(raw, direction="mentor_to_mentee", max_chars=budget))
    return (time.thread_time() - started) / chars * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chars", type=int, default=100_000)
    parser.add_argument("--budget", action="store_true",
                        help=f"keep the reading budget ({MAX_CHECKED_CHARS:,} characters)")
    args = parser.parse_args()
    rules = load_rules(ROOT / "relay_rules")
    budget = MAX_CHECKED_CHARS if args.budget else None
    small, large = args.chars, 2 * args.chars
    prose = cost(rules, PROSE, large, budget)
    print(f"{large:,} characters of prose: {prose:.2f} µs a character "
          f"(budget: {'kept' if budget else 'lifted'})")
    print(f"{'token':<18} {'µs/char':>9} {'at 2x':>9} {'growth':>7} {'x prose':>8} "
          f"{'1 MB would take':>16}")
    worst = 0.0
    for token in TOKENS:
        first, second = cost(rules, token, small, budget), cost(rules, token, large, budget)
        worst = max(worst, second)
        print(f"{token!r:<18} {first:9.2f} {second:9.2f} {second * 2 / first:7.2f} "
              f"{second / prose:8.1f} {second * 1_048_576 / 1e6:15.1f}s")
    print(f"worst: {worst:.2f} µs a character, {worst / prose:.1f}x prose")


if __name__ == "__main__":
    main()
