"""Benchmark `match suggest` on a generated Academos-sized program, against a greedy baseline.

2,000 mentors (capacity 1-15, some already partly paired), 23,000 unpaired mentees, 300 schools
(a tenth accept only the mentors they approved), interests drawn from the shipped taxonomy with a
Zipf-like skew, a few previous partners. Each run happens in a fresh subprocess so its peak
memory (ru_maxrss) is its own. Prints wall and CPU time of the global assignment (candidate
edges + solver), peak memory, and the total fit against greedy on the same candidates.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time

from gateway.matching.assign import greedy, objective, solve, suggest
from gateway.matching.candidates import build
from gateway.matching.model import Mentee, Mentor, Rules
from gateway.matching.scoring import field_weights
from gateway.matching.taxonomy import load_taxonomy


def program(seed: int, mentors: int, mentees: int, schools: int
            ) -> tuple[list[Mentee], list[Mentor], Rules]:
    rng = random.Random(seed)
    fields = sorted(load_taxonomy().fields)
    rng.shuffle(fields)
    # Interests are skewed: a few fields (health, software, video games...) are very popular.
    popularity = [1.0 / (rank + 1) ** 0.9 for rank in range(len(fields))]

    def interests(low: int, high: int) -> frozenset[str]:
        wanted = rng.randint(low, high)
        picked: set[str] = set()
        while len(picked) < wanted:
            picked.add(rng.choices(fields, popularity)[0])
        return frozenset(picked)

    def mentor_languages() -> frozenset[str]:
        roll = rng.random()
        return frozenset({"fr"} if roll < 0.7 else {"en"} if roll < 0.85 else {"fr", "en"})

    mentor_list = []
    for i in range(mentors):
        capacity = rng.randint(1, 15)
        load = rng.randint(0, capacity // 2) if rng.random() < 0.3 else 0
        mentor_list.append(Mentor(i + 1, mentor_languages(), interests(1, 3), capacity, load))
    orgs = [f"school-{n:03d}" for n in range(schools)]
    mentee_list = [Mentee(100_000 + i, "fr" if rng.random() < 0.8 else "en",
                          interests(0, 3) if rng.random() > 0.03 else frozenset(),
                          rng.choice(orgs)) for i in range(mentees)]
    ids = [m.id for m in mentor_list]
    approved = {org: frozenset(rng.sample(ids, 300)) for org in orgs[: schools // 10]}
    excluded = frozenset((m.id, rng.choice(ids)) for m in mentee_list if rng.random() < 0.05)
    return mentee_list, mentor_list, Rules(approved, excluded)


def run_once(seed: int, mentors: int, mentees: int, schools: int,
             exact: bool = False) -> dict[str, float]:
    mentee_list, mentor_list, rules = program(seed, mentors, mentees, schools)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    wall, cpu = time.perf_counter(), time.process_time()
    result = suggest(mentee_list, mentor_list, rules)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # The baseline in the same run: greedy on EVERY allowed edge (not only our candidates).
    live = sorted((m for m in mentor_list if m.room > 0), key=lambda m: m.id)
    ordered = sorted(mentee_list, key=lambda m: m.id)
    weights = field_weights(live, ordered)
    index = {m.id: i for i, m in enumerate(ordered)}
    mentor_index = {m.id: i for i, m in enumerate(live)}
    ours = {index[s.mentee]: mentor_index[s.mentor] for s in result.suggestions}
    every = build(ordered, live, rules, weights, per_mentee=len(live), per_mentor=0)
    base = greedy(every, live)
    fit, net = objective(ours, ordered, live, weights)
    base_fit, base_net = objective(base, ordered, live, weights)
    shared = sum(1 for s in result.suggestions if s.reasons)
    loads = [sum(1 for s in result.suggestions if s.mentor == m.id) / m.room for m in live]
    return {
        "wall_s": wall, "cpu_s": cpu, "peak_mb": peak / 1024, "before_mb": before / 1024,
        "edges": result.candidate_edges, "all_edges": len(every), "slots": sum(m.room for m in live),
        "matched": len(result.suggestions), "greedy_matched": len(base),
        "net": net, "greedy_net": base_net, "fit": fit, "greedy_fit": base_fit,
        "shared_share": shared / len(mentee_list),
        "shared_of_matched": shared / max(1, len(result.suggestions)),
        "min_fill": min(loads), "mean_fill": sum(loads) / len(loads),
        "exact_net": objective(solve(every, live, len(ordered)), ordered, live, weights)[1]
        if exact else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mentors", type=int, default=2_000)
    parser.add_argument("--mentees", type=int, default=23_000)
    parser.add_argument("--schools", type=int, default=300)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--exact", action="store_true",
                        help="also solve on every allowed edge (slow, ~1.5 GB): the true optimum")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_once(args.seed, args.mentors, args.mentees, args.schools,
                                  args.exact)))
        return
    print(f"matching: {args.mentors} mentors, {args.mentees} mentees, {args.schools} schools")
    for round_ in range(args.rounds):
        out = subprocess.run([sys.executable, __file__, "--child", "--seed", str(args.seed + round_),
                              "--mentors", str(args.mentors), "--mentees", str(args.mentees),
                              "--schools", str(args.schools)] + (["--exact"] if args.exact else []),
                             check=True, capture_output=True, text=True).stdout
        r = json.loads(out)
        print(f"seed {args.seed + round_}: suggest {r['wall_s']:.2f} s wall, {r['cpu_s']:.2f} s CPU; "
              f"peak RSS {r['peak_mb']:.0f} MB (program built: {r['before_mb']:.0f} MB); "
              f"{r['edges']:,} candidate edges (of {r['all_edges']:,} allowed), "
              f"{r['slots']:,} free places")
        print(f"  matched {r['matched']:,} (greedy {r['greedy_matched']:,}); total fit "
              f"{r['fit']:,.0f} vs greedy {r['greedy_fit']:,.0f} = {r['fit'] / r['greedy_fit']:.4f}; "
              f"fit net of load {r['net'] / r['greedy_net']:.4f}; sharing a field: "
              f"{r['shared_share']:.1%} of mentees, {r['shared_of_matched']:.1%} of those matched; "
              f"places filled per mentor min {r['min_fill']:.0%} mean {r['mean_fill']:.0%}")
        if args.exact:
            print(f"  fit net of load: {r['net'] / r['exact_net']:.4f} of the optimum on every "
                  f"allowed edge ({r['exact_net']:,.0f})")


if __name__ == "__main__":
    main()
