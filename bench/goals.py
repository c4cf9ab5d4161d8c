"""Issue 17's goals read as ratios to the peers measured in the same round (bench/peers.py)."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import Protocol


class Measured(Protocol):
    rate: float  # messages per second
    cpu_ms: float  # per message


# Issue 17's goals were set in milliseconds on its machine, where Postfix cost 1.64 ms a message
# saturated and 1.75 at half rate, and the bare sink 0.33 and 0.42. Read as ratios to a peer
# measured in the same round, they can be checked on a faster or slower machine.
GOAL_MS = {"saturated": 3.0, "half": 4.0}
ISSUE_MS = {("postfix", "saturated"): 1.64, ("postfix", "half"): 1.75,
            ("sink", "saturated"): 0.33, ("sink", "half"): 0.42}


def goal_lines(results: Mapping[tuple[str, str], Sequence[Measured]], labels: Mapping[str, str],
               postgres: bool) -> list[str]:
    """Each goal that the run's systems can check, one line each, from the ratios of the same
    rounds. `postgres`: the `gateway` system itself runs on PostgreSQL."""
    return [*_against_peers(results, labels, postgres), *_engines(results, labels)]


def _ratios(results: Mapping[tuple[str, str], Sequence[Measured]], ours: tuple[str, str],
            theirs: tuple[str, str], value: str) -> list[float] | None:
    mine, peer = results.get(ours), results.get(theirs)
    if not mine or not peer:
        return None
    return [getattr(a, value) / getattr(b, value) for a, b in zip(mine, peer, strict=False)]


def _spread(ratios: list[float]) -> str:
    return f"{statistics.median(ratios):5.2f}x [{min(ratios):.2f}-{max(ratios):.2f}]"


def _against_peers(results: Mapping[tuple[str, str], Sequence[Measured]],
                   labels: Mapping[str, str], postgres: bool) -> list[str]:
    """The gateway against each peer: its CPU per message as a multiple of the peer's (beside
    the multiple the goal allows) and, against Postfix, its throughput (each engine's own)."""
    lines = []
    for peer in ("postfix", "sink"):
        for load in ("saturated", "half"):
            cpu = _ratios(results, ("gateway", load), (peer, load), "cpu_ms")
            if cpu is None:
                continue
            allowed = GOAL_MS[load] / ISSUE_MS[(peer, load)]
            line = (f"gateway ÷ {labels[peer]:22} {load:9} CPU per message {_spread(cpu)} "
                    f"(the goal allows {allowed:.2f}x)")
            rate = _ratios(results, ("gateway", load), (peer, load), "rate")
            if peer == "postfix" and load == "saturated" and rate:
                line += f"; throughput {_spread(rate)} (goal >= {0.3 if postgres else 0.35}x)"
            lines.append(line)
    if rate := _ratios(results, ("gateway-pg", "saturated"), ("postfix", "saturated"), "rate"):
        lines.append(f"{labels['gateway-pg']} ÷ {labels['postfix']}: throughput {_spread(rate)} "
                     "(goal >= 0.3x)")
    return lines


def _engines(results: Mapping[tuple[str, str], Sequence[Measured]],
             labels: Mapping[str, str]) -> list[str]:
    """PostgreSQL against SQLite (CPU per message, the database's own included), and two
    instances against one (throughput)."""
    lines = []
    for load in ("saturated", "half"):
        if cpu := _ratios(results, ("gateway-pg", load), ("gateway", load), "cpu_ms"):
            lines.append(f"{labels['gateway-pg']} ÷ {labels['gateway']} {load:9} CPU per message "
                         f"{_spread(cpu)} (the goal allows 1.20x)")
    if rate := _ratios(results, ("gateway-pg2", "saturated"), ("gateway-pg", "saturated"), "rate"):
        lines.append(f"{labels['gateway-pg2']} ÷ one instance: throughput {_spread(rate)} "
                     "(goal >= 1.20x)")
    return lines
