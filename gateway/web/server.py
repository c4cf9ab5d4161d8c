"""The web page as a gateway component: uvicorn on the gateway's own event loop, stopped with the app."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import uvicorn

from gateway.config import WebSettings
from gateway.insights.cache import FiguresCache
from gateway.tokens import signing_secret
from gateway.web.site import create_web_app

if TYPE_CHECKING:
    from gateway.runtime import Runtime

log = logging.getLogger("gateway.web")
STARTUP_TIMEOUT = 10.0


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its own signal handlers: the gateway owns SIGTERM and stops us in order."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class WebServer:
    server: uvicorn.Server
    task: asyncio.Task[None]
    port: int
    figures_cache: FiguresCache

    async def stop(self) -> None:
        self.server.should_exit = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self.task), 10)
        if not self.task.done():
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


def secure_cookie(web: WebSettings) -> bool:
    """Secure session cookie: always, never, or (auto) when the public address is https."""
    if web.secure_cookie == "auto":
        return web.public_url.lower().startswith("https://")
    return web.secure_cookie == "always"


async def start_web(app: Runtime, *, host: str | None = None, port: int | None = None) -> WebServer:
    """Serve the page on [web] host/port (port 0 = any free port; the bound one is returned)."""
    settings = app.settings.web
    secret = await app.db.write(lambda s: signing_secret(s, settings.secret_env))
    web = create_web_app(app, secret, secure_cookie=secure_cookie(settings))
    # uvicorn believes X-Forwarded-For from 127.0.0.1 unless told otherwise: a client on the same
    # host (or behind a proxy that passes the header on) could then pick its own address and
    # escape the login throttle. Only the configured proxies are believed.
    proxies = [str(p) for p in settings.trusted_proxies]
    config = uvicorn.Config(web, host=host or settings.host,
                            port=settings.port if port is None else port, lifespan="off",
                            log_level="warning", access_log=False, server_header=False,
                            proxy_headers=bool(proxies), forwarded_allow_ips=proxies or [])
    server = _EmbeddedServer(config)
    task = asyncio.create_task(server.serve(), name="web")
    deadline = asyncio.get_running_loop().time() + STARTUP_TIMEOUT
    while not server.started:
        if task.done():
            task.result()  # raises the bind error, e.g. the port is taken
            raise RuntimeError("the web server stopped during start-up")
        if asyncio.get_running_loop().time() > deadline:
            raise RuntimeError("the web server did not start in time")
        await asyncio.sleep(0.02)
    bound = server.servers[0].sockets[0].getsockname()[1]
    log.info("review page on http://%s:%d/", config.host, bound)
    return WebServer(server, task, bound, web.state.figures_cache)


async def run_web(app: Runtime) -> None:
    """Component: serve until the gateway is stopping."""
    web = await start_web(app)
    app.web_port = web.port  # type: ignore[attr-defined]
    warming = asyncio.create_task(warm_figures(app, web.figures_cache), name="figures")
    try:
        await app.stopping.wait()
    finally:
        warming.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await warming
        await web.figures_cache.close()
        await web.stop()


async def warm_figures(app: Runtime, cache: FiguresCache) -> None:
    """Compute the dashboard's default views ahead of the coordinators, every cache period."""
    from gateway.web.program_pages import warm_default_views

    every = app.settings.insights.cache_seconds
    while every > 0 and not app.stopping.is_set():
        try:
            await warm_default_views(app, cache)
        except Exception:
            log.exception("computing the program figures ahead of time failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(app.stopping.wait(), every * 0.9)
