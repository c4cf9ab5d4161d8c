"""Pairs (search, state, last activity, pause/resume/close) and the audit trail page."""

from __future__ import annotations

import math
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.program import queries
from gateway.web.i18n import state_label, translate
from gateway.web.pages import (
    PageError,
    checked_form,
    current_viewer,
    flash,
    gateway_of,
    page_number,
    redirect,
    render,
    request_lang,
    safe_next,
)

PAGE_SIZE = 50
PAIR_STATES = ("awaiting_consent", "active", "paused", "closed")
COORDINATOR_ACTIONS = ("pause",)  # coordinators read, and may only pause a pair
MODERATOR_ACTIONS = ("pause", "resume", "close")


async def pairs_page(request: Request) -> Response:
    viewer = await current_viewer(request)
    gateway = gateway_of(request)
    search = (request.query_params.get("q") or "").strip()[:200]
    state = request.query_params.get("state")
    state = state if state in PAIR_STATES else None
    page = page_number(request.query_params.get("page"))
    pairs, total = await gateway.db.read(lambda s: queries.search_pairs(
        s, gateway.settings, viewer.org_ids, search=search, state=state, limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE))
    actions = MODERATOR_ACTIONS if viewer.moderates else COORDINATOR_ACTIONS
    return render(request, "pairs.html", viewer=viewer, pairs=pairs, total=total, page=page,
                  pages=max(1, math.ceil(total / PAGE_SIZE)), search=search, state=state or "",
                  states=PAIR_STATES, actions=actions)


async def pair_action(request: Request) -> Response:
    from gateway.program.service import ProgramError, change_pair_state

    viewer = await current_viewer(request)
    form = await checked_form(request)
    gateway = gateway_of(request)
    action = request.path_params["action"]
    raw_id = request.path_params["id"]
    if not raw_id.isdigit() or len(raw_id) > 12 or action not in MODERATOR_ACTIONS:
        raise PageError(404, "not_found")
    if action not in (MODERATOR_ACTIONS if viewer.moderates else COORDINATOR_ACTIONS):
        raise PageError(403, "forbidden")
    pair_id = int(raw_id)

    def apply(session: Any) -> str | None:
        if queries.pair_in_scope(session, pair_id, viewer.org_ids) is None:
            return None
        pair = change_pair_state(session, pair_id, action, now=gateway.clock.now(),
                                 actor=viewer.email)
        return pair.state

    lang = request_lang(request)
    try:
        new_state = await gateway.db.write(apply)
    except ProgramError as exc:
        flash(request, str(exc))
        return redirect(safe_next(form.get("next"), "/pairs"))
    if new_state is None:
        raise PageError(404, "not_found")
    flash(request, translate(lang, "done_pair", pair=pair_id, state=state_label(lang, new_state)))
    return redirect(safe_next(form.get("next"), "/pairs"))


async def audit_page(request: Request) -> Response:
    viewer = await current_viewer(request)
    gateway = gateway_of(request)
    page = page_number(request.query_params.get("page"))
    events, total = await gateway.db.read(lambda s: queries.audit_events(
        s, viewer.org_ids, limit=PAGE_SIZE * 2, offset=(page - 1) * PAGE_SIZE * 2))
    return render(request, "audit.html", viewer=viewer, events=events, total=total, page=page,
                  pages=max(1, math.ceil(total / (PAGE_SIZE * 2))))


ROUTES = [
    Route("/pairs", pairs_page, methods=["GET"]),
    Route("/pairs/{id}/{action}", pair_action, methods=["POST"]),
    Route("/audit", audit_page, methods=["GET"]),
]
