"""Coordinators' participants list and CSV import (their organization only; unscoped staff: all)."""

from __future__ import annotations

import math
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.program import participants
from gateway.program.importer import ImportReport, import_participants
from gateway.web.pages import (
    PageError,
    checked_form,
    current_viewer,
    gateway_of,
    page_number,
    render,
)

PAGE_SIZE = 50
MAX_CSV_BYTES = 5 * 1024 * 1024
ROLES = ("mentor", "mentee")
FILE_PROBLEMS = {"empty": "file_empty", "not_text": "file_not_text",
                 "no_email_column": "file_no_email_column", "unreadable": "file_unreadable"}


async def participants_page(request: Request) -> Response:
    viewer = await current_viewer(request)
    gateway = gateway_of(request)
    search = (request.query_params.get("q") or "").strip()[:200]
    role = request.query_params.get("role")
    role = role if role in ROLES else None
    page = page_number(request.query_params.get("page"))

    def load(session: Any) -> tuple[list[participants.ParticipantView], int]:
        people, total = participants.search(session, scope=viewer.org_ids, role=role, text=search,
                                            limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        return [participants.view(session, p) for p in people], total

    people, total = await gateway.db.read(load)
    return render(request, "participants.html", viewer=viewer, people=people, total=total,
                  page=page, pages=max(1, math.ceil(total / PAGE_SIZE)), search=search,
                  role=role or "", roles=ROLES)


async def _orgs_for(request: Request, scope: tuple[int, ...] | None) -> list[dict[str, Any]]:
    orgs: list[dict[str, Any]] = await gateway_of(request).db.read(
        lambda s: participants.list_organizations(s, scope))
    return orgs


async def import_form(request: Request) -> Response:
    viewer = await current_viewer(request)
    return render(request, "import.html", viewer=viewer, orgs=await _orgs_for(request, viewer.org_ids),
                  report=None, error=None, dry_run=False, chosen_org="")


async def import_upload(request: Request) -> Response:
    viewer = await current_viewer(request)
    form = await checked_form(request)
    gateway = gateway_of(request)
    orgs = await _orgs_for(request, viewer.org_ids)
    upload = form.get("file")
    dry_run = form.get("dry_run") == "1"
    chosen = str(form.get("org") or "")
    names = [o["name"] for o in orgs]
    if viewer.org_ids is not None:
        # A coordinator imports into their own organization, whatever the form says.
        if not names:
            raise PageError(403, "forbidden")
        chosen = names[0]
    elif chosen and chosen not in names:
        raise PageError(400, "not_found")

    def page(report: ImportReport | None, error: str | None, status: int = 200) -> Response:
        problem = None
        if report is not None and report.file_problem:
            problem = FILE_PROBLEMS.get(report.file_problem.partition(":")[0], "file_unreadable")
        return render(request, "import.html", status=status, viewer=viewer, orgs=orgs, report=report,
                      error=error, dry_run=dry_run, chosen_org=chosen, file_problem=problem)

    if not isinstance(upload, UploadFile) or not upload.filename:
        return page(None, "file_missing", 400)
    data = await upload.read(MAX_CSV_BYTES + 1)
    if len(data) > MAX_CSV_BYTES:
        return page(None, "file_too_big", 413)
    now = gateway.clock.now()
    report = await gateway.db.write(lambda s: import_participants(
        s, gateway.settings, data, now=now, org=chosen or None, dry_run=dry_run, actor=viewer.email))
    if report.created or report.consent_requested:
        gateway.wake_delivery()
    return page(report, None, 200 if report.file_problem is None else 400)


ROUTES = [
    Route("/participants", participants_page, methods=["GET"]),
    Route("/import", import_form, methods=["GET"]),
    Route("/import", import_upload, methods=["POST"]),
]
