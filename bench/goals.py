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
    """The gateway against each peer of the same rounds: its CPU per message as a multiple of
    the peer's (beside the multiple the goal allows) and, against Postfix, its throughput."""
    lines = []
    for peer in ("postfix", "sink"):
        for load in ("saturated", "half"):
            ours, theirs = results.get(("gateway", load)), results.get((peer, load))
            if not ours or not theirs:
                continue
            cpu = [g.cpu_ms / p.cpu_ms for g, p in zip(ours, theirs, strict=False)]
            allowed = GOAL_MS[load] / ISSUE_MS[(peer, load)]
            line = (f"gateway ÷ {labels[peer]:22} {load:9} CPU per message "
                    f"{statistics.median(cpu):5.2f}x [{min(cpu):.2f}-{max(cpu):.2f}] "
                    f"(the goal allows {allowed:.2f}x)")
            if peer == "postfix" and load == "saturated":
                rate = [g.rate / p.rate for g, p in zip(ours, theirs, strict=False)]
                line += (f"; throughput {statistics.median(rate):.2f}x [{min(rate):.2f}-"
                         f"{max(rate):.2f}] (goal >= {0.3 if postgres else 0.35}x)")
            lines.append(line)
    return lines
