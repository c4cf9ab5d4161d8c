"""GET /metrics for Prometheus: a bearer token ([metrics] token), or else loopback clients only."""

from __future__ import annotations

import hmac
import ipaddress

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from gateway.metrics import database_snapshot
from gateway.web.pages import gateway_of


def _loopback(request: Request) -> bool:
    # Behind a reverse proxy every client looks local: a forwarded request needs the token.
    if "x-forwarded-for" in request.headers or "forwarded" in request.headers:
        return False
    try:
        return ipaddress.ip_address(request.client.host if request.client else "").is_loopback
    except ValueError:
        return False


async def metrics(request: Request) -> Response:
    gateway = gateway_of(request)
    settings = gateway.settings.metrics
    if not settings.enabled:
        return PlainTextResponse("not found", status_code=404)
    if settings.token:
        sent = request.headers.get("authorization", "")
        if not hmac.compare_digest(sent.encode(), f"Bearer {settings.token}".encode()):
            return PlainTextResponse("a bearer token is needed", status_code=401,
                                     headers={"www-authenticate": 'Bearer realm="metrics"'})
    elif not _loopback(request):
        return PlainTextResponse("metrics answer loopback clients only; set [metrics] token",
                                 status_code=403)
    snapshot = await gateway.db.read(lambda s: database_snapshot(s, gateway.clock.now()))
    return Response(gateway.metrics.exposition(snapshot), media_type=CONTENT_TYPE_LATEST)


ROUTES = [Route("/metrics", metrics, methods=["GET"])]
