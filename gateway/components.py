"""The optional long-running parts `serve` adds beside SMTP and the workers, chosen by settings."""

from __future__ import annotations

from gateway.config import Settings
from gateway.runtime import Component


def default_components(settings: Settings) -> list[Component]:
    from gateway.scheduler import run_scheduler

    components: list[Component] = [run_scheduler]
    if settings.web.enabled:
        from gateway.web.server import run_web

        components.append(run_web)
    if settings.imap.enabled:
        from gateway.ingress.imap_component import imap_component

        components.append(imap_component(settings))
    return components
