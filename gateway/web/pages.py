"""Shared plumbing of every page: who is looking, page errors, CSRF-checked forms, template rendering."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse

from gateway.store.models import Staff
from gateway.web.i18n import lang_from_accept, pick_lang, state_label, translator

if TYPE_CHECKING:
    from gateway.runtime import Runtime


class PageError(Exception):
    """Stop a request with an HTTP status and a catalog message the person can read."""

    def __init__(self, status: int, key: str, **values: object) -> None:
        super().__init__(key)
        self.status, self.key, self.values = status, key, values


class LoginRequired(Exception):
    """No valid session: the page answers with a redirect to /login."""


@dataclass(frozen=True)
class Viewer:
    id: int
    email: str
    name: str
    role: str
    org_ids: tuple[int, ...] | None  # None = every organization

    @property
    def moderates(self) -> bool:
        return self.role == "moderator"


def gateway_of(request: Request) -> Runtime:
    gateway: Runtime = request.app.state.gateway
    return gateway


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use; every form carries it."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def checked_form(request: Request) -> FormData:
    """The POSTed form, or 403 when its CSRF token does not match the session's."""
    form = await request.form()
    sent = form.get("csrf")
    expected = request.session.get("csrf")
    if not isinstance(sent, str) or not isinstance(expected, str) or not hmac.compare_digest(
            sent.encode(), expected.encode()):
        raise PageError(403, "csrf_failed")
    return form


def request_lang(request: Request) -> str:
    chosen = request.session.get("lang")
    return pick_lang(chosen if isinstance(chosen, str) else None,
                     lang_from_accept(request.headers.get("accept-language")))


async def current_viewer(request: Request) -> Viewer:
    """The signed-in staff member, reloaded each time so a deactivated account or a cookie from
    before a logout or a password reset stops at once."""
    staff_id = request.session.get("staff_id")
    epoch = request.session.get("epoch")
    if not isinstance(staff_id, int):
        raise LoginRequired()
    from gateway.program.staff import org_scope

    def load(session: Any) -> Viewer | None:
        staff = session.get(Staff, staff_id)
        if staff is None or not staff.active or staff.session_epoch != epoch:
            return None
        return Viewer(staff.id, staff.email, staff.display_name, staff.role, org_scope(staff))

    viewer = await gateway_of(request).db.read(load)
    if viewer is None:
        request.session.clear()
        raise LoginRequired()
    return viewer


async def moderator(request: Request) -> Viewer:
    viewer = await current_viewer(request)
    if not viewer.moderates:
        raise PageError(403, "forbidden")
    return viewer


def flash(request: Request, text: str) -> None:
    request.session["flash"] = text[:500]


def redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def page_number(value: str | None) -> int:
    """A list page's `?page=` value, or 1 when it is missing or not a sensible number."""
    return int(value) if value and value.isdigit() and 0 < len(value) < 7 and int(value) > 0 else 1


def safe_next(value: object, default: str = "/queue") -> str:
    """Only local paths: a crafted `next` must not send staff to another site."""
    if isinstance(value, str) and value.startswith("/") and not value.startswith("//") \
            and "\\" not in value:
        return value
    return default


@lru_cache(maxsize=4)
def _environment(folder: str) -> Environment:
    env = Environment(loader=FileSystemLoader(folder), autoescape=select_autoescape(default=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    return env


def template_folder(request: Request) -> Path:
    return Path(gateway_of(request).settings.gateway.templates_dir) / "web"


def render(request: Request, name: str, *, status: int = 200, viewer: Viewer | None = None,
           **context: Any) -> HTMLResponse:
    lang = request_lang(request)
    template = _environment(str(template_folder(request))).get_template(name)
    flash_text = request.session.pop("flash", None)
    html = template.render(
        t=translator(lang), lang=lang, viewer=viewer, csrf=csrf_token(request),
        flash=flash_text, path=request.url.path, state_label=lambda s: state_label(lang, s),
        program_name=gateway_of(request).settings.gateway.program_name,
        **context,
    )
    # Last line of defence: a stray surrogate from a broken message must not turn the page into a 500.
    return HTMLResponse(html.encode("utf-8", "replace").decode("utf-8"), status_code=status)
