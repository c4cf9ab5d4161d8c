"""The gateway side of IMAP ingress: route and store each mailbox message as SMTP would; keep the cursor."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Mapping

from sqlmodel import Session, col, select

from gateway.clock import Clock
from gateway.ingress.accept import read_headers, special_handler, store_routes
from gateway.ingress.doors import Doors
from gateway.ingress.ports import AcceptOutcome, AcceptStatus, SpecialHandler
from gateway.ingress.routing import Refusal, Route, is_local, resolve_route
from gateway.ingress.writer import IngestWriter
from gateway.mail.alias import normalize_address
from gateway.mail.parse import normalize_line_endings
from gateway.store.audit import record
from gateway.store.db import Database
from gateway.store.models import ImapCursor

log = logging.getLogger("gateway.imap")

ACCOUNT_MAX = 320  # ImapCursor.account


class GatewayImapSink:
    """The IngestSink the poller hands messages to: same routing, From check and writer as SMTP.

    Every message at the gateway's domain that the sender may write to is stored (as SMTP stores
    every accepted RCPT); the writer's 24 h dedup turns a message handed over again (the poller
    died after storing, before moving) into "duplicate". What is refused is recorded in the
    audit trail, since no SMTP client is there to receive a bounce.
    """

    def __init__(
        self,
        db: Database,
        writer: IngestWriter,
        clock: Clock,
        *,
        domain: str,
        max_message_bytes: int,
        special: Mapping[str, SpecialHandler] | None = None,
        doors: Doors | None = None,
    ) -> None:
        self._doors = doors
        self._db = db
        self._writer = writer
        self._clock = clock
        self._domain = domain
        self._max = max_message_bytes
        self._special = special or {}

    async def accept_imap(
        self, raw: bytes, *, envelope_from: str, recipients: list[str]
    ) -> AcceptOutcome:
        try:
            return await self._accept(normalize_line_endings(raw), envelope_from, recipients)
        except asyncio.CancelledError:
            raise
        except Exception:  # database trouble: leave the message in the mailbox for the next pass
            log.exception("could not accept an IMAP message; it stays in the mailbox for a retry")
            return AcceptOutcome("tempfail", "internal error")

    async def _accept(self, raw: bytes, envelope_from: str, recipients: list[str]) -> AcceptOutcome:
        local = [normalize_address(r) for r in recipients if is_local(r, self._domain)]
        if len(raw) > self._max:
            return await self._refuse("rejected", "message too big", raw, envelope_from, recipients)
        if self._doors is not None and (too_big := self._doors.header_refusal(raw)):
            return await self._refuse("rejected", too_big, raw, envelope_from, recipients)
        if not local:
            return await self._refuse("unroutable", f"no recipient at @{self._domain}", raw,
                                      envelope_from, recipients)
        handler = self._special_local(local[0])
        if handler is not None:
            reply = await handler(envelope_from, local[0], raw)
            return await self._special_outcome(reply, raw, envelope_from, recipients)
        candidates = [r for r in local if self._special_local(r) is None]
        results = await self._db.read(lambda s: [
            resolve_route(s, domain=self._domain, rcpt=rcpt, envelope_from=envelope_from)
            for rcpt in candidates
        ])
        routes = [r for r in results if isinstance(r, Route)]
        if not routes:
            refusal = next((r for r in results if isinstance(r, Refusal)), None)
            reason = refusal.reply if refusal else "no alias"
            return await self._refuse("unroutable", reason, raw, envelope_from, recipients)
        # No SMTP peer here: no SPF; DKIM, DMARC or the front MTA's results all the same.
        stored = await store_routes(self._writer, routes, raw, envelope_from, source="imap",
                                    doors=self._doors)
        if isinstance(stored, str):
            if stored.startswith("4"):  # e.g. DNS down: the message stays for the next pass
                return AcceptOutcome("tempfail", stored)
            return await self._refuse("rejected", stored, raw, envelope_from, recipients)
        numbers = ", ".join(str(mid) for mid, _dup in stored)
        if all(duplicate for _mid, duplicate in stored):
            return AcceptOutcome("duplicate", f"already stored as {numbers}")
        return AcceptOutcome("stored", f"stored as {numbers}")

    def _special_local(self, rcpt: str) -> SpecialHandler | None:
        return special_handler(self._special, rcpt, self._domain)

    async def _special_outcome(
        self, reply: str, raw: bytes, envelope_from: str, recipients: list[str]
    ) -> AcceptOutcome:
        # Special recipients answer like an SMTP server: 2xx done, 4xx retry, 5xx refused.
        if reply.startswith("2"):
            return AcceptOutcome("stored", reply)
        if reply.startswith("4"):
            return AcceptOutcome("tempfail", reply)
        return await self._refuse("rejected", reply, raw, envelope_from, recipients)

    async def _refuse(
        self, status: AcceptStatus, reason: str, raw: bytes, envelope_from: str, recipients: list[str]
    ) -> AcceptOutcome:
        message_id = _message_id(raw)
        detail = (f"{reason}; from {envelope_from or '<>'}; to {', '.join(recipients) or '-'};"
                  f" Message-ID {message_id or '-'}")
        now = self._clock.now()
        await self._db.write(lambda s: record(
            s, at=now, actor="imap", subject_type="imap_message", subject_id=None,
            action=status, detail=detail))
        return AcceptOutcome(status, reason)


def _message_id(raw: bytes) -> str | None:
    try:
        return read_headers(raw).message_id
    except Exception:  # unreadable headers: the audit row still says who and why
        return None


class DatabaseCursors:
    """ImapCursorStore on the ImapCursor table: one row per account and mailbox."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def load_cursor(self, account: str, mailbox: str) -> tuple[int, int] | None:
        key = account_key(account)

        def read(session: Session) -> tuple[int, int] | None:
            row = _row(session, key, mailbox)
            return (row.uidvalidity, row.last_uid) if row is not None else None

        return await self._db.read(read)

    async def save_cursor(self, account: str, mailbox: str, uidvalidity: int, last_uid: int) -> None:
        key = account_key(account)

        def write(session: Session) -> None:
            row = _row(session, key, mailbox)
            if row is None:
                row = ImapCursor(account=key, mailbox=mailbox, uidvalidity=uidvalidity, last_uid=last_uid)
            row.uidvalidity, row.last_uid = uidvalidity, last_uid
            session.add(row)

        await self._db.write(write)


def account_key(account: str) -> str:
    """The account as stored: unchanged when it fits the column, else shortened with a hash."""
    if len(account) <= ACCOUNT_MAX:
        return account
    digest = hashlib.sha256(account.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return f"{account[:ACCOUNT_MAX - 17]}#{digest}"


def _row(session: Session, account: str, mailbox: str) -> ImapCursor | None:
    return session.exec(select(ImapCursor).where(
        col(ImapCursor.account) == account, col(ImapCursor.mailbox) == mailbox)).first()
