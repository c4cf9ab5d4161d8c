"""Load and validate config.toml (plus GATEWAY_* environment overrides) into frozen settings."""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
import types
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from gateway.config.sections import (  # noqa: F401  # re-exported: gateway.config is the door
    SECTIONS,
    AuthenticationSettings,
    ConsentSettings,
    DatabaseSettings,
    GatewaySettings,
    ImapSettings,
    InsightsSettings,
    LimitsSettings,
    LoggingSettings,
    MatchingSettings,
    MetricsSettings,
    MissionsSettings,
    ModerationSettings,
    OutboundSettings,
    PrivacySettings,
    ProcessingSettings,
    RemindersSettings,
    RetentionSettings,
    SafetySettings,
    Settings,
    SmtpSettings,
    WebSettings,
)
from gateway.durations import parse_duration
from gateway.errors import GatewayError


class ConfigError(GatewayError):
    """A configuration problem, phrased for the operator: file, key, line, what is wrong."""


DURATION_KEYS = {
    ("outbound", "give_up_after"),
    ("moderation", "review_within"),
    ("moderation", "digest_every"),
    ("moderation", "token_valid_for"),
    ("reminders", "check_every"),
    ("retention", "keep_bodies_for"),
    ("consent", "link_valid_for"),
    ("consent", "tell_coordinator_after"),
    ("matching", "choice_valid_for"),
}
ENV_PREFIX = "GATEWAY_"


def default_config_path() -> Path:
    return Path(os.environ.get("GATEWAY_CONFIG", "config.toml"))


def load_settings(path: Path | None = None, *, env: dict[str, str] | None = None) -> Settings:
    """Read the file (missing file = all defaults), apply GATEWAY_SECTION_KEY overrides, validate."""
    path = path or default_config_path()
    env = dict(os.environ) if env is None else env
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    if path.exists():
        _resolve_paths(data, path.resolve().parent)
    _apply_env_overrides(data, env)
    sections: dict[str, Any] = {}
    for name, values in data.items():
        if name not in SECTIONS:
            raise ConfigError(_where(path, text, name, None) + f"unknown section [{name}]")
        if not isinstance(values, dict):
            raise ConfigError(_where(path, text, name, None) + f"[{name}] must be a table")
        sections[name] = _build_section(path, text, name, SECTIONS[name], values)
    settings = Settings(**sections, source=str(path))
    _check_values(path, text, settings)
    return settings


PATH_KEYS = (("gateway", "rules_dir"), ("gateway", "templates_dir"), ("outbound", "maildir"),
             ("outbound", "dkim_key_file"))
SQLITE_PREFIX = "sqlite:///"


def _resolve_paths(data: dict[str, Any], folder: Path) -> None:
    """Relative paths written in a config file mean "next to this file", whatever the current
    directory: `-c other/config.toml` must not quietly create a second, empty database."""
    for section, key in PATH_KEYS:
        values = data.get(section)
        value = values.get(key) if isinstance(values, dict) else None
        if isinstance(value, str) and value and not Path(value).is_absolute():
            values[key] = str(folder / value)  # type: ignore[index]
    database = data.get("database")
    url = database.get("url") if isinstance(database, dict) else None
    if isinstance(url, str) and url.startswith(SQLITE_PREFIX):
        file = url[len(SQLITE_PREFIX):].split("?")[0]
        if file and file != ":memory:" and not Path(file).is_absolute():
            database["url"] = SQLITE_PREFIX + str(folder / file) + url[len(SQLITE_PREFIX) + len(file):]  # type: ignore[index]


def _apply_env_overrides(data: dict[str, Any], env: dict[str, str]) -> None:
    """GATEWAY_DATABASE_URL=... overrides [database] url; values are parsed as TOML when possible."""
    for section, cls in SECTIONS.items():
        for f in dataclasses.fields(cls):
            value = env.get(f"{ENV_PREFIX}{section}_{f.name}".upper())
            if value is None:
                continue
            try:
                parsed: Any = tomllib.loads(f"v = {value}")["v"]
            except tomllib.TOMLDecodeError:
                parsed = value
            if get_type_hints(cls)[f.name] is str:
                parsed = value
            data.setdefault(section, {})[f.name] = parsed


def _build_section(path: Path, text: str, name: str, cls: type, values: dict[str, Any]) -> Any:
    hints = get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    for key, value in values.items():
        where = _where(path, text, name, key)
        if key not in known:
            raise ConfigError(where + f"unknown key '{key}' in [{name}] (known: {', '.join(sorted(known))})")
        problem = _type_problem(hints[key], value)
        if problem:
            raise ConfigError(where + f"'{name}.{key}' {problem}, got {value!r}")
    return cls(**values)


def _type_problem(expected: Any, value: Any) -> str | None:
    origin = get_origin(expected)
    if origin is Literal:
        allowed = get_args(expected)
        return None if value in allowed else "must be one of " + ", ".join(map(repr, allowed))
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(expected) if a is not type(None)]
        return None if any(_type_problem(a, value) is None for a in options) else f"must be {options}"
    if origin is list:
        if not isinstance(value, list):
            return "must be a list"
        return None
    if expected is bool:
        return None if isinstance(value, bool) else "must be true or false"
    if expected is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else "must be a whole number"
    if expected is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return None if ok else "must be a number"
    if expected is str:
        return None if isinstance(value, str) else "must be a string"
    return None


def _check_values(path: Path, text: str, settings: Settings) -> None:
    for section, key in DURATION_KEYS:
        _check(path, text, section, key, lambda v: parse_duration(v), settings)
    for item in settings.outbound.retry_schedule:
        _check_value(path, text, "outbound", "retry_schedule", parse_duration, item)
    for item in settings.consent.remind_after:
        _check_value(path, text, "consent", "remind_after", parse_duration, item)
    if not 1 <= settings.consent.age <= 21:
        raise ConfigError(_where(path, text, "consent", "age") + "must be an age from 1 to 21")
    if not settings.outbound.retry_schedule:
        raise ConfigError(_where(path, text, "outbound", "retry_schedule") + "must not be empty")
    if not re.fullmatch(r"[a-z0-9.-]+\.[a-z0-9-]+|[a-z0-9-]+", settings.gateway.domain):
        raise ConfigError(
            _where(path, text, "gateway", "domain") + "must be a lowercase domain name"
        )
    for section, key in (("smtp", "port"), ("outbound", "port"), ("web", "port"), ("imap", "port")):
        port = getattr(getattr(settings, section), key)
        if not 0 <= port <= 65535:
            raise ConfigError(_where(path, text, section, key) + "must be between 0 and 65535")
    if settings.smtp.max_message_bytes < 1024:
        raise ConfigError(_where(path, text, "smtp", "max_message_bytes") + "must be >= 1024")
    if settings.moderation.max_checked_chars < 1000:
        raise ConfigError(_where(path, text, "moderation", "max_checked_chars")
                          + "'moderation.max_checked_chars' must be >= 1000")
    if settings.insights.cache_seconds < 0:
        raise ConfigError(_where(path, text, "insights", "cache_seconds") + "must be >= 0")
    if not 1 <= settings.insights.quiet_days <= 365:
        raise ConfigError(_where(path, text, "insights", "quiet_days") + "must be between 1 and 365")
    if settings.outbound.connections < 1:
        raise ConfigError(_where(path, text, "outbound", "connections") + "must be >= 1")
    for domain in settings.privacy.personal_domains:
        if not isinstance(domain, str) or not re.fullmatch(
                r"[a-z0-9-]+(?:\.[a-z0-9-]+)+", domain.strip().lower()):
            raise ConfigError(_where(path, text, "privacy", "personal_domains")
                              + f"'privacy.personal_domains': {domain!r} is not a domain name")
    _check_zone(path, text, settings.gateway.time_zone)
    _check_local_parts(path, text, settings)
    # Reminder rules and the DKIM key are checked by gateway.startup_checks (they need rooms
    # above this one); the CLI and App run those checks right after loading.
    _check_web(path, text, settings.web)
    _check_authentication(path, text, settings.authentication)
    for key in ("per_participant_hour", "per_pair_day", "max_header_count", "max_header_bytes",
                "max_sessions", "max_messages_in_flight"):
        if getattr(settings.limits, key) < 1:
            raise ConfigError(_where(path, text, "limits", key) + f"'limits.{key}' must be >= 1")
    if settings.smtp.max_recipients < 1:
        raise ConfigError(_where(path, text, "smtp", "max_recipients") + "smtp.max_recipients must be >= 1")
    for key, low, high in (("workers", 0, 64), ("gather_ms", 0, 1000)):
        if not low <= getattr(settings.processing, key) <= high:
            raise ConfigError(_where(path, text, "processing", key)
                              + f"processing.{key} must be from {low} to {high}")
    if settings.processing.offload_from < 1:
        raise ConfigError(_where(path, text, "processing", "offload_from")
                          + "processing.offload_from must be >= 1")


def _check_authentication(path: Path, text: str, auth: AuthenticationSettings) -> None:
    if auth.mode == "trust" and not auth.trust_authserv_id:
        raise ConfigError(_where(path, text, "authentication", "trust_authserv_id")
                          + "'authentication.trust_authserv_id' is needed when mode = \"trust\""
                          " (the authserv-id your front MTA writes, e.g. \"mx.example.org\")")
    if auth.dns_timeout <= 0:
        raise ConfigError(_where(path, text, "authentication", "dns_timeout") + "must be > 0")
    host, _, port = auth.resolver.rpartition(":") if auth.resolver.count(":") == 1 else (
        auth.resolver, "", "")
    if port and not port.isdigit():
        raise ConfigError(_where(path, text, "authentication", "resolver")
                          + f"'authentication.resolver' {auth.resolver!r}: use host or host:port")


def _check_web(path: Path, text: str, web: WebSettings) -> None:
    import ipaddress
    from urllib.parse import urlsplit

    if web.public_url:
        parts = urlsplit(web.public_url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query \
                or parts.fragment or parts.username:
            raise ConfigError(_where(path, text, "web", "public_url")
                              + "'web.public_url' must look like https://mentorat.example.org")
    for proxy in web.trusted_proxies:
        try:
            ipaddress.ip_network(str(proxy), strict=False)
        except ValueError as exc:
            raise ConfigError(_where(path, text, "web", "trusted_proxies")
                              + f"'web.trusted_proxies': {proxy!r} is not an IP address or network"
                              ) from exc


def _check_local_parts(path: Path, text: str, settings: Settings) -> None:
    local = settings.safety.report_local_part
    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]{0,63}", local):
        raise ConfigError(_where(path, text, "safety", "report_local_part")
                          + f"'safety.report_local_part' must be a lowercase local part such as 'signaler', got {local!r}")
    taken = {settings.gateway.program_address, settings.gateway.bounce_address}
    if local in taken:
        raise ConfigError(_where(path, text, "safety", "report_local_part")
                          + f"'safety.report_local_part' {local!r} is already the program or bounce address")
    for item in settings.safety.help_resources:
        if not isinstance(item, str):
            raise ConfigError(_where(path, text, "safety", "help_resources")
                              + "must be a list of strings")


def _check_zone(path: Path, text: str, zone: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            _where(path, text, "gateway", "time_zone") + f"unknown time zone {zone!r}"
        ) from exc


def _check(path: Path, text: str, section: str, key: str, parse: Any, settings: Settings) -> None:
    _check_value(path, text, section, key, parse, getattr(getattr(settings, section), key))


def _check_value(path: Path, text: str, section: str, key: str, parse: Any, value: Any) -> None:
    try:
        parse(value)
    except ValueError as exc:
        raise ConfigError(_where(path, text, section, key) + f"'{section}.{key}': {exc}") from exc


def _where(path: Path, text: str, section: str, key: str | None) -> str:
    line = line_of_key(text, section, key)
    return f"{path}: line {line}: " if line else f"{path}: "


def line_of_key(text: str, section: str, key: str | None) -> int | None:
    """The line where `key` is set inside [section] (or the section header itself)."""
    current = ""
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        header = re.match(r"^\[\[?\s*([A-Za-z0-9_.-]+)\s*\]\]?", stripped)
        if header:
            current = header.group(1).split(".")[0]
            if key is None and current == section:
                return number
            continue
        if key and current == section and re.match(rf"^{re.escape(key)}\s*=", stripped):
            return number
    return None
