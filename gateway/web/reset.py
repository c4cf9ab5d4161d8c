"""The password reset pages: ask for a link ("forgot password"), choose a new password."""

from __future__ import annotations

import contextlib
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.program.password_reset import issue_reset, use_reset, valid_reset
from gateway.program.staff import StaffError
from gateway.store.throttle import (
    RESET,
    RESET_CLIENT,
    account_key,
    client_key,
    longest_wait,
    record_failures,
)
from gateway.web.auth import client_ip
from gateway.web.pages import checked_form, flash, gateway_of, redirect, render


async def reset_page(request: Request) -> Response:
    gateway = gateway_of(request)
    token = request.path_params["token"]
    staff = await gateway.db.write(
        lambda s: valid_reset(s, gateway.settings, token, gateway.clock.now()))
    if staff is None:
        return render(request, "reset.html", status=404, token=None, error="reset_invalid")
    return render(request, "reset.html", token=token, error=None)


async def reset_submit(request: Request) -> Response:
    form = await checked_form(request)
    gateway = gateway_of(request)
    token = request.path_params["token"]
    password = str(form.get("password") or "")
    if len(password) < 10:
        return render(request, "reset.html", status=400, token=token, error="password_too_short")

    def apply(session: Any) -> bool:
        return use_reset(session, gateway.settings, token, password, gateway.clock.now())

    if not await gateway.db.write(apply):
        return render(request, "reset.html", status=404, token=None, error="reset_invalid")
    from gateway.web.i18n import translate
    from gateway.web.pages import request_lang

    flash(request, translate(request_lang(request), "reset_done"))
    return redirect("/login")


async def forgot_page(request: Request) -> Response:
    off = not gateway_of(request).settings.web.public_url
    return render(request, "forgot.html", status=503 if off else 200, sent=False, off=off)


async def forgot_submit(request: Request) -> Response:
    """Mail a reset link to an active staff address; the answer never says whether one exists.

    The link is built from [web] public_url only, never from the request (Host, X-Forwarded-*):
    otherwise anyone could have a genuine link mailed that points at their own site."""
    form = await checked_form(request)
    address = str(form.get("email") or "").strip()[:320]
    gateway = gateway_of(request)
    base_url = gateway.settings.web.public_url
    if not base_url:
        return render(request, "forgot.html", status=503, sent=False, off=True)
    now = gateway.clock.now()
    checks = [(RESET, account_key(address)), (RESET_CLIENT, client_key(client_ip(request)))]

    def send(session: Any) -> None:
        if longest_wait(session, checks, now) is not None:
            return
        record_failures(session, checks, now)  # counts every request, answered or not
        with contextlib.suppress(StaffError):
            issue_reset(session, gateway.settings, address, now=now, base_url=base_url,
                        actor="web")

    if address:
        await gateway.db.write(send)
        gateway.wake_delivery()
    return render(request, "forgot.html", sent=True, off=False)


ROUTES = [
    Route("/forgot", forgot_page, methods=["GET"]),
    Route("/forgot", forgot_submit, methods=["POST"]),
    Route("/reset/{token}", reset_page, methods=["GET"]),
    Route("/reset/{token}", reset_submit, methods=["POST"]),
]
