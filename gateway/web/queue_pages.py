"""The review queue (filters, pages, bulk decisions) and the one-message page with its actions."""

from __future__ import annotations

import math
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.program.queries import organizations
from gateway.review.overview import message_first_lines, pair_history
from gateway.web.decisions import decide, parse_ids
from gateway.web.i18n import COMMON_REASONS, translate, translator
from gateway.web.pages import (
    PageError,
    Viewer,
    checked_form,
    current_viewer,
    flash,
    gateway_of,
    moderator,
    redirect,
    render,
    request_lang,
)
from gateway.web.render import age_label, frame_document, highlight, mime_summary, sanitize_html
from gateway.web.report_pages import open_reports

PAGE_SIZE = 50
ACTIONS = ("approve", "approve_redacted", "reject")


def _int_param(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 12 else None


def _scope_for(viewer: Viewer, org: int | None) -> tuple[int, ...] | None:
    """The viewer's organizations, narrowed by the organization filter (never widened)."""
    if org is None:
        return viewer.org_ids
    if viewer.org_ids is None or org in viewer.org_ids:
        return (org,)
    return ()


async def queue_page(request: Request) -> Response:
    from gateway.review.held import HeldFilter, count_held, list_held

    viewer = await current_viewer(request)
    gateway = gateway_of(request)
    params = request.query_params
    reason = (params.get("reason") or "").strip()[:100] or None
    org, pair = _int_param(params.get("org")), _int_param(params.get("pair"))
    page = max(1, _int_param(params.get("page")) or 1)
    where = HeldFilter(org_ids=_scope_for(viewer, org), reason=reason, pair_id=pair)

    def load(session: Any) -> tuple[Any, ...]:
        items = list_held(session, where, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        lines = message_first_lines(session, [i.id for i in items])
        return items, count_held(session, where), lines, organizations(session, viewer.org_ids)

    items, total, lines, orgs = await gateway.db.read(load)
    now = gateway.clock.now()
    t = translator(request_lang(request))
    rows = [{"item": i, "age": age_label(now, i.received_at, t), "first_line": lines.get(i.id, "")}
            for i in items]
    filters = {"reason": reason or "", "org": org, "pair": pair}
    reports = await open_reports(request, viewer.org_ids)
    return render(request, "queue.html", viewer=viewer, reports=reports, rows=rows, total=total, page=page,
                  pages=max(1, math.ceil(total / PAGE_SIZE)), filters=filters, orgs=orgs,
                  reasons=reason_choices(request))


def reason_choices(request: Request) -> list[tuple[str, str]]:
    lang = request_lang(request)
    return [(key, text[1] if lang == "en" else text[0]) for key, text in COMMON_REASONS.items()]


def _report(request: Request, done_key: str, outcome: Any) -> None:
    lang = request_lang(request)
    text = translate(lang, done_key, count=len(outcome.done))
    if outcome.refused:
        text += " " + translate(lang, "refused_items", items="; ".join(outcome.refused))
    flash(request, text)


async def bulk_decide(request: Request) -> Response:
    viewer = await moderator(request)
    form = await checked_form(request)
    action = str(form.get("action") or "")
    ids = parse_ids(form.getlist("ids"))
    lang = request_lang(request)
    if action not in ACTIONS:
        raise PageError(400, "forbidden")
    if not ids:
        flash(request, translate(lang, "nothing_selected"))
        return redirect("/queue")
    reason_key, free_text = str(form.get("reason_key") or ""), str(form.get("reason_text") or "")
    if action == "reject" and not free_text.strip() and reason_key not in COMMON_REASONS:
        flash(request, translate(lang, "reason_required"))
        return redirect("/queue")
    outcome = await decide(gateway_of(request), viewer, ids, action, reason_key=reason_key,
                           free_text=free_text)
    _report(request, "done_rejected" if action == "reject" else "done_approved", outcome)
    return redirect("/queue")


async def message_page(request: Request) -> Response:
    from gateway.review.held import QueueError, get_message, show_held

    viewer = await current_viewer(request)
    gateway = gateway_of(request)
    message_id = _int_param(request.path_params["id"])
    if message_id is None:
        raise PageError(404, "not_found")

    def load(session: Any) -> tuple[Any, ...]:
        detail = show_held(session, message_id, viewer.org_ids)
        message = get_message(session, message_id, viewer.org_ids)
        history = pair_history(session, message.pair_id)
        return detail, message.state, mime_summary(message.raw), history, message.erased_at

    try:
        detail, state, summary, history, erased_at = await gateway.db.read(load)
    except QueueError as exc:
        raise PageError(404, "not_found") from exc
    hits = detail.item.hits
    frame = frame_document(sanitize_html(summary.html)) if summary.html else None
    t = translator(request_lang(request))
    return render(request, "message.html", viewer=viewer, detail=detail, state=state,
                  subject_html=highlight(detail.item.subject, hits, "subject"),
                  text_html=highlight(detail.text, hits, "text"), frame=frame,
                  summary=summary, history=history, reasons=reason_choices(request),
                  erased_on=erased_at.strftime("%Y-%m-%d") if erased_at else None,
                  age=age_label(gateway.clock.now(), detail.item.received_at, t))


async def message_action(request: Request) -> Response:
    viewer = await moderator(request)
    form = await checked_form(request)
    message_id = _int_param(request.path_params["id"])
    action = request.path_params["action"]
    if message_id is None or action not in ACTIONS:
        raise PageError(404, "not_found")
    reason_key, free_text = str(form.get("reason_key") or ""), str(form.get("reason_text") or "")
    if action == "reject" and not free_text.strip() and reason_key not in COMMON_REASONS:
        flash(request, translate(request_lang(request), "reason_required"))
        return redirect(f"/messages/{message_id}")
    outcome = await decide(gateway_of(request), viewer, [message_id], action, reason_key=reason_key,
                           free_text=free_text, note=str(form.get("note") or "")[:1000])
    if outcome.refused and not outcome.done and outcome.refused[0].endswith(
            f"no message with id {message_id}"):
        raise PageError(404, "not_found")
    _report(request, "done_rejected" if action == "reject" else "done_approved", outcome)
    return redirect("/queue")


ROUTES = [
    Route("/queue", queue_page, methods=["GET"]),
    Route("/queue/decide", bulk_decide, methods=["POST"]),
    Route("/messages/{id}", message_page, methods=["GET"]),
    Route("/messages/{id}/{action}", message_action, methods=["POST"]),
]
