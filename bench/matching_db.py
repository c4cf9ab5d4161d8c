"""Benchmark `match suggest` end to end on a database: read the program, assign, store suggestions.

Loads the same generated program as bench/matching.py into SQLite (or --db URL) with bulk
inserts: participants with their interests as words (mapped through the taxonomy at suggest
time, like imported spreadsheets), organizations, approvals, earlier pairs. Then times one
`gateway.matching.service.suggest` in a fresh process (peak RSS included). Needs the enrolment
profile (participant capacity and interests, migration 0007).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parent))

from matching import program  # noqa: E402

from gateway.config import Settings  # noqa: E402
from gateway.matching import service  # noqa: E402
from gateway.matching.taxonomy import load_taxonomy  # noqa: E402
from gateway.store import models  # noqa: E402
from gateway.store.db import Database  # noqa: E402
from gateway.store.migrate import migrate  # noqa: E402

NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


def load(db: Database, seed: int) -> None:
    interest_table = getattr(models, "ParticipantInterest", None)
    if interest_table is None or not hasattr(models.Participant, "capacity"):
        sys.exit("this benchmark needs the enrolment profile (participant capacity, interests)")
    mentees, mentors, rules = program(seed, 2_000, 23_000, 300)
    taxonomy = load_taxonomy()
    schools = sorted({m.org for m in mentees if m.org})
    org_id = {name: i + 1 for i, name in enumerate(schools)}
    people, interests, approvals = [], [], []
    for m in mentors:
        people.append({"id": m.id, "email": f"mentor{m.id}@example.org", "display_name": f"M {m.id}",
                       "role": "mentor", "lang": sorted(m.languages)[0], "minor": False,
                       "reminders_opt_out": False, "created_at": NOW, "capacity": m.capacity})
        interests += [{"participant_id": m.id, "interest": taxonomy.fields[f].fr.lower()}
                      for f in sorted(m.fields)]
    for e in mentees:
        people.append({"id": e.id, "email": f"jeune{e.id}@example.net", "display_name": f"J {e.id}",
                       "role": "mentee", "lang": e.language, "minor": False,
                       "reminders_opt_out": False, "created_at": NOW, "capacity": 1,
                       "org_id": org_id[e.org] if e.org else None})
        interests += [{"participant_id": e.id, "interest": taxonomy.fields[f].en.lower()}
                      for f in sorted(e.fields)]
    for org, ids in rules.approved.items():
        approvals += [{"org_id": org_id[org], "mentor_id": i, "created_at": NOW} for i in ids]
    with db.engine.begin() as conn:
        conn.execute(insert(models.Organization), [{"id": i, "name": n, "created_at": NOW}
                                                   for n, i in org_id.items()])
        conn.execute(insert(models.Participant), people)
        conn.execute(insert(interest_table), interests)
        conn.execute(insert(models.MatchApproval), approvals)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", default=None,
                        help="an EMPTY scratch database URL (default: a temporary SQLite file)")
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()
    folder = tempfile.mkdtemp()
    url = args.db or f"sqlite:///{folder}/bench.db"
    db = Database(url)
    migrate(db.engine)
    started = time.perf_counter()
    load(db, args.seed)
    print(f"loaded in {time.perf_counter() - started:.1f} s")
    settings = Settings().replace(database={"url": url})
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    wall, cpu = time.perf_counter(), time.process_time()
    views = db.transaction(lambda s: service.suggest(s, settings, now=NOW))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    shared = sum(1 for v in views if v.reasons)
    print(f"match suggest ({url.split(':')[0]}): {wall:.1f} s wall, {cpu:.1f} s CPU, peak RSS "
          f"{peak:.0f} MB (before: {before:.0f} MB); {len(views):,} suggestions stored, "
          f"{shared / len(views):.1%} sharing a field")
    db.close()


if __name__ == "__main__":
    main()
