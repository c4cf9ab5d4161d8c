"""Benchmark the moderation rules: facts extraction + evaluate, against a bare parse baseline."""

from __future__ import annotations

import argparse
import email
import sys
import time
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from loadgen import message  # noqa: E402

from gateway.mail.privacy import Person, Privacy  # noqa: E402
from gateway.moderation.chain import evaluate  # noqa: E402
from gateway.moderation.facts import facts_from_message  # noqa: E402
from gateway.moderation.rules import RuleSet, load_rules  # noqa: E402

CORPORA = (ROOT / "tests" / "data", Path("/work/shared/corpus/mikel-mail"))
PARAGRAPHS = (
    "Bonjour Léa! J'ai bien reçu ton exposé sur les volcans, il est vraiment réussi. "
    "Pour la semaine prochaine, essaie de relire la partie sur le magma le 2025-11-03 à 14 h 30. "
    "Le livre coûte 19,99 $ à la librairie de l'école (H2X 1Y4), édition 2024-2025.\n",
    "Hi Sam, great job on the science fair poster! Next time, add a title and your sources. "
    "The kit costs $1,299.00 at the store, which is a lot; version 3.11.7 of the app works. "
    "We can talk again on Tuesday at 10:30 about your plans for the school year.\n",
)


def synthetic(size: int) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"] = "mentor-7k2p@relay.example.org", "mentee-q9x4@relay.example.org"
    msg["Subject"] = "Suivi / follow-up"
    body = ""
    while len(body) < size:
        body += PARAGRAPHS[len(body) % 2]
    msg.set_content(body[:size])
    return bytes(msg)


def corpus() -> dict[str, list[bytes]]:
    sets: dict[str, list[bytes]] = {}
    for folder in CORPORA:
        files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in (".eml", ".txt")) \
            if folder.is_dir() else []
        if files:
            sets[folder.name] = [p.read_bytes() for p in files]
    sets["synthetic 5 KB"] = [synthetic(5_000)] * 50
    # what the relay benchmark sends: ordinary FR/EN mentoring sentences, each message its own
    sets["loadgen 5 KB"] = [message(n, "mentee@example.org", "mentor-x@mentor.test", 5120)
                            for n in range(100)]
    sets["synthetic 50 KB"] = [synthetic(50_000)] * 50
    return sets


# "wall" is what a sender waits for; "cpu" (this thread's CPU time) leaves out the time the
# process waits for a core, which dominates the tail when other work loads the machine.
CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.thread_time}


def timings(messages: list[bytes], work: Callable[[bytes], object], rounds: int,
            clock: Callable[[], float] = time.perf_counter) -> list[float]:
    samples = []
    for _ in range(rounds):
        for raw in messages:
            started = clock()
            work(raw)
            samples.append((clock() - started) * 1000)
    return samples


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


# The participants as the relay sees them: the rules read the message with their real addresses,
# personal domain and names replaced as the rewrite will (the canonical reading, scrubbed).
PRIVACY = Privacy([Person("marie.tremblay@famille-tremblay.ca", "mentor-7k2p@relay.example.org",
                          "Marie-Ève Tremblay", "Marie-Ève"),
                   Person("lea.g@eleves.example.net", "mentee-q9x4@relay.example.org",
                          "Léa Gagnon", "Léa")], ["famille-tremblay.ca"])


def moderate(rules: RuleSet) -> Callable[[bytes], object]:
    def run(raw: bytes) -> object:
        facts = facts_from_message(raw, direction="mentor_to_mentee", recipient_is_minor=True,
                                   pair_aliases=("mentor-7k2p@relay.example.org",
                                                 "mentee-q9x4@relay.example.org"),
                                   privacy=PRIVACY)
        return evaluate(rules, facts)
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall")
    args = parser.parse_args()
    clock = CLOCKS[args.clock]
    rules = load_rules(ROOT / "relay_rules")
    print(f"{len(rules.rules)} rules; times in ms per message ({args.clock} clock); "
          f"{args.rounds} rounds")
    print(f"{'corpus':<18}{'n':>5}{'rules p50':>11}{'rules p99':>11}"
          f"{'parse p50':>11}{'parse p99':>11}{'ratio p50':>11}")
    for name, messages in corpus().items():
        timings(messages, moderate(rules), 1)  # warm-up: caches, imports
        ours = timings(messages, moderate(rules), args.rounds, clock)
        base = timings(messages, email.message_from_bytes, args.rounds, clock)
        p50, p99 = percentile(ours, 0.5), percentile(ours, 0.99)
        b50, b99 = percentile(base, 0.5), percentile(base, 0.99)
        print(f"{name:<18}{len(messages):>5}{p50:>11.3f}{p99:>11.3f}{b50:>11.3f}{b99:>11.3f}"
              f"{p50 / max(b50, 1e-9):>10.1f}x")


if __name__ == "__main__":
    main()
