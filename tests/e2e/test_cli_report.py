"""`mentor-gateway report` as an operator runs it: the dashboard's figures for an organization and period."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.cli import main
from gateway.insights.export import to_json
from gateway.insights.load import program_figures
from gateway.store.db import Database
from gateway.store.migrate import migrate
from tests.e2e.test_cli_program import run, write_config
from tests.unit.insights.seed import NOW, T0, seed_program


def test_report_json_matches_the_figures_and_refuses_bad_options(
        db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = Database(db_url)
    migrate(db.engine)
    seeded = db.transaction(seed_program)
    since, until = T0.date().isoformat(), NOW.isoformat()
    expected = to_json(db.transaction(lambda s: program_figures(
        s, (seeded.org_a,), since=T0.replace(hour=0), until=NOW, now=NOW, quiet_days=10), read_only=True))
    db.close()
    config = write_config(tmp_path, db_url)

    done = run(["-c", str(config), "report", "--org", "École A", "--since", since, "--until", until,
                "--quiet-days", "10", "--json"], cwd=tmp_path)
    assert done.code == 0, done.err
    got = done.json()
    assert got["summary"].pop("organization") == "École A"
    assert got == expected
    assert got["summary"]["quiet_pairs"] == len(got["quiet_pairs"]) > 0

    # The rest in-process: a process start costs seconds on a busy machine.
    capsys.readouterr()
    assert main(["-c", str(config), "report", "--until", until]) == 0
    out = capsys.readouterr().out
    assert "held_rate" in out and "quiet pairs:" in out
    for args, words in ((["--since", "last monday"], "--since: 'last monday' is not an ISO"),
                        (["--org", "École Z"], "no organization named 'École Z'"),
                        (["--since", until, "--until", since], "--since must be before --until")):
        assert main(["-c", str(config), "report", *args]) == 2
        assert words in capsys.readouterr().err
