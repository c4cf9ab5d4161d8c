"""The `mentor-gateway` command as an operator runs it: a real process, a config file, a database."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / ".venv" / "bin" / "python"
ALIAS = re.compile(r"([a-z0-9]+)@mentor\.test")
ALIAS_ALPHABET = 32  # base32, lower-cased


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without GATEWAY_* overrides (they would change the config)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    return {**env, **extra}


def run(args: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> Result:
    done = subprocess.run([str(PYTHON), "-m", "gateway", *args], cwd=cwd, env=env or clean_env(),
                          capture_output=True, text=True, timeout=120)
    return Result(done.returncode, done.stdout, done.stderr)


def write_config(folder: Path, db_url: str, extra: str = "") -> Path:
    path = folder / "config.toml"
    path.write_text(
        "[gateway]\n"
        'domain = "mentor.test"\n'
        'program_name = "Academos Test"\n'
        f'templates_dir = "{ROOT / "templates"}"\n'
        f'rules_dir = "{ROOT / "relay_rules"}"\n'
        "[database]\n"
        f'url = "{db_url}"\n'
        "[outbound]\n"
        f'maildir = "{folder / "outbox"}"\n' + extra,
        encoding="utf-8")
    return path


@dataclass(frozen=True)
class Cli:
    config: Path
    cwd: Path
    db_url: str

    def __call__(self, *args: str) -> Result:
        return run(["-c", str(self.config), *args], cwd=self.cwd)

    def ok(self, *args: str) -> Result:
        result = self(*args)
        assert result.code == 0, result
        return result

    def refused(self, *args: str) -> str:
        """Exit code 2, nothing on stdout, one readable line on stderr; returns that line."""
        result = self(*args)
        assert result.code == 2, result
        assert result.out == ""
        line = result.err.strip()
        assert line and "\n" not in line and "Traceback" not in line, result.err
        return line

    def scalar(self, sql: str) -> Any:
        engine = create_engine(self.db_url)
        try:
            with engine.connect() as conn:
                return conn.execute(text(sql)).scalar()
        finally:
            engine.dispose()


def make_cli(db_url: str, tmp_path: Path) -> Cli:
    work = tmp_path / "work"
    work.mkdir()
    return Cli(write_config(tmp_path, db_url), work, db_url)


@pytest.fixture
def cli(sqlite_url: str, tmp_path: Path) -> Cli:
    """SQLite only: each run is a whole process start; the services run on both databases in
    their own tests, and test_the_cli_reaches_either_database covers the URL from the config."""
    return make_cli(sqlite_url, tmp_path)


def test_participant_add_accepts_good_input_and_refuses_bad_in_one_line(cli: Cli) -> None:
    out = cli.ok("participant", "add", "--email", "Marie.Tremblay@Example.COM",
                 "--name", "Marie Tremblay", "--role", "mentor", "--lang", "en")
    assert "marie.tremblay@example.com" in out.out
    added = cli.ok("participant", "add", "--email", "lea@eleves.example.net", "--name", "Léa Gagnon",
                   "--role", "mentee", "--minor", "--json").json()
    assert added["email"] == "lea@eleves.example.net" and added["role"] == "mentee"

    assert "already exists" in cli.refused("participant", "add", "--email", "MARIE.tremblay@example.com",
                                           "--name", "Autre", "--role", "mentor")
    assert "not-an-address" in cli.refused("participant", "add", "--email", "not-an-address",
                                           "--name", "X", "--role", "mentor")
    assert "--role" in cli.refused("participant", "add", "--email", "t@example.com", "--name", "T",
                                   "--role", "teacher")
    assert "--lang" in cli.refused("participant", "add", "--email", "t@example.com", "--name", "T",
                                   "--role", "mentor", "--lang", "de")
    assert "--email" in cli.refused("participant", "add", "--name", "T", "--role", "mentor")
    assert cli.scalar("SELECT count(*) FROM participant") == 2


def alias_local(address: str) -> str:
    match = ALIAS.fullmatch(address)
    assert match, address
    return match.group(1)


def test_pair_create_prints_one_json_object_with_fresh_aliases(cli: Cli) -> None:
    for email, name, role in (("m@example.com", "Marie", "mentor"),
                              ("a@eleves.example.net", "Ana", "mentee"),
                              ("b@eleves.example.net", "Bob", "mentee")):
        cli.ok("participant", "add", "--email", email, "--name", name, "--role", role)
    first = cli.ok("pair", "create", "--mentor", "m@example.com",
                   "--mentee", "a@eleves.example.net", "--json")
    second = cli.ok("pair", "create", "--mentor", "M@Example.com",
                    "--mentee", "b@eleves.example.net", "--json")
    pairs = [first.json(), second.json()]  # json.loads of the whole output: one object, nothing else
    for pair in pairs:
        assert set(pair) == {"id", "mentor_alias", "mentee_alias"}
        for alias in (pair["mentor_alias"], pair["mentee_alias"]):
            local = alias_local(alias)
            assert local.isascii() and len(local) * math.log2(ALIAS_ALPHABET) >= 64
    aliases = [p[k] for p in pairs for k in ("mentor_alias", "mentee_alias")]
    assert len(set(aliases)) == 4  # the mentor has an unrelated alias in each pair
    assert pairs[0]["id"] != pairs[1]["id"]
    assert cli.scalar("SELECT count(*) FROM outbox WHERE kind = 'introduction'") == 4

    assert "already paired" in cli.refused("pair", "create", "--mentor", "m@example.com",
                                           "--mentee", "a@eleves.example.net")
    assert "not a mentor" in cli.refused("pair", "create", "--mentor", "a@eleves.example.net",
                                         "--mentee", "b@eleves.example.net")
    assert "nobody@example.com" in cli.refused("pair", "create", "--mentor", "nobody@example.com",
                                               "--mentee", "a@eleves.example.net")


def test_pair_list_show_pause_resume_close(cli: Cli) -> None:
    cli.ok("participant", "add", "--email", "m@example.com", "--name", "Marie", "--role", "mentor")
    cli.ok("participant", "add", "--email", "a@eleves.example.net", "--name", "Ana", "--role", "mentee")
    created = cli.ok("pair", "create", "--mentor", "m@example.com", "--mentee", "a@eleves.example.net",
                     "--json").json()
    pair_id = str(created["id"])
    [listed] = cli.ok("pair", "list", "--json").json()
    assert (listed["id"], listed["state"]) == (created["id"], "active")
    assert listed["mentor_alias"] == created["mentor_alias"]
    shown = cli.ok("pair", "show", pair_id).out
    assert created["mentor_alias"] in shown and created["mentee_alias"] in shown and "Marie" in shown

    assert "paused" in cli.ok("pair", "pause", pair_id).out
    assert "paused" in cli.refused("pair", "pause", pair_id)
    assert cli.ok("pair", "show", pair_id, "--json").json()["state"] == "paused"
    assert "active" in cli.ok("pair", "resume", pair_id).out
    assert "closed" in cli.ok("pair", "close", pair_id, "--reason", "fin du programme").out
    assert "closed" in cli.refused("pair", "resume", pair_id)
    closed = cli.ok("pair", "list", "--json", "--state", "closed").json()
    assert [p["id"] for p in closed] == [created["id"]]
    assert cli.ok("pair", "list", "--json", "--state", "active").json() == []
    for action in ("show", "close"):
        assert "no pair with id 999" in cli.refused("pair", action, "999")
    assert "abc" in cli.refused("pair", "show", "abc")


def test_the_cli_reaches_either_database(db_url: str, tmp_path: Path) -> None:
    cli = make_cli(db_url, tmp_path)
    cli.ok("participant", "add", "--email", "m@example.com", "--name", "Marie", "--role", "mentor")
    cli.ok("participant", "add", "--email", "a@eleves.example.net", "--name", "Ana", "--role", "mentee")
    created = cli.ok("pair", "create", "--mentor", "m@example.com", "--mentee", "a@eleves.example.net",
                     "--json").json()
    listed = cli.ok("pair", "list", "--json").json()
    assert [p["mentee_alias"] for p in listed] == [created["mentee_alias"]]


def test_gateway_config_environment_variable_is_used_without_c(
        sqlite_url: str, tmp_path: Path) -> None:
    db_url = sqlite_url
    config = write_config(tmp_path, db_url)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = clean_env(GATEWAY_CONFIG=str(config))
    added = run(["participant", "add", "--email", "m@example.com", "--name", "Marie", "--role", "mentor"],
                cwd=elsewhere, env=env)
    assert added.code == 0, added
    again = Cli(config, elsewhere, db_url)
    assert "already exists" in again.refused("participant", "add", "--email", "m@example.com",
                                             "--name", "Marie", "--role", "mentor")
    assert list(elsewhere.iterdir()) == []  # nothing fell back to ./config.toml or ./var


def test_help_and_the_console_script(tmp_path: Path) -> None:
    result = run(["--help"], cwd=tmp_path)
    assert result.code == 0 and "participant" in result.out and "pair" in result.out
    script = ROOT / ".venv" / "bin" / "mentor-gateway"
    assert script.exists() and os.access(script, os.X_OK)
    done = subprocess.run([str(script), "pair", "--help"], cwd=tmp_path, env=clean_env(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "create" in done.stdout and "close" in done.stdout


@pytest.mark.parametrize(("extra", "names"), [
    ("[smtp]\nprot = 2525\n", ("prot", "[smtp]")),
    ('[smtp]\nport = "2525"\n', ("smtp.port", "whole number")),
    ('retry_schedule = "1m"\n', ("retry_schedule",)),  # goes into [outbound], the last section
    ('give_up_after = "five days"\n', ("give_up_after",)),
    ("[smpt]\nport = 2525\n", ("smpt",)),
])
def test_a_bad_config_names_the_file_and_the_key(
        tmp_path: Path, extra: str, names: tuple[str, ...]) -> None:
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'g.db'}", extra)
    line = Cli(config, tmp_path, "").refused("pair", "list")
    assert str(config) in line
    for name in names:
        assert name in line
    assert not (tmp_path / "g.db").exists()  # refused before touching the database


def test_a_mistyped_config_path_is_refused_instead_of_running_on_defaults(tmp_path: Path) -> None:
    missing = tmp_path / "confg.toml"
    line = Cli(missing, tmp_path, "").refused("pair", "list")
    assert str(missing) in line
    assert list(tmp_path.iterdir()) == []  # no ./var/gateway.db created on the defaults
