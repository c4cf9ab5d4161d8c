"""Build the Starlette application: routes, signed session cookie, security headers, error pages."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.insights.cache import FiguresCache
from gateway.web import (
    auth,
    consent_page,
    matching_page,
    metrics_page,
    pair_pages,
    participant_pages,
    program_pages,
    queue_pages,
    report_pages,
    reset,
    unsubscribe_page,
)
from gateway.web.i18n import translate
from gateway.web.pages import LoginRequired, PageError, gateway_of, render, request_lang

if TYPE_CHECKING:
    from gateway.runtime import Runtime

# Scripts: only the page's own static file (keyboard shortcuts), never inline code.
CSP = ("default-src 'self'; img-src 'self' data:; frame-src 'self'; script-src 'self'; "
       "style-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
SESSION_HOURS = 8
MAX_FORM_BYTES = 256 * 1024
# A school's spreadsheet is larger than any form: only the import page accepts that much.
LARGE_BODY_PATHS = {"/import": 6 * 1024 * 1024}


class SecurityHeaders:
    """Adds the headers to every response; pages are never cached (they show participants' mail)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                headers += [h for h in SECURITY_HEADERS if h[0] not in names]
                if b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


class BodyLimits:
    """MAX_FORM_BYTES for every request, a larger limit for the few paths that take files."""

    def __init__(self, app: ASGIApp) -> None:
        self.small = RequestBodyLimitMiddleware(app, max_body_size=MAX_FORM_BYTES)
        self.large = {path: RequestBodyLimitMiddleware(app, max_body_size=size)
                      for path, size in LARGE_BODY_PATHS.items()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.large.get(scope.get("path", "")) if scope["type"] == "http" else None
        await (limit or self.small)(scope, receive, send)


async def healthz(request: Request) -> Response:
    try:
        await gateway_of(request).db.read(lambda s: s.exec(text("SELECT 1")).one())  # type: ignore[call-overload]
    except Exception:
        return PlainTextResponse("database unavailable", status_code=503)
    return PlainTextResponse("ok")


STATIC = {"web.css": "text/css", "keys.js": "text/javascript"}


async def static_file(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in STATIC:
        raise PageError(404, "not_found")
    folder = Path(gateway_of(request).settings.gateway.templates_dir) / "web" / "static"
    body = (folder / name).read_text(encoding="utf-8")
    return Response(body, media_type=STATIC[name], headers={"cache-control": "max-age=3600"})


async def home(request: Request) -> Response:
    return RedirectResponse("/queue", status_code=303)


async def page_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageError)
    message = translate(request_lang(request), exc.key, **exc.values)
    return render(request, "error.html", status=exc.status, message=message)


async def login_required(request: Request, exc: Exception) -> Response:
    return RedirectResponse("/login", status_code=303)


async def not_found(request: Request, exc: Exception) -> Response:
    return render(request, "error.html", status=404,
                  message=translate(request_lang(request), "not_found"))


def create_web_app(gateway: Runtime, secret: bytes, *, secure_cookie: bool = False) -> Starlette:
    routes: list[Any] = [
        Route("/", home), Route("/healthz", healthz), Route("/static/{name}", static_file),
        *auth.ROUTES, *queue_pages.ROUTES, *pair_pages.ROUTES, *report_pages.ROUTES,
        *reset.ROUTES,
        *unsubscribe_page.ROUTES, *program_pages.ROUTES, *metrics_page.ROUTES,
        *consent_page.ROUTES, *participant_pages.ROUTES, *matching_page.ROUTES,
    ]
    middleware = [
        Middleware(SecurityHeaders),
        Middleware(BodyLimits),
        Middleware(SessionMiddleware, secret_key=secret.hex(), session_cookie="mg_session",
                   # Lax, not Strict: with Strict a link from webmail arrives without the cookie,
                   # the login page then writes a fresh session and logs the moderator out.
                   # Cross-site POSTs still carry no cookie, and every form checks a CSRF token.
                   max_age=SESSION_HOURS * 3600, same_site="lax", https_only=secure_cookie),
    ]
    handlers: dict[Any, Any] = {PageError: page_error, LoginRequired: login_required,
                                404: not_found}
    web = Starlette(routes=routes, middleware=middleware, exception_handlers=handlers)
    web.state.gateway = gateway
    web.state.figures_cache = FiguresCache(gateway.clock)
    return web
