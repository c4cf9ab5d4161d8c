"""Addresses at our domain that are not aliases: the bounce address and reminder unsubscribes."""

from __future__ import annotations

import logging

from gateway.clock import Clock
from gateway.config import Settings
from gateway.ingress.ports import SpecialHandler
from gateway.mail.alias import split_address
from gateway.reminders.unsubscribe import LOCAL_PART as UNSUBSCRIBE
from gateway.reminders.unsubscribe import apply_unsubscribe
from gateway.store.audit import record
from gateway.store.db import Database

log = logging.getLogger("gateway.special")


def ingress_special_recipients(db: Database, clock: Clock, settings: Settings) -> dict[str, SpecialHandler]:
    """The bounce address and the unsubscribe address, by local part (app.py adds the others)."""

    async def bounce(mail_from: str, rcpt: str, raw: bytes) -> str:
        # A bounce of something we sent: the outbox already knows its fate from the SMTP answer;
        # a late bounce is kept in the audit trail for the operator.
        now = clock.now()
        await db.write(lambda s: record(
            s, at=now, actor=mail_from or "<>", subject_type="outbox", subject_id=None,
            action="bounce_received", detail=f"{len(raw)} bytes"))
        return "250 2.0.0 Bounce recorded"

    async def unsubscribe(mail_from: str, rcpt: str, raw: bytes) -> str:
        local, _domain = split_address(rcpt)
        token = local.partition("+")[2]
        now = clock.now()
        person = await db.write(lambda s: apply_unsubscribe(s, settings, token, now, mail_from))
        if person is None:
            return "550 5.1.1 This unsubscribe address is not valid"
        return "250 2.0.0 Reminders stopped"

    return {settings.gateway.bounce_address: bounce, UNSUBSCRIBE: unsubscribe}
