"""Configuration: defaults, validation errors that name file, line and key, environment overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import ConfigError, load_settings

ROOT = Path(__file__).resolve().parents[3]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_config_is_valid_and_equals_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    shipped = load_settings(ROOT / "config.toml", env={})
    monkeypatch.chdir(ROOT)  # the defaults are relative to the current directory, the file's to ROOT
    defaults = load_settings(ROOT / "does-not-exist.toml", env={})
    defaults = defaults.replace(
        gateway={"rules_dir": str(ROOT / "relay_rules"), "templates_dir": str(ROOT / "templates")},
        database={"url": f"sqlite:///{ROOT / 'var' / 'gateway.db'}"},
        outbound={"maildir": str(ROOT / "var" / "outbox")})
    assert shipped.replace() == shipped
    for section in ("gateway", "database", "smtp", "outbound", "web", "moderation", "imap", "reminders",
                    "authentication", "limits"):
        assert getattr(shipped, section) == getattr(defaults, section), section


def test_documented_defaults() -> None:
    s = load_settings(ROOT / "nope.toml", env={})
    assert s.database.url == "sqlite:///var/gateway.db"
    assert (s.smtp.host, s.smtp.port) == ("127.0.0.1", 2525)
    assert s.outbound.mode == "maildir" and s.outbound.maildir == "var/outbox"
    assert s.outbound.retry_schedule == ["1m", "5m", "15m", "1h", "4h"]
    assert s.outbound.give_up_after == "5d"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[smtp]\nport = \"twenty\"\n", ["line 2", "smtp.port", "whole number"]),
        ("[smtp]\nhost = \"x\"\nprot = 25\n", ["line 3", "unknown key 'prot'", "[smtp]"]),
        ("[smpt]\nport = 25\n", ["line 1", "unknown section [smpt]"]),
        ("[outbound]\nmode = \"carrier-pigeon\"\n", ["line 2", "outbound.mode", "'smtp', 'maildir'"]),
        ("[outbound]\ngive_up_after = \"five days\"\n", ["line 2", "outbound.give_up_after", "not a duration"]),
        ("[outbound]\nretry_schedule = [\"1m\", \"soon\"]\n", ["line 2", "retry_schedule"]),
        ("[gateway]\ntime_zone = \"Mars/Olympus\"\n", ["line 2", "time zone"]),
        ("[smtp]\nport = 70000\n", ["line 2", "between 0 and 65535"]),
        ("[smtp\nport = 1\n", ["not valid TOML"]),
        ("[safety]\nreport_footer = true\nreport_local_part = \"Signaler Ici\"\n",
         ["line 3", "report_local_part"]),
        ("[safety]\nreport_local_part = \"program\"\n", ["line 2", "already the program"]),
        ("[safety]\nhelp_resources = \"911\"\n", ["line 2", "safety.help_resources", "list"]),
        ("[processing]\nworkers = 1\ngather_ms = -5\n", ["line 3", "gather_ms", "from 0 to 1000"]),
        ("[processing]\nworkers = 99\n", ["line 2", "workers", "from 0 to 64"]),
        ("[moderation]\nmax_checked_chars = 50\n", ["line 2", "max_checked_chars", ">= 1000"]),
        ("[moderation]\nmax_checked_chars = \"lots\"\n", ["line 2", "max_checked_chars"]),
    ],
)
def test_errors_name_file_line_and_key(tmp_path: Path, text: str, expected: list[str]) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={})
    message = str(info.value)
    assert str(path) in message
    for part in expected:
        assert part in message


def test_environment_overrides_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[smtp]\nport = 2600\n[database]\nurl = \"sqlite:///a.db\"\n")
    s = load_settings(path, env={"GATEWAY_SMTP_PORT": "2700",
                                 "GATEWAY_DATABASE_URL": "postgresql+psycopg://u@h/db"})
    assert s.smtp.port == 2700
    assert s.database.url == "postgresql+psycopg://u@h/db"


def test_environment_override_is_validated_too(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="smtp.port"):
        load_settings(write(tmp_path, ""), env={"GATEWAY_SMTP_PORT": "abc"})


def test_config_path_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway.config import default_config_path

    monkeypatch.setenv("GATEWAY_CONFIG", str(tmp_path / "x.toml"))
    assert default_config_path() == tmp_path / "x.toml"


def test_relative_paths_in_a_config_file_are_next_to_the_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "keys").mkdir()
    path = other / "config.toml"
    path.write_text('[gateway]\nrules_dir = "rules"\ntemplates_dir = "/srv/templates"\n'
                    '[database]\nurl = "sqlite:///var/gateway.db?timeout=5"\n'
                    '[outbound]\nmaildir = "../outbox"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # e.g. `mentor-gateway -c other/config.toml` from the parent
    s = load_settings(Path("other/config.toml"), env={"GATEWAY_OUTBOUND_DKIM_KEY_FILE": "k.pem"})
    assert s.gateway.rules_dir == str(other / "rules")
    assert s.gateway.templates_dir == "/srv/templates"  # absolute paths stay as written
    assert s.database.url == f"sqlite:///{other / 'var' / 'gateway.db'}?timeout=5"
    assert Path(s.outbound.maildir).resolve() == tmp_path / "outbox"
    assert s.outbound.dkim_key_file == "k.pem"  # the environment is relative to the current directory
    memory = write(tmp_path, '[database]\nurl = "sqlite:///:memory:"\n')
    assert load_settings(memory, env={}).database.url == "sqlite:///:memory:"
