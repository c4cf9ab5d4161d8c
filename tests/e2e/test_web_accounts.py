"""Staff accounts end to end: the `mentor-gateway` command creates organizations, participants and
staff (argon2 password from stdin) in the database the running gateway uses; a forgotten password
is reset by a one-time link mailed through the recording smarthost. SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import select

from gateway.clock import MovableClock
from gateway.program.password_reset import issue_reset
from gateway.program.staff import add_staff, staff_by_email
from gateway.store.models import Organization, Participant
from gateway.web.server import start_web
from tests.conftest import ROOT, make_settings
from tests.e2e.harness import Harness
from tests.e2e.test_web_doors import free_port
from tests.e2e.test_web_http import Site, csrf_of, login, stop_site

pytestmark = pytest.mark.e2e
MODERATOR = "mod@program.example.org"
FIRST_PASSWORD = "un mot de passe solide"
NEW_PASSWORD = "another long passphrase"


@pytest.fixture
async def site(db_url: str, tmp_path: Path, clock: MovableClock, smarthost: Any,
               empty_rules: Path) -> AsyncIterator[Site]:
    """A running gateway and web page over an empty program: the command line fills it."""
    catch_up(clock)
    port = free_port()
    settings = make_settings(db_url, tmp_path, rules_dir=empty_rules,
                             web={"public_url": f"http://127.0.0.1:{port}"})
    harness = Harness(settings, clock, smarthost.port)
    await harness.start()
    web = await start_web(harness.app, host="127.0.0.1", port=port)
    running = Site(harness, web)
    try:
        yield running
    finally:
        await stop_site(running)


def catch_up(clock: MovableClock) -> None:
    """The command runs on the system clock: bring the gateway's clock to the same moment, so what
    the command queued is due for the gateway's workers."""
    clock.advance(max(timedelta(0), datetime.now(UTC) - clock.now()))


def cli(site: Site, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """The real command, in its own process, configured through GATEWAY_* variables."""
    settings = site.harness.settings
    env = dict(os.environ, GATEWAY_CONFIG=str(ROOT / "no-such-config.toml"),
               GATEWAY_DATABASE_URL=settings.database.url,
               GATEWAY_GATEWAY_DOMAIN=settings.gateway.domain,
               GATEWAY_GATEWAY_TEMPLATES_DIR=settings.gateway.templates_dir)
    return subprocess.run([sys.executable, "-m", "gateway", *args], input=stdin, env=env,
                          capture_output=True, text=True, timeout=60, cwd=ROOT)


async def run_cli(site: Site, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(cli, site, *args, stdin=stdin)


async def test_command_line_creates_organizations_participants_and_staff(site: Site) -> None:
    done = await run_cli(site, "org", "add", "École A")
    assert done.returncode == 0 and "École A" in done.stdout, done.stderr
    done = await run_cli(site, "participant", "add", "--email", "Jeune@Eleves.Example.NET", "--name",
                         "Léa", "--role", "mentee", "--minor", "--org", "École A", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["email"] == "jeune@eleves.example.net"
    unknown = await run_cli(site, "participant", "add", "--email", "autre@example.net", "--name",
                            "Autre", "--role", "mentor", "--org", "Nulle part")
    assert unknown.returncode == 2 and "Nulle part" in unknown.stderr
    lonely = await run_cli(site, "staff", "add", "coord@program.example.org", "--name", "Coord",
                           "--role", "coordinator")
    assert lonely.returncode == 2 and "--org" in lonely.stderr
    done = await run_cli(site, "staff", "add", MODERATOR, "--name", "Modératrice", "--role",
                         "moderator", "--org", "École A", "--password-stdin",
                         stdin=FIRST_PASSWORD + "\n")
    assert done.returncode == 0, done.stderr

    def stored(session: Any) -> tuple[Any, ...]:
        org = session.exec(select(Organization).where(Organization.name == "École A")).one()
        people = session.exec(select(Participant)).all()
        staff = staff_by_email(session, MODERATOR)
        return org.id, [(p.email, p.org_id) for p in people], staff.org_id, staff.password_hash

    org_id, people, staff_org, password_hash = await site.harness.db.read(stored)
    assert people == [("jeune@eleves.example.net", org_id)]  # the refused one left nothing
    assert staff_org == org_id
    assert password_hash.startswith("$argon2id$") and FIRST_PASSWORD not in password_hash
    async with httpx.AsyncClient(base_url=site.base) as client:
        assert (await login(client, MODERATOR, "not the password")).status_code == 401
        assert (await login(client, MODERATOR, FIRST_PASSWORD)).status_code == 303


def reset_link_in(data: bytes) -> str:
    msg = message_from_bytes(data, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    part = msg.get_body(("plain",))
    assert part is not None
    found = re.search(r"http://127\.0\.0\.1:\d+/reset/\S+", str(part.get_content()))
    assert found, "the mail carries the link"
    return found.group(0)


async def choose_password(client: httpx.AsyncClient, link: str, password: str) -> httpx.Response:
    assert (await client.get(link)).status_code in (200, 404)
    page = await client.get("/login")  # any page carries the session's CSRF token
    return await client.post(link, data={"csrf": csrf_of(page.text), "password": password})


async def test_a_mailed_reset_link_sets_a_password_once(site: Site, smarthost: Any) -> None:
    assert (await run_cli(site, "org", "add", "École A")).returncode == 0
    done = await run_cli(site, "staff", "add", MODERATOR, "--name", "Modératrice", "--role",
                         "moderator")
    assert done.returncode == 0 and "reset-password" in done.stdout
    done = await run_cli(site, "staff", "reset-password", MODERATOR, "--base-url", site.base)
    assert done.returncode == 0, done.stderr
    catch_up(site.harness.clock)
    await site.harness.pump()  # the running gateway delivers what the command queued
    mails = [m for m in smarthost.messages if list(m.rcpt_tos) == [MODERATOR]]
    assert len(mails) == 1
    subject = str(message_from_bytes(mails[0].data, policy=policy.default)["Subject"])
    assert subject.startswith("Réinitialiser votre mot de passe")  # the account's language
    link = reset_link_in(mails[0].data)

    async with httpx.AsyncClient(base_url=site.base) as client:
        assert (await login(client, MODERATOR, NEW_PASSWORD)).status_code == 401  # none yet
        short = await choose_password(client, link, "court")
        assert short.status_code == 400
        chosen = await choose_password(client, link, NEW_PASSWORD)
        assert (chosen.status_code, chosen.headers["location"]) == (303, "/login")
        assert (await login(client, MODERATOR, NEW_PASSWORD)).status_code == 303
    async with httpx.AsyncClient(base_url=site.base) as client:
        assert (await client.get(link)).status_code == 404  # the link worked once
        page = await client.get("/login")
        again = await client.post(link, data={"csrf": csrf_of(page.text),
                                              "password": "a third long passphrase"})
        assert again.status_code == 404
        assert (await login(client, MODERATOR, "a third long passphrase")).status_code == 401
        assert (await login(client, MODERATOR, NEW_PASSWORD)).status_code == 303


async def test_reset_links_expire_and_cannot_be_forged(site: Site, smarthost: Any) -> None:
    assert (await run_cli(site, "staff", "add", MODERATOR, "--name", "M", "--role", "moderator",
                          "--lang", "en")).returncode == 0
    harness = site.harness
    await harness.db.write(lambda s: issue_reset(s, harness.settings, MODERATOR,
                                                 now=harness.clock.now(), base_url=site.base))
    await harness.pump()
    mails = [m for m in smarthost.messages if list(m.rcpt_tos) == [MODERATOR]]
    assert len(mails) == 1
    subject = str(message_from_bytes(mails[0].data, policy=policy.default)["Subject"])
    assert subject.startswith("Reset your password")
    link = reset_link_in(mails[0].data)
    token = link.rsplit("/", 1)[1]
    async with httpx.AsyncClient(base_url=site.base) as client:
        assert (await client.get(link)).status_code == 200
        forged = token[:-1] + ("0" if token[-1] != "0" else "1")
        assert (await client.get(f"/reset/{forged}")).status_code == 404
        harness.clock.advance(timedelta(hours=2, minutes=1))
        assert (await client.get(link)).status_code == 404
        assert (await choose_password(client, f"/reset/{token}", NEW_PASSWORD)).status_code == 404
        assert (await login(client, MODERATOR, NEW_PASSWORD)).status_code == 401


async def test_a_password_reset_signs_out_whoever_used_the_old_password(
        site: Site, smarthost: Any) -> None:
    harness = site.harness
    now = harness.clock.now()
    await harness.db.write(lambda s: add_staff(s, email=MODERATOR, name="M", role="moderator",
                                               now=now, password=FIRST_PASSWORD))
    async with httpx.AsyncClient(base_url=site.base) as intruder, \
            httpx.AsyncClient(base_url=site.base) as owner:
        assert (await login(intruder, MODERATOR, FIRST_PASSWORD)).status_code == 303
        assert (await intruder.get("/queue")).status_code == 200
        page = await owner.get("/forgot")
        await owner.post("/forgot", data={"csrf": csrf_of(page.text), "email": MODERATOR})
        await harness.pump()
        [mail] = [m for m in smarthost.messages if list(m.rcpt_tos) == [MODERATOR]]
        assert (await choose_password(owner, reset_link_in(mail.data), NEW_PASSWORD)).status_code == 303

        refused = await intruder.get("/queue")
        assert (refused.status_code, refused.headers["location"]) == (303, "/login")
        assert (await login(intruder, MODERATOR, FIRST_PASSWORD)).status_code == 401
        assert (await login(owner, MODERATOR, NEW_PASSWORD)).status_code == 303
        assert (await owner.get("/queue")).status_code == 200


async def test_forgot_password_page_mails_a_link_without_telling_who_exists(
        site: Site, smarthost: Any) -> None:
    harness = site.harness
    now = harness.clock.now()
    await harness.db.write(lambda s: add_staff(s, email=MODERATOR, name="M", role="moderator",
                                               now=now, lang="en", password=FIRST_PASSWORD))
    async with httpx.AsyncClient(base_url=site.base) as client:
        login_page = await client.get("/login")
        assert 'href="/forgot"' in login_page.text
        form = await client.get("/forgot")
        token = csrf_of(form.text)
        assert (await client.post("/forgot", data={"email": MODERATOR})).status_code == 403
        known = await client.post("/forgot", data={"csrf": token, "email": MODERATOR})
        unknown = await client.post("/forgot", data={"csrf": token, "email": "nobody@example.org"})
        assert known.status_code == unknown.status_code == 200
        assert known.text.replace(MODERATOR, "") == unknown.text.replace("nobody@example.org", "")
        await harness.pump()
        mails = [m for m in smarthost.messages if list(m.rcpt_tos) == [MODERATOR]]
        assert len(mails) == 1 and len(smarthost.messages) == 1  # nothing to the unknown address
        link = reset_link_in(mails[0].data)
        assert link.startswith(site.base)
        assert (await choose_password(client, link, NEW_PASSWORD)).status_code == 303
        assert (await login(client, MODERATOR, NEW_PASSWORD)).status_code == 303

        for _ in range(5):  # asking again and again: at most 3 mails an hour per address
            await client.post("/forgot", data={"csrf": csrf_of((await client.get("/forgot")).text),
                                               "email": MODERATOR})
        await harness.pump()
        assert len([m for m in smarthost.messages if list(m.rcpt_tos) == [MODERATOR]]) == 3
