"""The moderation CLI as an operator runs it: a subprocess on the same database as a real gateway."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.clock import MovableClock
from tests.conftest import ROOT, make_settings
from tests.e2e.harness import Harness, PairInfo
from tests.e2e.moderation_helpers import (
    PHONE,
    REMOVED,
    SHIPPED,
    decisions,
    mail,
    messages,
    received_by,
    rules_copy,
    text_body,
)

PYTHON = ROOT / ".venv" / "bin" / "python"
MOD = "mod@program.example.org"


def write_config(path: Path, *, db_url: str, rules_dir: Path, smtp_port: int = 2525) -> Path:
    """The operator's config.toml, matching the test gateway's settings (same database, domain)."""
    path.write_text(f"""[gateway]
domain = "mentor.test"
program_name = "Academos Test"
rules_dir = "{rules_dir}"
templates_dir = "{ROOT / 'templates'}"
instance_name = "cli-test"

[database]
url = "{db_url}"

[smtp]
host = "127.0.0.1"
port = {smtp_port}

[outbound]
mode = "maildir"
maildir = "{path.parent / 'cli-outbox'}"

[web]
enabled = false
""", encoding="utf-8")
    return path


def run_cli(config: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    return subprocess.run([str(PYTHON), "-m", "gateway", "-c", str(config), *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=timeout, check=False)


def refused_in_one_line(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for word in words:
        assert word in lines[0], lines[0]


@dataclass
class Live:
    h: Harness
    config: Path
    smarthost: Any

    async def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return await asyncio.to_thread(run_cli, self.config, *args)

    async def held_phone_message(self, *, mentee_lang: str = "fr") -> tuple[PairInfo, int]:
        """A pair whose mentee wrote a phone number; the message waits in the queue."""
        pair = await self.h.make_pair(mentee_lang=mentee_lang)
        await self.h.pump()
        body = f"Bonjour ! Mon numéro est {PHONE}, appelle-moi.\n"
        sent = await self.h.send(pair.mentee_email, [pair.mentor_alias],
                                 mail(pair.mentee_email, pair.mentor_alias, body, subject="Salut"))
        assert sent.code == 250
        await self.h.pump()
        self.smarthost.clear()
        stored = [m for m in await messages(self.h) if m.state == "held"]
        return pair, stored[-1].id

    async def deliver(self) -> None:
        """What the running gateway does after a CLI decision (the CLI's clock is the real one)."""
        self.h.clock.advance(timedelta(minutes=1))
        await self.h.pump()


@pytest.fixture
async def live(db_url: str, tmp_path: Path, smarthost: Any) -> AsyncIterator[Live]:
    clock = MovableClock(datetime.now(UTC))
    harness = Harness(make_settings(db_url, tmp_path), clock, smarthost.port)
    await harness.start()
    try:
        yield Live(harness, write_config(tmp_path / "config.toml", db_url=db_url, rules_dir=SHIPPED),
                   smarthost)
    finally:
        await harness.stop()


async def test_moderator_add_list_show_and_approve_with_a_note(live: Live) -> None:
    added = await live.cli("moderator", "add", MOD, "--name", "Modératrice Julie", "--lang", "en")
    assert added.returncode == 0 and MOD in added.stdout
    refused_in_one_line(await live.cli("moderator", "add", MOD, "--name", "Again"), MOD)

    pair, mid = await live.held_phone_message()
    await live.h.send(pair.mentee_email, [pair.mentor_alias],
                      mail(pair.mentee_email, pair.mentor_alias, f"{PHONE} !"))
    await live.h.pump()
    assert len(received_by(live.smarthost, MOD)) == 1  # the registered moderator is told
    live.smarthost.clear()

    listed = await live.cli("queue", "list", "--json")
    assert listed.returncode == 0
    items = json.loads(listed.stdout)
    assert [i["id"] for i in items] == [mid, mid + 1]
    first = items[0]
    assert {"id", "pair_id", "direction", "received_at", "reasons"} <= first.keys()
    assert (first["pair_id"], first["direction"]) == (pair.id, "mentee_to_mentor")
    # every rule that hit is a reason (the number also reads as a contact request)
    assert {"contact_details", "first_message"} <= set(first["reasons"])
    assert datetime.fromisoformat(first["received_at"]) <= datetime.now(UTC)

    table = (await live.cli("queue", "list")).stdout.splitlines()
    assert table[0].split() == ["ID", "PAIR", "RECEIVED", "DIRECTION", "REASONS", "SUBJECT"]
    assert table[1].split()[:2] == [str(mid), str(pair.id)] and len(table) == 3

    shown = await live.cli("queue", "show", str(mid))
    assert shown.returncode == 0
    for expected in (f"pair {pair.id}", "mentee -> mentor", "contact_details", f">>>{PHONE}<<<",
                     "appelle-moi", "h ago"):
        assert expected in shown.stdout, expected
    assert ">>>>>>" not in shown.stdout and shown.stdout.count(f"'{PHONE}'") == 1  # listed once
    [first_line] = [line for line in shown.stdout.splitlines() if "first_message" in line]
    assert first_line.strip().endswith(".") and "''" not in first_line  # a sentence, not ''

    approved = await live.cli("queue", "approve", str(mid), "--note", "numéro de l'école")
    assert approved.returncode == 0, approved.stderr
    await live.deliver()
    [delivered] = received_by(live.smarthost, pair.mentor_email)
    assert PHONE in text_body(delivered.as_bytes())
    assert "eleves.example.net" not in live.smarthost.messages[0].data.decode(errors="replace")
    [(actor, to_state, _, detail)] = await decisions(live.h, mid)
    assert (actor, to_state) == ("cli", "queued") and "numéro de l'école" in (detail or "")

    refused_in_one_line(await live.cli("queue", "approve", str(mid)), str(mid), "not held")
    refused_in_one_line(await live.cli("queue", "reject", str(mid), "--reason", "non"), "not held")
    await live.deliver()
    assert len(received_by(live.smarthost, pair.mentor_email)) == 1
    remaining = json.loads((await live.cli("queue", "list", "--json")).stdout)
    assert [i["id"] for i in remaining] == [mid + 1]


async def test_approve_with_redact_removes_the_evidence(live: Live) -> None:
    pair, mid = await live.held_phone_message()
    result = await live.cli("queue", "approve", str(mid), "--redact")
    assert result.returncode == 0, result.stderr
    await live.deliver()
    [delivered] = received_by(live.smarthost, pair.mentor_email)
    text = text_body(delivered.as_bytes())
    assert REMOVED in text and PHONE not in text and "appelle-moi" in text


@pytest.mark.parametrize(("lang", "words"), [("fr", "n'a pas été transmis"), ("en", "was not delivered")])
async def test_reject_with_a_reason_tells_the_sender(live: Live, lang: str, words: str) -> None:
    pair, mid = await live.held_phone_message(mentee_lang=lang)
    refused_in_one_line(await live.cli("queue", "reject", str(mid), "--reason", "   "), "reason")
    reason = "Garde tes coordonnées pour toi." if lang == "fr" else "Keep your contact details private."
    result = await live.cli("queue", "reject", str(mid), "--reason", reason)
    assert result.returncode == 0, result.stderr
    await live.deliver()
    assert received_by(live.smarthost, pair.mentor_email) == []
    [notice] = received_by(live.smarthost, pair.mentee_email)
    assert words in str(notice["Subject"]) and reason in text_body(notice.as_bytes())
    assert notice["Auto-Submitted"] in ("auto-replied", "auto-generated")
    refused_in_one_line(await live.cli("queue", "approve", str(mid)), "not held")


async def test_queue_show_highlights_evidence_found_in_the_html_copy(live: Live) -> None:
    pair = await live.h.make_pair()
    html = f"<p>Bonjour ! Appelle-moi au <b>{PHONE}</b>.</p>"
    data = mail(pair.mentee_email, pair.mentor_alias, "Bonjour !\n", html=html)
    assert (await live.h.send(pair.mentee_email, [pair.mentor_alias], data)).code == 250
    await live.h.pump()
    [stored] = await messages(live.h)
    shown = await live.cli("queue", "show", str(stored.id))
    assert shown.returncode == 0 and f">>>{PHONE}<<<" in shown.stdout, shown.stdout


async def test_unknown_message_is_refused_in_one_line(live: Live) -> None:
    for action in (("show", "4242"), ("approve", "4242"), ("reject", "4242", "--reason", "x")):
        refused_in_one_line(await live.cli("queue", *action), "4242")


# ---- rules: no database needed beyond the config file -------------------------------------------


@pytest.fixture
def rules_config(tmp_path: Path) -> Path:
    return write_config(tmp_path / "config.toml", db_url=f"sqlite:///{tmp_path / 'g.db'}",
                        rules_dir=SHIPPED)


def eml(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_bytes(mail("someone@example.com", "alias@mentor.test", body))
    return path


def test_rules_check_accepts_the_shipped_rules(rules_config: Path) -> None:
    result = run_cli(rules_config, "rules", "check")
    assert result.returncode == 0 and "valid" in result.stdout, result.stderr


RULE_HEAD = 'description = "x"\naction = "hold"\nreason_fr = "x"\nreason_en = "x"\n'
BROKEN = {
    "unknown-key": (RULE_HEAD + 'colour = "red"\n[match]\nkind = "size"\nmax_bytes = 10\n', "colour", 5),
    "bad-regex": (RULE_HEAD + '[match]\nkind = "regex"\npattern = "(unclosed"\n', "match.pattern", 7),
    "missing-list": (RULE_HEAD + '\n[match]\nkind = "words"\nlists = ["nope"]\n', "match.lists", 8),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_rules_check_names_file_key_and_line(tmp_path: Path, case: str) -> None:
    text, key, line = BROKEN[case]
    folder = rules_copy(tmp_path / "rules", extra={"broken.toml": text})
    config = write_config(tmp_path / "config.toml", db_url=f"sqlite:///{tmp_path / 'g.db'}",
                          rules_dir=folder)
    result = run_cli(config, "rules", "check")
    assert result.returncode == 2
    assert f"{folder / 'broken.toml'}: key '{key}' (line {line})" in result.stderr, result.stderr


def rules_test(config: Path, path: Path, *flags: str) -> dict[str, Any]:
    result = run_cli(config, "rules", "test", str(path), "--json", *flags)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.strip().splitlines()) == 1  # exactly one JSON object
    decision: dict[str, Any] = json.loads(result.stdout)
    assert set(decision) == {"verdict", "severity", "hits"}
    for hit in decision["hits"]:
        assert {"rule", "action", "severity", "evidence"} <= hit.keys()
    return decision


def test_rules_test_json_for_a_phone_number_and_a_clean_mail(rules_config: Path, tmp_path: Path) -> None:
    phone = rules_test(rules_config, eml(tmp_path, "phone.eml", f"Mon numéro : {PHONE}\n"))
    assert (phone["verdict"], phone["severity"]) == ("hold", "medium")
    assert ("contact_details", "hold", PHONE) in [(h["rule"], h["action"], h["evidence"])
                                                 for h in phone["hits"]]
    clean = eml(tmp_path, "clean.eml", "Bonjour ! Le stage commence le 12/03/2025 à 9 h, 25 $.\n")
    assert rules_test(rules_config, clean) == {"verdict": "pass", "severity": "", "hits": []}
    first = rules_test(rules_config, clean, "--first")
    assert [(h["rule"], h["action"]) for h in first["hits"]] == [("first_message", "hold")]


SCOPED = {
    "minors_party.toml": ('description = "Parties, only where a minor is involved"\naction = "hold"\n'
                          'when_minor = true\nreason_fr = "x"\nreason_en = "x"\n'
                          '[match]\nkind = "words"\nwords = ["soirée"]\n'),
    "mentor_money.toml": ('description = "Money, from a mentor"\naction = "flag"\n'
                          'direction = "mentor_to_mentee"\nreason_fr = "x"\nreason_en = "x"\n'
                          '[match]\nkind = "words"\nwords = ["argent"]\n'),
}


@pytest.mark.parametrize(("flags", "verdict", "rules"), [
    ((), "pass", []),
    (("--minor",), "hold", ["minors_party"]),
    (("--from", "mentor"), "flag", ["mentor_money"]),
    (("--from", "mentor", "--minor"), "hold", ["mentor_money", "minors_party"]),
])
def test_rules_test_scope_by_sender_and_minor(tmp_path: Path, flags: tuple[str, ...], verdict: str,
                                              rules: list[str]) -> None:
    folder = rules_copy(tmp_path / "rules", extra=SCOPED)
    config = write_config(tmp_path / "config.toml", db_url=f"sqlite:///{tmp_path / 'g.db'}",
                          rules_dir=folder)
    path = eml(tmp_path, "m.eml", "On parle d'argent à la soirée de vendredi ?\n")
    decision = rules_test(config, path, *flags)  # default sender: the mentee
    assert decision["verdict"] == verdict
    assert sorted(h["rule"] for h in decision["hits"]) == rules


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_refuses_to_start_on_an_invalid_rule(tmp_path: Path) -> None:
    text, key, line = BROKEN["bad-regex"]
    folder = rules_copy(tmp_path / "rules", extra={"broken.toml": text})
    config = write_config(tmp_path / "config.toml", db_url=f"sqlite:///{tmp_path / 'g.db'}",
                          rules_dir=folder, smtp_port=free_port())
    # A serve that got past the rules would run until signalled: the timeout would fire.
    result = run_cli(config, "serve", timeout=30)
    assert result.returncode == 2
    assert f"{folder / 'broken.toml'}: key '{key}' (line {line})" in result.stderr
    assert "listening" not in result.stderr
