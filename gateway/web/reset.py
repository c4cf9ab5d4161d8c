"""Password reset: a signed, expiring, single-use link mailed to staff, and the page that uses it."""

from __future__ import annotations

import contextlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session, select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.config import Settings
from gateway.notices import queue_program_mail
from gateway.program.staff import StaffError, hash_password, staff_by_email
from gateway.store.audit import record
from gateway.store.models import Staff, UsedToken
from gateway.store.throttle import RESET
from gateway.tokens import sign, signing_secret, verify
from gateway.web.pages import checked_form, flash, gateway_of, redirect, render

PURPOSE = "password-reset"
VALID_FOR = timedelta(hours=2)


def reset_link(settings: Settings, token: str, base_url: str | None = None) -> str:
    base = base_url or settings.web.public_url or f"http://{settings.web.host}:{settings.web.port}"
    return f"{base.rstrip('/')}/reset/{token}"


def issue_reset(session: Session, settings: Settings, email: str, *, now: datetime,
                base_url: str | None = None, valid_for: timedelta = VALID_FOR,
                actor: str = "cli") -> Staff:
    """Queue the reset mail (in the staff member's language) with a fresh single-use link."""
    staff = staff_by_email(session, email)
    if staff is None or not staff.active or staff.id is None:
        raise StaffError(f"no active staff account for {email.strip().lower()}")
    expires = int((now + valid_for).timestamp())
    token = sign(signing_secret(session, settings.web.secret_env), PURPOSE,
                 str(staff.id), str(expires), secrets.token_hex(8))
    queue_program_mail(
        session, settings, kind="notice", to_address=staff.email, to_name=staff.display_name,
        template="password_reset", lang=staff.lang,
        context={"recipient_name": staff.display_name, "link": reset_link(settings, token, base_url),
                 "hours": int(valid_for.total_seconds() // 3600)},
        now=now,
    )
    record(session, at=now, actor=actor, subject_type="staff", subject_id=staff.id,
           action="password-reset-sent")
    return staff


def _token_id(parts: list[str]) -> str:
    return f"pwreset:{parts[2]}"


def valid_reset(session: Session, settings: Settings, token: str, now: datetime) -> Staff | None:
    """The staff member a token resets, if it is genuine, unexpired and never used."""
    if len(token) > 200:
        return None
    parts = verify(signing_secret(session, settings.web.secret_env), PURPOSE, token)
    if parts is None or len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    if datetime.fromtimestamp(int(parts[1]), UTC) <= now:
        return None
    if session.exec(select(UsedToken).where(UsedToken.token_id == _token_id(parts))).first():
        return None
    staff = session.get(Staff, int(parts[0]))
    return staff if staff is not None and staff.active else None


def use_reset(session: Session, settings: Settings, token: str, password: str,
              now: datetime) -> bool:
    """Set the new password and burn the token; False when the token is not valid (any more)."""
    staff = valid_reset(session, settings, token, now)
    if staff is None:
        return False
    parts = verify(signing_secret(session, settings.web.secret_env), PURPOSE, token)
    assert parts is not None
    staff.password_hash = hash_password(password)
    staff.session_epoch += 1  # whoever was signed in with the old password is signed out
    session.add(staff)
    session.add(UsedToken(token_id=_token_id(parts), used_at=now, used_by=staff.email))
    record(session, at=now, actor=staff.email, subject_type="staff", subject_id=staff.id,
           action="password-reset")
    return True


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
    return render(request, "forgot.html", sent=False)


async def forgot_submit(request: Request) -> Response:
    """Mail a reset link to an active staff address; the answer never says whether one exists."""
    form = await checked_form(request)
    address = str(form.get("email") or "").strip()[:320]
    gateway = gateway_of(request)
    now = gateway.clock.now()
    key = RESET.key(address, "any client")
    base_url = gateway.settings.web.public_url or str(request.base_url)

    def send(session: Any) -> None:
        if RESET.retry_after(session, key, now) is not None:
            return
        RESET.failed(session, key, now)  # counts every request, answered or not
        with contextlib.suppress(StaffError):
            issue_reset(session, gateway.settings, address, now=now, base_url=base_url,
                        actor="web")

    if address:
        await gateway.db.write(send)
        gateway.wake_delivery()
    return render(request, "forgot.html", sent=True)


ROUTES = [
    Route("/forgot", forgot_page, methods=["GET"]),
    Route("/forgot", forgot_submit, methods=["POST"]),
    Route("/reset/{token}", reset_page, methods=["GET"]),
    Route("/reset/{token}", reset_submit, methods=["POST"]),
]
