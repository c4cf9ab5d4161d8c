"""A real Dovecot IMAP server for tests: unprivileged, on free ports of 127.0.0.1, in a temp folder."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aioimaplib
import pytest

DOVECOT = "/usr/sbin/dovecot"
USER = "gateway@school.test"
PASSWORD = "s3cret pass"


def require_dovecot() -> None:
    """Skip when Dovecot is not installed, fail instead when GATEWAY_TEST_REQUIRE_ALL=1."""
    if Path(DOVECOT).exists():
        return
    if os.environ.get("GATEWAY_TEST_REQUIRE_ALL") == "1":
        pytest.fail("required component missing: dovecot-imapd not installed")
    pytest.skip("dovecot-imapd not installed")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Dovecot:
    """Start, stop and restart one Dovecot; `imap_port` speaks IMAP (+STARTTLS), `imaps_port` TLS.

    `capabilities` replaces what Dovecot advertises after login (e.g. without MOVE or IDLE) to
    exercise a client's fallbacks.
    """

    def __init__(self, capabilities: str | None = None) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="gateway-dovecot-"))
        # Dovecot's unprivileged processes must traverse this folder.
        self.root.chmod(0o755)
        self.imap_port = free_port()
        self.imaps_port = free_port()
        self.user, self.password = USER, PASSWORD
        self.capabilities = capabilities
        self.cert_path = self.root / "cert.pem"
        self._process: subprocess.Popen[bytes] | None = None
        self._write_files()

    @property
    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def start(self) -> None:
        if self._process is not None:
            return
        self._process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(self.root / "dovecot.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                error = self._process.stderr.read().decode() if self._process.stderr else ""
                self._process = None
                raise RuntimeError(f"dovecot exited: {error}\n{self.log}")
            if _accepts(self.imap_port) and _accepts(self.imaps_port):
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"dovecot did not listen within 15 s\n{self.log}")

    def stop(self) -> None:
        """Stop the master and every process it started, so open IMAP connections drop now."""
        process, self._process = self._process, None
        if process is None:
            return
        children = _descendants(process.pid)
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr:
            process.stderr.close()
        _wait_gone(children)
        deadline = time.monotonic() + 10
        while _accepts(self.imap_port) and time.monotonic() < deadline:
            time.sleep(0.05)

    def restart(self) -> None:
        self.stop()
        self.start()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    async def client(self) -> aioimaplib.IMAP4:
        """A second, independent logged-in client (to APPEND, inspect or disturb the mailbox)."""
        client = aioimaplib.IMAP4(host="127.0.0.1", port=self.imap_port, timeout=10)
        await client.wait_hello_from_server()
        response = await client.login(self.user, self.password)
        assert response.result == "OK", response
        return client

    def _write_files(self) -> None:
        internal_user, login_user, mail_user = _accounts()
        mail = self.root / "mail"
        mail.mkdir()
        uid, gid = pwd.getpwnam(mail_user).pw_uid, pwd.getpwnam(mail_user).pw_gid
        if os.geteuid() == 0:
            os.chown(mail, uid, gid)
        (self.root / "passwd").write_text(f"{self.user}:{{PLAIN}}{self.password}\n")
        _make_certificate(self.root)
        capability_line = (
            f"imap_capability = {self.capabilities}\n" if self.capabilities is not None else ""
        )
        (self.root / "dovecot.conf").write_text(
            _CONFIG.format(
                root=self.root,
                imap_port=self.imap_port,
                imaps_port=self.imaps_port,
                internal_user=internal_user,
                login_user=login_user,
                uid=uid,
                gid=gid,
                capability_line=capability_line,
            )
        )


_CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = yes
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal_user}
default_login_user = {login_user}
mail_location = maildir:{root}/mail/%u
first_valid_uid = 0
first_valid_gid = 0
# Tests log in with a wrong password on purpose; do not make them wait.
auth_failure_delay = 0
{capability_line}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  chroot =
}}
"""


def _accounts() -> tuple[str, str, str]:
    """(internal user, login user, mail owner): ordinary users, never root."""
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.geteuid()).pw_name
        return me, me, me
    login_user = "dovenull" if _user_exists("dovenull") else "nobody"
    return "nobody", login_user, "nobody"


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _make_certificate(root: Path) -> None:
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout", str(root / "key.pem"), "-out", str(root / "cert.pem"),
        ],
        check=True,
        capture_output=True,
    )


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    pending = [pid]
    while pending:
        parent = pending.pop()
        for task in _tasks(parent):
            children_file = task / "children"
            with contextlib.suppress(OSError):
                children = [int(child) for child in children_file.read_text().split()]
                found.extend(children)
                pending.extend(children)
    return found


def _tasks(pid: int) -> list[Path]:
    """The process's threads; none if it exited meanwhile (its /proc entry vanished)."""
    try:
        return list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return []


def _wait_gone(pids: list[int], grace: float = 2.0) -> None:
    """End what the master left behind (its imap processes outlive it): TERM, then KILL."""
    for signum in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            if _alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signum)
        deadline = time.monotonic() + grace
        while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.02)


def _alive(pid: int) -> bool:
    """True while the process runs; a zombie (exited, not yet reaped) counts as gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


async def append_all(client: aioimaplib.IMAP4, messages: list[bytes], mailbox: str = "INBOX") -> None:
    """APPEND each message (CRLF line ends) to the mailbox."""
    for raw in messages:
        response = await client.append(raw, mailbox=mailbox)
        assert response.result == "OK", response


async def uids(client: aioimaplib.IMAP4, mailbox: str, *criteria: str) -> list[int]:
    """UIDs in the mailbox matching the criteria (all by default)."""
    assert (await client.select(f'"{mailbox}"')).result == "OK"
    response = await client.uid_search(*(criteria or ("ALL",)), charset=None)
    return [int(t) for line in response.lines[:-1] for t in bytes(line).split() if t.isdigit()]


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    """A running Dovecot, always stopped and removed afterwards."""
    require_dovecot()
    server = Dovecot()
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


@pytest.fixture
async def imap_client(dovecot: Dovecot) -> AsyncIterator[aioimaplib.IMAP4]:
    client = await dovecot.client()
    try:
        yield client
    finally:
        with contextlib.suppress(Exception):
            await client.logout()


async def deliver_together(client: aioimaplib.IMAP4, messages: list[bytes],
                           mailbox: str = "INBOX") -> None:
    """Make all messages appear in the mailbox at once (APPEND aside, then one MOVE).

    Tests that stop Dovecot after the gateway handled some messages use this, so the stop
    cannot land in the middle of the test's own APPENDs.
    """
    staging = "Staging"
    assert (await client.create(f'"{staging}"')).result == "OK"
    await append_all(client, messages, mailbox=staging)
    assert (await client.select(f'"{staging}"')).result == "OK"
    assert (await client.move("1:*", f'"{mailbox}"')).result == "OK"
    assert (await client.close()).result == "OK"


async def rebuild_mailbox(client: aioimaplib.IMAP4, mailbox: str, messages: list[bytes]) -> None:
    """Replace the mailbox by a new one (new UIDVALIDITY, UIDs from 1) holding `messages`.

    Built aside and renamed into place, as a provider's restore would: deleting and re-creating
    a maildir that another session has selected races inside Dovecot (it may answer SERVERBUG
    or hand out UIDs from the old list), which is not what these tests are about.
    """
    rebuilt = f"{mailbox}.rebuilt"
    assert (await client.create(f'"{rebuilt}"')).result == "OK"
    await append_all(client, messages, mailbox=rebuilt)
    assert await uids(client, rebuilt) == list(range(1, len(messages) + 1))
    assert (await client.close()).result == "OK"
    assert (await client.delete(f'"{mailbox}"')).result == "OK"
    assert (await client.rename(f'"{rebuilt}"', f'"{mailbox}"')).result == "OK"
