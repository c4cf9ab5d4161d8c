"""Staff accounts (moderators, coordinators): registration, passwords, organization scope."""

from __future__ import annotations

from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, select

from gateway.errors import GatewayError
from gateway.program.service import checked_email, find_organization
from gateway.store.audit import record
from gateway.store.models import Staff

STAFF_ROLES = ("moderator", "coordinator")
_hasher = PasswordHasher()


class StaffError(GatewayError):
    """A refused staff operation, phrased for the operator."""


def hash_password(password: str) -> str:
    if len(password) < 10:
        raise StaffError("a password needs at least 10 characters")
    return _hasher.hash(password)


def verify_password(staff: Staff, password: str) -> bool:
    if not staff.password_hash:
        return False
    try:
        return _hasher.verify(staff.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def add_staff(session: Session, *, email: str, name: str, role: str, now: datetime,
              org: str | None = None, lang: str = "fr", password: str | None = None,
              actor: str = "cli") -> Staff:
    address = checked_email(email)
    if role not in STAFF_ROLES:
        raise StaffError(f"role must be moderator or coordinator, not {role!r}")
    if role == "coordinator" and not org:
        raise StaffError("a coordinator belongs to an organization: add --org NAME")
    if session.exec(select(Staff).where(Staff.email == address)).first():
        raise StaffError(f"a staff account for {address} already exists")
    organization = find_organization(session, org)
    staff = Staff(email=address, display_name=name.strip(), role=role, lang=lang,
                  org_id=organization.id if organization else None,
                  password_hash=hash_password(password) if password else None, created_at=now)
    session.add(staff)
    session.flush()
    record(session, at=now, actor=actor, subject_type="staff", subject_id=staff.id, action="create",
           detail=role)
    return staff


def end_sessions(session: Session, staff_id: int, *, now: datetime, why: str) -> None:
    """Sign the account out everywhere: every cookie issued before now stops working."""
    staff = session.get(Staff, staff_id)
    if staff is None:
        return
    staff.session_epoch += 1
    session.add(staff)
    record(session, at=now, actor=staff.email, subject_type="staff", subject_id=staff_id, action=why)


def staff_by_email(session: Session, email: str) -> Staff | None:
    return session.exec(select(Staff).where(Staff.email == email.strip().lower())).first()


def org_scope(staff: Staff) -> tuple[int, ...] | None:
    """The organizations whose data this person may see; None means every organization."""
    return None if staff.org_id is None else (staff.org_id,)
