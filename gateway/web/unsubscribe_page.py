"""One-click unsubscribe from reminders (RFC 8058): a POST to the signed link stops them; a GET only asks.

Mail clients POST `List-Unsubscribe=One-Click` straight to the link, without cookies, so the signed
token in the path is the only authority (no session, no CSRF form token). A GET never changes
anything: link scanners and previews follow GETs.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from gateway.reminders.unsubscribe import apply_unsubscribe
from gateway.web.pages import gateway_of

PAGE = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Rappels / Reminders</title><link rel="stylesheet" href="/static/web.css"></head>
<body><main><h1>Rappels · Reminders</h1>
{body}
</main></body></html>
"""
ASK = """<p lang="fr">Ne plus recevoir les rappels automatiques ? Les messages de ton jumelage continueront d'arriver.</p>
<p lang="en">Stop the automatic reminders? Messages from your pair will keep arriving.</p>
<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit">Arrêter les rappels · Stop reminders</button></form>"""
DONE = """<p lang="fr">C'est fait : tu ne recevras plus de rappels automatiques.</p>
<p lang="en">Done: you will not receive automatic reminders any more.</p>"""
INVALID = """<p lang="fr">Ce lien n'est pas valide.</p><p lang="en">This link is not valid.</p>"""


async def ask(request: Request) -> Response:
    return HTMLResponse(PAGE.format(body=ASK))


async def unsubscribe(request: Request) -> Response:
    gateway = gateway_of(request)
    token = request.path_params["token"]
    now = gateway.clock.now()
    person = await gateway.db.write(
        lambda s: apply_unsubscribe(s, gateway.settings, token, now, "one-click link"))
    if person is None:
        return HTMLResponse(PAGE.format(body=INVALID), status_code=404)
    return HTMLResponse(PAGE.format(body=DONE))


ROUTES = [
    Route("/unsubscribe/{token}", ask, methods=["GET"]),
    Route("/unsubscribe/{token}", unsubscribe, methods=["POST"]),
]
