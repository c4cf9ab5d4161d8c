"""Log in (throttled per account and per client address), log out (on every device), switch language."""

from __future__ import annotations

import math
import secrets
from functools import lru_cache
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.program.staff import end_sessions, hash_password, staff_by_email, verify_password
from gateway.store.models import Staff
from gateway.store.throttle import (
    LOGIN_ACCOUNT,
    LOGIN_CLIENT,
    account_key,
    client_key,
    longest_wait,
    record_failures,
)
from gateway.web.i18n import LANGS, pick_lang
from gateway.web.pages import (
    checked_form,
    gateway_of,
    redirect,
    render,
    request_lang,
    safe_next,
)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # Unknown addresses cost the same argon2 work as known ones: no timing oracle for addresses.
    return hash_password(secrets.token_hex(16))


def client_ip(request: Request) -> str:
    """The connecting address; uvicorn replaces it with X-Forwarded-For's only when the
    connection comes from one of [web] trusted_proxies (see web/server.py)."""
    return request.client.host if request.client else "?"


async def login_page(request: Request) -> Response:
    if isinstance(request.session.get("staff_id"), int):
        return redirect("/queue")
    return render(request, "login.html", email="", error=None)


async def login(request: Request) -> Response:
    form = await checked_form(request)
    address = str(form.get("email") or "").strip()[:320]
    password = str(form.get("password") or "")[:1024]
    gateway = gateway_of(request)
    now = gateway.clock.now()
    checks = [(LOGIN_ACCOUNT, account_key(address)), (LOGIN_CLIENT, client_key(client_ip(request)))]
    wait = await gateway.db.read(lambda s: longest_wait(s, checks, now))
    if wait is not None:
        minutes = max(1, math.ceil(wait.total_seconds() / 60))
        return render(request, "login.html", status=429, email=address,
                      error=("too_many_attempts", {"minutes": minutes}))

    def check(session: Any) -> tuple[int, str, int] | None:
        staff = staff_by_email(session, address) if address else None
        if staff is None or not staff.active:
            verify_password(Staff(email="", display_name="", role="", password_hash=_dummy_hash()),
                            password)
            return None
        if not verify_password(staff, password):
            return None
        assert staff.id is not None
        return staff.id, staff.lang, staff.session_epoch

    found = await gateway.db.read(check)
    if found is None:
        await gateway.db.write(lambda s: record_failures(s, checks, now))
        return render(request, "login.html", status=401, email=address,
                      error=("login_failed", {}))
    await gateway.db.write(lambda s: LOGIN_ACCOUNT.succeeded(s, checks[0][1]))
    lang = request_lang(request)
    request.session.clear()  # a fresh session (and CSRF token) on every login: no fixation
    request.session.update({"staff_id": found[0], "lang": pick_lang(found[1], lang),
                            "epoch": found[2], "csrf": secrets.token_urlsafe(32)})
    return redirect(safe_next(form.get("next")))


async def logout(request: Request) -> Response:
    """Sign out on every device: a cookie copied or left on a school computer dies too."""
    await checked_form(request)
    lang = request_lang(request)
    staff_id = request.session.get("staff_id")
    if isinstance(staff_id, int):
        gateway = gateway_of(request)
        now = gateway.clock.now()
        await gateway.db.write(lambda s: end_sessions(s, staff_id, now=now, why="logout"))
    request.session.clear()
    request.session["lang"] = lang
    return redirect("/login")


async def switch_lang(request: Request) -> Response:
    form = await checked_form(request)
    current = request_lang(request)
    wanted = form.get("lang")
    request.session["lang"] = wanted if wanted in LANGS else ("en" if current == "fr" else "fr")
    return redirect(safe_next(form.get("next")))


ROUTES = [
    Route("/login", login_page, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/lang", switch_lang, methods=["POST"]),
]
