"""CSV import: time to enrol a 25,000-line school spreadsheet, and to re-import it unchanged.

Generates a French-Excel export (Windows-1252, semicolons, French headers, quoted bios with line
breaks, 300 schools, ~9 % mentors, ~1 % under the consent age with a guardian, 0.5 % bad lines),
then times `import_participants` on a fresh database (a temporary SQLite file, or a private
PostgreSQL schema), the same file again (everything unchanged), and, as the baseline measured in
the same run, the one-by-one path the import replaces (`add_participant` per line, each in its
own transaction, as `participant add` does) on a sample, extrapolated. Goal: under 30 s.

    .venv/bin/python bench/import_participants.py [--lines 25000] [--database-url URL] [--sample 300]
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import secrets
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, insert, text  # noqa: E402

from gateway.config import Settings  # noqa: E402
from gateway.program.importer import import_participants  # noqa: E402
from gateway.program.service import add_participant  # noqa: E402
from gateway.store.db import Database  # noqa: E402
from gateway.store.migrate import migrate  # noqa: E402
from gateway.store.models import Organization  # noqa: E402

NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
FIELDS = ["Génie civil", "Santé", "Informatique", "Arts et culture", "Droit", "Métiers d'art",
          "Sciences", "Enseignement", "Administration", "Environnement", "Agriculture"]
HEADER = ["Courriel", "Prénom", "Nom", "Rôle", "Langue", "École", "Date de naissance", "Niveau",
          "Intérêts", "Bio", "Capacité", "Courriel du parent/tuteur"]


def school(n: int) -> str:
    return f"École secondaire numéro {n}"


def spreadsheet(lines: int, seed: int = 7) -> bytes:
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADER)
    for i in range(lines):
        mentor = rng.random() < 0.09
        young = not mentor and rng.random() < 0.01
        born = (f"{rng.randint(1960, 2000)}" if mentor else
                f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/"
                f"{rng.randint(2013, 2014) if young else rng.randint(1996, 2011)}")
        email = f"personne.{i}@ecole{i % 300}.exemple.qc.ca"
        if rng.random() < 0.005:
            email = "adresse invalide"
        writer.writerow([
            email, rng.choice(["Éloïse", "Zoé", "Noël", "Jean", "Léa", "Félix"]), f"Côté-{i}",
            "Mentore" if mentor else rng.choice(["Jeune", "Élève", "Mentorée"]),
            rng.choice(["fr", "fr", "fr", "en"]), school(i % 300), born,
            "" if mentor else rng.choice(["Secondaire 3", "Secondaire 4", "Secondaire 5", "Cégep 1"]),
            "; ".join(rng.sample(FIELDS, rng.randint(1, 3))),
            f"Je travaille en {rng.choice(FIELDS).lower()} depuis {rng.randint(2, 30)} ans.\n"
            "Posez-moi vos questions !" if mentor else "",
            str(rng.randint(1, 15)) if mentor else "",
            f"parent.{i}@famille.exemple.net" if young else "",
        ])
    return out.getvalue().encode("cp1252")


def settings_for(url: str) -> Settings:
    return Settings().replace(gateway={"domain": "mentor.test", "instance_name": "bench",
                                       "templates_dir": str(ROOT / "templates")},
                              database={"url": url})


def fresh_database(base: str | None, folder: Path, name: str) -> tuple[str, Any]:
    if not base:
        return f"sqlite:///{folder / name}.db", None
    schema = f"bench_{secrets.token_hex(4)}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    admin.dispose()
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}", schema


def drop(base: str | None, schema: str | None) -> None:
    if base and schema:
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def prepared(url: str) -> Database:
    db = Database(url)
    migrate(db.engine)
    db.transaction(lambda s: s.execute(insert(Organization), [
        {"name": school(n), "created_at": NOW} for n in range(300)]))
    return db


def time_import(db: Database, settings: Settings, data: bytes) -> tuple[float, float, Any]:
    """Wall clock (what the coordinator waits for) and this process's CPU time (our work alone:
    on a shared machine the wait for a core can be most of the wall clock)."""
    start, cpu = time.perf_counter(), time.process_time()
    report = db.transaction(lambda s: import_participants(s, settings, data, now=NOW))
    return time.perf_counter() - start, time.process_time() - cpu, report


def time_one_by_one(db: Database, sample: int) -> float:
    start = time.perf_counter()
    for i in range(sample):
        db.transaction(lambda s, i=i: add_participant(
            s, email=f"seul.{i}@exemple.qc.ca", name=f"Léa Côté {i}", role="mentee",
            org=school(i % 300), now=NOW, interests=["Santé; Informatique"]))
    return (time.perf_counter() - start) / sample


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=25_000)
    parser.add_argument("--sample", type=int, default=300)
    parser.add_argument("--database-url", default=None, help="PostgreSQL base URL (default: SQLite)")
    args = parser.parse_args()
    data = spreadsheet(args.lines)
    with tempfile.TemporaryDirectory() as folder:
        url, schema = fresh_database(args.database_url, Path(folder), "import")
        try:
            db = prepared(url)
            settings = settings_for(url)
            first, first_cpu, report = time_import(db, settings, data)
            again, again_cpu, second = time_import(db, settings, data)
            per_line = time_one_by_one(db, args.sample)
            db.close()
        finally:
            drop(args.database_url, schema)
    kind = "PostgreSQL" if args.database_url else "SQLite"
    print(f"{kind}: {args.lines} lines, {len(data) / 1e6:.1f} MB (Windows-1252, ';')")
    print(f"  first import : {first:6.2f} s wall, {first_cpu:6.2f} s CPU  ({report.created} created, {report.failed_lines} refused, "
          f"{report.consent_requested} consent e-mails queued)")
    print(f"  re-import    : {again:6.2f} s wall, {again_cpu:6.2f} s CPU  ({second.unchanged} unchanged, {second.updated} updated)")
    print(f"  baseline     : add_participant one by one, {per_line * 1000:.1f} ms/line -> "
          f"{per_line * args.lines:.0f} s for {args.lines} lines ({per_line * args.lines / first:.0f}x)")


if __name__ == "__main__":
    main()
