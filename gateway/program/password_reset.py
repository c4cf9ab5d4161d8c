"""Password reset links: signed, expiring, single-use, mailed to staff in their language."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from gateway.config import Settings
from gateway.notices import queue_program_mail
from gateway.program.staff import StaffError, end_sessions, hash_password, staff_by_email
from gateway.store.audit import record
from gateway.store.models import Staff, UsedToken
from gateway.tokens import sign, signing_secret, verify

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
    session.add(staff)
    session.add(UsedToken(token_id=_token_id(parts), used_at=now, used_by=staff.email))
    # Whoever was signed in with the old password is signed out (audited as the reset).
    end_sessions(session, staff.id or 0, now=now, why="password-reset")
    return True
