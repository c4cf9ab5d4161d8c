"""Reports and contact mail on the page: the list (also shown atop the queue), one report, its decisions."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.web.i18n import translate
from gateway.web.pages import (
    PageError,
    checked_form,
    current_viewer,
    flash,
    gateway_of,
    moderator,
    redirect,
    render,
    request_lang,
)

ACTIONS = ("resume", "close", "block")


def _id(value: str) -> int:
    if not value.isdigit() or len(value) > 12:
        raise PageError(404, "not_found")
    return int(value)


async def reports_page(request: Request) -> Response:
    from gateway.review.reports import list_reports

    viewer = await current_viewer(request)
    items = await gateway_of(request).db.read(lambda s: list_reports(s, viewer.org_ids))
    return render(request, "reports.html", viewer=viewer, reports=items)


async def report_page(request: Request) -> Response:
    from gateway.review.reports import ReportError, show_report

    viewer = await current_viewer(request)
    report_id = _id(request.path_params["id"])
    try:
        detail = await gateway_of(request).db.read(
            lambda s: show_report(s, report_id, viewer.org_ids))
    except ReportError as exc:
        raise PageError(404, "not_found") from exc
    return render(request, "report.html", viewer=viewer, detail=detail, actions=ACTIONS)


async def report_action(request: Request) -> Response:
    from gateway.review.reports import ReportError, decide

    viewer = await moderator(request)
    form = await checked_form(request)
    report_id = _id(request.path_params["id"])
    action = request.path_params["action"]
    if action not in ACTIONS:
        raise PageError(404, "not_found")
    gateway = gateway_of(request)
    note = str(form.get("note") or "").strip()[:1000] or None

    def apply(session: Any) -> str:
        return decide(session, gateway.settings, report_id, action, actor=viewer.email,
                      now=gateway.clock.now(), note=note, org_ids=viewer.org_ids).state

    try:
        state = await gateway.db.write(apply)
    except ReportError as exc:
        if str(exc).startswith("no report"):
            raise PageError(404, "not_found") from exc
        flash(request, str(exc))
        return redirect(f"/reports/{report_id}")
    gateway.wake_delivery()
    flash(request, translate(request_lang(request), "report_done", id=report_id, state=state))
    return redirect("/reports")


async def open_reports(request: Request, org_ids: tuple[int, ...] | None) -> list[Any]:
    """For the queue page: open reports sit above the held messages."""
    from gateway.review.reports import list_reports

    return list(await gateway_of(request).db.read(lambda s: list_reports(s, org_ids, limit=20)))


ROUTES = [
    Route("/reports", reports_page, methods=["GET"]),
    Route("/reports/{id}", report_page, methods=["GET"]),
    Route("/reports/{id}/{action}", report_action, methods=["POST"]),
]
