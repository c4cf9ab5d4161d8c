"""relay.forward._render gives byte for byte the forward it gave before the speed-ups of issue 17
(recorded on main): shown names by role, the received time as a fallback Date, the footer for a
minor, auto-replies marked, per-pair values reused from one message to the next.

    .venv/bin/python -m tests.unit.relay.test_render_reference --record   # only on main
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from gateway.config import Settings
from gateway.relay.forward import PairPeople, _render
from gateway.store.models import Message, Pair, Participant
from tests.unit.mail.test_forward_reference import everyday

DIGESTS = Path(__file__).with_name("render_digests.json")


def _settings(shown: str, footer: bool, domain: str) -> Settings:
    settings = Settings()
    return replace(settings, privacy=replace(settings.privacy, mentee_name_shown=shown,
                                             personal_domains=["castorbleu.qc.ca"]),
                   safety=replace(settings.safety, report_footer=footer),
                   gateway=replace(settings.gateway, domain=domain, program_name="Mentorat"))


SETTINGS = [_settings("", True, "mentor.example.org"), _settings("full", False, "gw.example")]
WHEN = [datetime(2026, 11, 30, 15, 4, 5), datetime(2026, 12, 1, 23, 59, 59, 999, tzinfo=UTC),
        datetime(2027, 2, 28, 1, 2, 3, tzinfo=timezone(timedelta(hours=-5)))]


def _people(minor: bool) -> PairPeople:
    mentor = Participant(id=1, email="marc.andre@castorbleu.qc.ca",
                         display_name="Marc-André Lévesque", role="mentor")
    mentee = Participant(id=2, email="lea.t2011@courriel.example", display_name="Léa Tremblay",
                         role="mentee", minor=minor)
    return PairPeople(pair=Pair(id=7), sender=mentor, recipient=mentee,
                      sender_alias="m7k3q9x2abcd4e5f@mentor.example.org",
                      recipient_alias="q4z8t2w6yhbc3n5d@mentor.example.org")


def cases() -> dict[str, str]:
    found: dict[str, str] = {}
    for n in range(48):
        settings = SETTINGS[n % 2]
        minor, auto_reply = bool(n // 2 % 2), bool(n // 4 % 2)
        raw = everyday(n // 8 * 8 + n % 8 // 2)
        message = Message(id=n, pair_id=7, sender_id=1, recipient_id=2, raw=raw,
                          received_at=WHEN[n % 3], auto_reply=auto_reply)
        data, withheld = _render(settings, message, _people(minor), raw, f"<gw-{n}@x.example>",
                                 ((f"<r{n}@x.example>",), ("<a@x.example>", f"<r{n}@x.example>")),
                                 auto_reply)
        found[str(n)] = hashlib.sha256(data + repr(withheld).encode()).hexdigest()
    return found


def test_render_is_unchanged() -> None:
    assert cases() == json.loads(DIGESTS.read_text())


if __name__ == "__main__" and sys.argv[1:] == ["--record"]:
    DIGESTS.write_text(json.dumps(cases(), indent=0, sort_keys=True) + "\n")


class _NoQueries:
    """A session for messages without thread ids: thread_ids may ask for a connection, never
    run a statement on it."""

    def connection(self) -> _NoQueries:
        return self

    def execute(self, *_args: object) -> None:
        raise AssertionError("no query expected")

    def flush(self) -> None:
        raise AssertionError("no flush expected")


def test_a_message_without_thread_ids_asks_the_database_nothing() -> None:
    from gateway.mail.parse import parse
    from gateway.relay import forward
    from tests.unit.mail.test_fast_paths import FILES

    people = _people(False)
    skipped = 0
    for path in FILES:
        raw = path.read_bytes()
        parsed = parse(raw)
        if forward.thread_refs(parsed) != ((), ()):
            continue  # ids to translate: the database is asked, as before
        message = Message(id=1, pair_id=7, sender_id=1, recipient_id=2, raw=raw,
                          received_at=WHEN[0])
        assert forward.thread_refs_of(raw) == ((), ())
        prepared = forward.prepare_forward(_NoQueries(), SETTINGS[0], message,  # type: ignore[arg-type]
                                           people, parsed, auto_reply=False)
        assert prepared.thread == ((), ())
        skipped += 1
    assert skipped > 50
