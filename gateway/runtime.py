"""What the long-running parts (scheduler, web, IMAP) see of the running gateway: a small protocol App meets."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, Protocol

from gateway.clock import Clock
from gateway.config import Settings
from gateway.ingress.doors import Doors
from gateway.ingress.ports import SpecialHandler
from gateway.ingress.writer import IngestWriter
from gateway.metrics import GatewayMetrics
from gateway.review.notify import ModeratorActions
from gateway.store.db import Database


class Runtime(Protocol):
    """The running gateway as its components use it (gateway.app.App is the real one)."""

    settings: Settings
    clock: Clock
    db: Database
    writer: IngestWriter
    doors: Doors
    moderator_actions: ModeratorActions
    metrics: GatewayMetrics
    stopping: asyncio.Event

    @property
    def special_recipients(self) -> Mapping[str, SpecialHandler]:
        """Addresses at our domain that are not aliases, by local part."""
        ...

    def wake_delivery(self) -> None:
        """New outbox rows are waiting: let the delivery worker look now, not at its next poll."""
        ...


# Extra long-running parts (scheduler, IMAP, web): runtime -> coroutine that returns on stop.
Component = Callable[[Runtime], Coroutine[Any, Any, None]]
