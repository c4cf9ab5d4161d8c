"""The guardian's consent page: a GET explains and asks, a POST records consent (or its withdrawal).

The signed token in the path is the only authority (no session, no login): guardians are not
staff. A GET never changes anything, since link scanners and previews follow GETs.
"""

from __future__ import annotations

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.program import consent
from gateway.program.profile import first_name_of
from gateway.web.pages import gateway_of, render


async def ask(request: Request) -> Response:
    gateway = gateway_of(request)
    token = request.path_params["token"]
    now = gateway.clock.now()

    try:
        first_name = await gateway.db.read(
            lambda s: consent.first_name_for_token(s, gateway.settings, token, now))
    except consent.ConsentError as exc:
        return render(request, "consent.html", status=404 if exc.code == "invalid" else 410,
                      step="problem", problem=exc.code, first_name="")
    return render(request, "consent.html", step="ask", first_name=first_name,
                  action=f"/consent/{token}")


async def give(request: Request) -> Response:
    gateway = gateway_of(request)
    token = request.path_params["token"]
    now = gateway.clock.now()

    def apply(session: Session) -> str:
        person = consent.give_with_token(session, gateway.settings, token, method="link",
                                         actor=None, now=now)
        return first_name_of(person.first_name, person.display_name)

    try:
        first_name = await gateway.db.write(apply)
    except consent.ConsentError as exc:
        return render(request, "consent.html", status=404 if exc.code == "invalid" else 410,
                      step="problem", problem=exc.code, first_name="")
    gateway.wake_delivery()
    return render(request, "consent.html", step="given", first_name=first_name)


async def ask_withdraw(request: Request) -> Response:
    return render(request, "consent.html", step="ask_withdraw", first_name="",
                  action=f"/consent/withdraw/{request.path_params['token']}")


async def withdraw(request: Request) -> Response:
    gateway = gateway_of(request)
    token = request.path_params["token"]
    now = gateway.clock.now()
    try:
        person = await gateway.db.write(lambda s: consent.withdraw_with_token(
            s, gateway.settings, token, method="link", actor="guardian (withdrawal link)", now=now))
    except consent.ConsentError:
        return render(request, "consent.html", status=404, step="problem", problem="invalid",
                      first_name="")
    return render(request, "consent.html", step="withdrawn",
                  first_name=first_name_of(person.first_name, person.display_name))


ROUTES = [
    Route("/consent/withdraw/{token}", ask_withdraw, methods=["GET"]),
    Route("/consent/withdraw/{token}", withdraw, methods=["POST"]),
    Route("/consent/{token}", ask, methods=["GET"]),
    Route("/consent/{token}", give, methods=["POST"]),
]
