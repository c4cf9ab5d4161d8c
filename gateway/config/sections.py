"""The settings as frozen dataclasses, one per config.toml section, with their defaults."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal, get_type_hints


@dataclass(frozen=True)
class GatewaySettings:
    domain: str = "gateway.localhost"
    program_name: str = "Mentor Gateway"
    program_address: str = "program"
    bounce_address: str = "bounces"
    time_zone: str = "America/Toronto"
    rules_dir: str = "relay_rules"
    templates_dir: str = "templates"
    instance_name: str = ""


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = "sqlite:///var/gateway.db"


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "127.0.0.1"
    port: int = 2525
    max_message_bytes: int = 20 * 1024 * 1024
    max_recipients: int = 10


@dataclass(frozen=True)
class OutboundSettings:
    mode: Literal["smtp", "maildir"] = "maildir"
    host: str = "127.0.0.1"
    port: int = 25
    starttls: bool = False
    username: str = ""
    password_env: str = "GATEWAY_SMTP_PASSWORD"
    maildir: str = "var/outbox"
    retry_schedule: list[str] = field(default_factory=lambda: ["1m", "5m", "15m", "1h", "4h"])
    give_up_after: str = "5d"
    connections: int = 4
    timeout_seconds: float = 30.0
    # DKIM-sign everything that leaves, with d= gateway.domain (empty: do not sign).
    dkim_selector: str = ""
    dkim_key_file: str = ""


@dataclass(frozen=True)
class WebSettings:
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 8025
    secret_env: str = "GATEWAY_WEB_SECRET"
    # The page's address as people reach it, e.g. "https://mentorat.example.org". Links in mail
    # (password resets) are built from it and never from the request's Host header; empty = the
    # "forgot password" page is off.
    public_url: str = ""
    # Proxies (IP addresses or CIDR networks) whose X-Forwarded-For/-Proto are believed; empty =
    # the connecting address is the client, whatever headers it sends.
    trusted_proxies: list[str] = field(default_factory=list)
    # The session cookie's Secure flag: "auto" = when public_url is https.
    secure_cookie: Literal["auto", "always", "never"] = "auto"


@dataclass(frozen=True)
class ModerationSettings:
    review_within: str = "24h"
    notify_sender_on_hold: bool = True
    moderator_notices: Literal["each", "digest", "none"] = "each"
    digest_every: str = "1h"
    # "each" mode: past this many notices in an hour a moderator gets the digest instead.
    max_notices_per_hour: int = 12
    token_valid_for: str = "7d"
    # The rules read at most this many characters of a message; a longer one is held
    # (relay_rules/unchecked_text.toml). Checking is one message at a time: a larger budget
    # lets one long message hold up everyone else's mail for longer.
    max_checked_chars: int = 200_000


@dataclass(frozen=True)
class RemindersSettings:
    enabled: bool = True
    check_every: str = "15m"
    send_window: str = "08:00-20:00"
    weekdays: list[str] = field(
        default_factory=lambda: ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    )
    rules: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class RetentionSettings:
    # What participants wrote (bodies, subjects, moderation evidence, outgoing copies) is erased
    # this long after the message was settled; who wrote to whom, when and what happened stay.
    enabled: bool = True
    keep_bodies_for: str = "365d"


Unauthenticated = Literal["accept", "hold", "refuse"]


@dataclass(frozen=True)
class AuthenticationSettings:
    """Who is really writing: SPF/DKIM/DMARC of mail that claims a participant's address."""

    # "verify": check SPF, DKIM and DMARC here; "trust": believe the Authentication-Results header
    # of the front MTA named trust_authserv_id; "off": no check (a test bench, a closed network).
    mode: Literal["verify", "trust", "off"] = "verify"
    trust_authserv_id: str = ""
    # DNS server for the checks, "host" or "host:port"; empty = the system's resolver.
    resolver: str = ""
    dns_timeout: float = 5.0
    # No aligned pass at all (no DMARC record, or one with p=none that fails): what happens.
    unauthenticated: Unauthenticated = "accept"
    unauthenticated_to_minor: Unauthenticated = "hold"
    # A DNS lookup timed out or failed: "tempfail" (451, the sender's server retries) or "hold".
    temperror: Literal["tempfail", "hold"] = "tempfail"


@dataclass(frozen=True)
class LimitsSettings:
    """Floods and resource limits: no sender may swamp a pair or stall the gateway."""

    per_participant_hour: int = 20
    per_pair_day: int = 60
    max_header_count: int = 1000
    max_header_bytes: int = 256 * 1024
    max_sessions: int = 20
    max_messages_in_flight: int = 4


@dataclass(frozen=True)
class ImapSettings:
    """The `[imap]` section of config.toml (the IMAP ingress reads a mailbox with it)."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 993
    security: Literal["tls", "starttls", "none"] = "tls"
    username: str = ""
    password_env: str = "GATEWAY_IMAP_PASSWORD"
    mailbox: str = "INBOX"
    # Empty: leave handled mail in place, flagged \Seen + $GatewayProcessed.
    processed_mailbox: str = "Processed"
    unroutable_mailbox: str = "Unroutable"
    idle: bool = True
    poll_interval: float = 60.0


@dataclass(frozen=True)
class PrivacySettings:
    # How a participant is named to their partner (From, notices, reminders) and what replaces
    # their registered full name or surname wherever it appears in a message: "first" or "full".
    name_shown: Literal["first", "full"] = "first"
    # Per role ("" = name_shown).
    mentor_name_shown: Literal["", "first", "full"] = ""
    mentee_name_shown: Literal["", "first", "full"] = ""
    # Domains that identify a participant (a family's or a small employer's domain): replaced by
    # "[…]" wherever they appear in a message, in either direction.
    personal_domains: list[str] = field(default_factory=list)

    def name_shown_for(self, role: str) -> str:
        chosen = self.mentor_name_shown if role == "mentor" else self.mentee_name_shown
        return chosen or self.name_shown

    def shown_name(self, full_name: str, role: str) -> str:
        """The name the program shows for a participant of this role."""
        words = full_name.split()
        if self.name_shown_for(role) == "full" or not words:
            return full_name
        return words[0]


@dataclass(frozen=True)
class InsightsSettings:
    # A started pair with nothing exchanged for this many days is listed as quiet.
    quiet_days: int = 21
    # The dashboard computes each view at most this often (0: on every page view).
    cache_seconds: int = 300


@dataclass(frozen=True)
class MissionsSettings:
    # Conversation prompts from <templates_dir>/missions/*.toml, sent on their schedule.
    enabled: bool = True
    # Mentees get a short congratulation by mail when their pair earns a badge.
    congratulate_mentee: bool = True


@dataclass(frozen=True)
class MetricsSettings:
    # /metrics on the web port: with a token, scrapers send "Authorization: Bearer TOKEN";
    # without one, only clients on the loopback interface are answered.
    enabled: bool = True
    token: str = ""


@dataclass(frozen=True)
class LoggingSettings:
    format: Literal["text", "json"] = "text"
    level: Literal["debug", "info", "warning", "error"] = "info"


@dataclass(frozen=True)
class ConsentSettings:
    # Québec's Law 25: under this age a guardian consents before any pair of theirs is activated.
    age: int = 14
    link_valid_for: str = "30d"
    # Reminders to a guardian who has not answered, counted from the request; then coordinators.
    remind_after: list[str] = field(default_factory=lambda: ["3d", "7d"])
    tell_coordinator_after: str = "10d"


@dataclass(frozen=True)
class MatchingSettings:
    # An operator's TOML file of extra career fields and synonyms (docs/matching.md).
    taxonomy_file: str = ""
    # A mentee writes here ("choisir@domain", and "choose@domain") to pick a mentor by email.
    choose_local_part: str = "choisir"
    choose_local_part_en: str = "choose"
    # True: a mentee's choice (and an accepted suggestion) waits for their coordinator.
    require_approval: bool = False
    choice_valid_for: str = "7d"


@dataclass(frozen=True)
class SafetySettings:
    # Mail to <report_local_part>@domain (and to report@domain) is a report; so is a message to
    # a partner's alias whose first word is SIGNALER or REPORT.
    report_local_part: str = "signaler"
    # A short bilingual "how to report" footer on forwards to minors.
    report_footer: bool = False
    # Lines given to a reporter in the acknowledgement (help lines: numbers are fine here).
    help_resources: list[str] = field(default_factory=lambda: [
        "Jeunesse, J'écoute / Kids Help Phone : 1-800-668-6868 (texto/text 686868)",
    ])


@dataclass(frozen=True)
class ProcessingSettings:
    """Where the rules and the rewrite run (relay/pool.py)."""

    # Worker processes that check busy batches on other cores; 0 = all in the serve process.
    workers: int = 1
    # A batch of at least this many messages (or holding one of 1 MiB or more) goes to them:
    # messages are waiting. A lone message is checked in the serve process, where the trip
    # (pickling, the pool's threads and pipes) would cost more CPU than it saves; 4 saved 6 %
    # of the CPU at half load but put 20 ms on the p99 (the checks hold serve's GIL).
    offload_from: int = 2
    # Woken after a step that was not a full batch, the processor waits this long for more
    # messages, so that they are checked and written together: at a moderate rate every message
    # otherwise pays its own transactions (bench/peers.py at 170 msg/s: 5.2-5.8 ms of CPU per
    # message at 0, 4.1-4.6 at 15).
    gather_ms: int = 15


@dataclass(frozen=True)
class Settings:
    gateway: GatewaySettings = field(default_factory=GatewaySettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    outbound: OutboundSettings = field(default_factory=OutboundSettings)
    web: WebSettings = field(default_factory=WebSettings)
    moderation: ModerationSettings = field(default_factory=ModerationSettings)
    imap: ImapSettings = field(default_factory=ImapSettings)
    reminders: RemindersSettings = field(default_factory=RemindersSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    privacy: PrivacySettings = field(default_factory=PrivacySettings)
    insights: InsightsSettings = field(default_factory=InsightsSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    missions: MissionsSettings = field(default_factory=MissionsSettings)
    logging: LoggingSettings = field(default_factory=LoggingSettings)
    authentication: AuthenticationSettings = field(default_factory=AuthenticationSettings)
    limits: LimitsSettings = field(default_factory=LimitsSettings)
    consent: ConsentSettings = field(default_factory=ConsentSettings)
    matching: MatchingSettings = field(default_factory=MatchingSettings)
    safety: SafetySettings = field(default_factory=SafetySettings)
    processing: ProcessingSettings = field(default_factory=ProcessingSettings)
    source: str = "<defaults>"

    def replace(self, **sections: Any) -> Settings:
        """A copy with some sections' keys changed, e.g. replace(smtp={"port": 0})."""
        changed = {
            name: dataclasses.replace(getattr(self, name), **values)
            for name, values in sections.items()
        }
        return dataclasses.replace(self, **changed)


SECTIONS: dict[str, type] = {
    f.name: f.type if isinstance(f.type, type) else get_type_hints(Settings)[f.name]
    for f in dataclasses.fields(Settings)
    if f.name != "source"
}
