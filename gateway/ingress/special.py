"""Addresses at our domain that are not aliases: the bounce address and reminder unsubscribes."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from gateway.mail.alias import split_address
from gateway.reminders.unsubscribe import LOCAL_PART as UNSUBSCRIBE
from gateway.reminders.unsubscribe import apply_unsubscribe
from gateway.store.audit import record

if TYPE_CHECKING:
    from gateway.app import App

log = logging.getLogger("gateway.special")


def install_special_recipients(app: App) -> None:
    settings = app.settings

    async def bounce(mail_from: str, rcpt: str, raw: bytes) -> str:
        # A bounce of something we sent: the outbox already knows its fate from the SMTP answer;
        # a late bounce is kept in the audit trail for the operator.
        now = app.clock.now()
        await app.db.write(lambda s: record(
            s, at=now, actor=mail_from or "<>", subject_type="outbox", subject_id=None,
            action="bounce_received", detail=f"{len(raw)} bytes"))
        return "250 2.0.0 Bounce recorded"

    async def unsubscribe(mail_from: str, rcpt: str, raw: bytes) -> str:
        local, _domain = split_address(rcpt)
        token = local.partition("+")[2]
        now = app.clock.now()
        person = await app.db.write(lambda s: apply_unsubscribe(s, settings, token, now, mail_from))
        if person is None:
            return "550 5.1.1 This unsubscribe address is not valid"
        return "250 2.0.0 Reminders stopped"

    app.special_recipients[settings.gateway.bounce_address] = bounce
    app.special_recipients[UNSUBSCRIBE] = unsubscribe
