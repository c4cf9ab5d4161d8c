"""`mentor-gateway match …` as an operator runs it: JSON for scripts, errors naming file/line/key."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gateway.program.service import add_organization, add_participant
from gateway.store.db import Database
from gateway.store.migrate import migrate
from tests.e2e.test_cli_program import clean_env, run, write_config

pytestmark = pytest.mark.e2e
NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


def test_suggest_json_accept_and_a_bad_taxonomy_file(tmp_path: Path, sqlite_url: str) -> None:
    config = write_config(tmp_path, sqlite_url)
    cfg = ["-c", str(config)]
    db = Database(sqlite_url)
    migrate(db.engine)

    def enrol(s: Any) -> None:  # (the participant commands have their own tests)
        add_organization(s, "École A", now=NOW)
        for email, role in (("m1@example.net", "mentor"), ("m2@example.net", "mentor"),
                            ("lea@example.net", "mentee"), ("sam@example.net", "mentee")):
            add_participant(s, email=email, name=email.split("@")[0], role=role, org="École A",
                            now=NOW)

    db.transaction(enrol)
    db.close()
    suggested = run([*cfg, "match", "suggest", "--json", "--limit", "1"], cwd=tmp_path)
    assert suggested.code == 0, suggested.err
    [one] = suggested.json()
    assert set(one) >= {"mentee", "mentor", "score", "reasons"} and one["reasons"] == []
    accepted = run([*cfg, "match", "accept", str(one["id"])], cwd=tmp_path)
    assert accepted.code == 0 and "pair" in accepted.out
    again = run([*cfg, "match", "accept", str(one["id"])], cwd=tmp_path)
    assert again.code == 1 and "not proposed" in again.out

    fields = tmp_path / "fields.toml"
    fields.write_text('[[field]]\nid = "aquaculture"\ncategory = "fish"\nfr = "A"\nen = "A"\n',
                      encoding="utf-8")
    bad = write_config(tmp_path, sqlite_url, f'[matching]\ntaxonomy_file = "{fields}"\n')
    refused = run(["-c", str(bad), "match", "suggest"], cwd=tmp_path, env=clean_env())
    assert refused.code == 2
    assert f"{fields}: line 3: key 'category': unknown category 'fish'" in refused.err
    assert "Traceback" not in refused.err
