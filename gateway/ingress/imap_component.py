"""The IMAP component of `serve`: run the poller over the gateway's own sink and database until stop."""

from __future__ import annotations

import logging
import os
import ssl
from collections.abc import Callable
from typing import TYPE_CHECKING

from gateway.config import ConfigError, Settings
from gateway.ingress.imap import ImapPoller
from gateway.ingress.imap_sink import DatabaseCursors, GatewayImapSink

if TYPE_CHECKING:
    from gateway.runtime import Component, Runtime

log = logging.getLogger("gateway.imap")


def imap_component(
    settings: Settings,
    *,
    on_event: Callable[[str], None] | None = None,
    ssl_context: ssl.SSLContext | None = None,
    backoff_initial: float = 1.0,
    backoff_max: float = 60.0,
) -> Component:
    """The component for `App(components=...)`; fails now, at start-up, when the password is missing.

    `on_event` sees the poller's progress ("connected", "processed 7", ...) for tests and probes.
    """
    imap = settings.imap
    password = os.environ.get(imap.password_env)
    if password is None:
        raise ConfigError(f"[imap] is enabled but the environment variable {imap.password_env}"
                          " (imap.password_env) holding the mailbox password is not set")

    async def run_imap(app: Runtime) -> None:
        sink = GatewayImapSink(app.db, app.writer, app.clock, domain=app.settings.gateway.domain,
                               max_message_bytes=app.settings.smtp.max_message_bytes,
                               special=app.special_recipients, doors=app.doors)
        reconnects = _ReconnectLog(imap.host, imap.port, on_event)
        poller = ImapPoller(imap, password, sink, DatabaseCursors(app.db), on_event=reconnects,
                            ssl_context=ssl_context, backoff_initial=backoff_initial,
                            backoff_max=backoff_max)
        log.info("IMAP ingress reading %s in %s:%d as %s", imap.mailbox, imap.host, imap.port,
                 imap.username)
        await poller.run(app.stopping)
        log.info("IMAP ingress stopped")

    return run_imap


class _ReconnectLog:
    """Say in the log when the mailbox is reachable again (the poller logs each failure)."""

    def __init__(self, host: str, port: int, forward: Callable[[str], None] | None) -> None:
        self._where = f"{host}:{port}"
        self._forward = forward
        self._lost = False

    def __call__(self, event: str) -> None:
        if event == "disconnected":
            self._lost = True
        elif event == "connected" and self._lost:
            self._lost = False
            log.warning("IMAP %s reconnected", self._where)
        if self._forward is not None:
            self._forward(event)
