"""Start-up checks beyond config.py's own: reminder rules and the DKIM key, named by file, key and line."""

from __future__ import annotations

import re
from pathlib import Path

from gateway.config import ConfigError, Settings, default_config_path, line_of_key, load_settings
from gateway.delivery.dkim import DkimSigningError, load_signer
from gateway.reminders.rules import ReminderConfigError, parse_reminder_rules, parse_send_window


def load_checked_settings(path: Path | None = None, *, env: dict[str, str] | None = None) -> Settings:
    """load_settings(), then every start-up check (what the CLI and `serve` run)."""
    path = path or default_config_path()
    settings = load_settings(path, env=env)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    check_settings(settings, path=path, text=text)
    return settings


def check_settings(settings: Settings, *, path: Path | None = None, text: str = "") -> None:
    """Fail closed on settings other rooms would refuse later (the 3 a.m. reminder check, the
    first signed message); `path` and `text` let the error name the file and line."""
    _check_reminders(path, text, settings)
    _check_dkim(path, text, settings)
    _check_missions(settings)
    if settings.matching.taxonomy_file:
        # The operator's career fields: a bad file stops start-up naming its file, line and key
        # (the shipped taxonomy is checked by the tests, not on every command).
        from gateway.matching.taxonomy import load_taxonomy

        load_taxonomy(settings.matching.taxonomy_file)


def _check_missions(settings: Settings) -> None:
    """A broken mission file stops start-up, naming the file and the key."""
    from gateway.missions.catalog import MissionError, load_missions

    if not settings.missions.enabled:
        return
    try:
        load_missions(Path(settings.gateway.templates_dir) / "missions")
    except MissionError as exc:
        raise ConfigError(str(exc)) from exc


def _where(path: Path | None, text: str, section: str, key: str | None) -> str:
    line = line_of_key(text, section, key)
    name = path if path is not None else "configuration"
    return f"{name}: line {line}: " if line else f"{name}: "


def _check_dkim(path: Path | None, text: str, settings: Settings) -> None:
    out = settings.outbound
    if not out.dkim_selector:
        return
    try:
        load_signer(out.dkim_selector, settings.gateway.domain, out.dkim_key_file)
    except DkimSigningError as exc:
        raise ConfigError(_where(path, text, "outbound", "dkim_key_file")
                          + f"'outbound.dkim_key_file': {exc}") from exc


def _check_reminders(path: Path | None, text: str, settings: Settings) -> None:
    """Parse the reminder policy now: a bad rule or window stops start-up, not the 3 a.m. check."""
    reminders = settings.reminders
    try:
        parse_send_window(reminders.send_window, reminders.weekdays)
        if reminders.rules:
            parse_reminder_rules(reminders.rules)
    except ReminderConfigError as exc:
        key = exc.key_path.split(".")[1].split("[")[0]
        line = _rule_line(text, exc.key_path) or line_of_key(text, "reminders", key)
        name = path if path is not None else "configuration"
        where = f"{name}: line {line}: " if line else f"{name}: "
        raise ConfigError(where + f"'{exc.key_path}': {exc.message}") from exc


def _rule_line(text: str, key_path: str) -> int | None:
    """The line of the N-th [[reminders.rules]] table named by "reminders.rules[N]..."."""
    found = re.match(r"reminders\.rules\[(\d+)\]", key_path)
    if not found:
        return None
    headers = [number for number, raw in enumerate(text.splitlines(), start=1)
               if re.match(r"^\s*\[\[\s*reminders\.rules\s*\]\]", raw)]
    index = int(found.group(1))
    return headers[index] if index < len(headers) else None
