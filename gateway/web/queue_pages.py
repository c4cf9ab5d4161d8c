"""The review queue (filters, pages, bulk decisions) and the one-message page with its actions."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import FormData, QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.program.queries import organizations
from gateway.review.overview import message_first_lines, pair_history
from gateway.web.decisions import ItemReason, decide, parse_ids
from gateway.web.i18n import COMMON_REASONS, REASON_SHORT, rule_label, translate, translator
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
from gateway.web.render import (
    age_label,
    frame_document,
    highlight,
    local_time,
    mime_summary,
    sanitize_html,
)
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


@dataclass(frozen=True)
class QueueFilter:
    """What the moderator filtered the queue by; carried from the queue to each message and back,
    so "next" stays in the same filter."""
    reason: str | None
    org: int | None
    pair: int | None

    @classmethod
    def read(cls, values: QueryParams | FormData) -> QueueFilter:
        reason = str(values.get("reason") or "").strip()[:100] or None
        return cls(reason, _int_param(str(values.get("org") or "")),
                   _int_param(str(values.get("pair") or "")))

    def held_filter(self, viewer: Viewer) -> Any:
        from gateway.review.held import HeldFilter

        return HeldFilter(org_ids=_scope_for(viewer, self.org), reason=self.reason, pair_id=self.pair)

    @property
    def fields(self) -> dict[str, str]:
        return {k: str(v) for k, v in (("reason", self.reason), ("org", self.org),
                                       ("pair", self.pair)) if v is not None}

    @property
    def query(self) -> str:
        return urlencode(self.fields)

    def url(self, path: str) -> str:
        return f"{path}?{self.query}" if self.query else path


def _zone(request: Request, org_zone: str | None = None) -> str:
    """The organization's zone when it has one (a hook: organizations may gain a time_zone),
    else the program's [gateway] time_zone."""
    return org_zone or gateway_of(request).settings.gateway.time_zone


def _loaded_rules(request: Request) -> tuple[Any, ...]:
    rules: tuple[Any, ...] = getattr(getattr(gateway_of(request), "rules", None), "rules", ())
    return rules


def labeller(request: Request) -> Any:
    """name -> label in the viewer's language (a rule of the operator's own: its description)."""
    lang = request_lang(request)
    descriptions = {r.name: r.description for r in _loaded_rules(request)}
    return lambda name: rule_label(lang, name, descriptions.get(name))


def rule_choices(request: Request) -> list[tuple[str, str]]:
    """The loaded rules that can hold a message, labelled in the viewer's language."""
    label = labeller(request)
    return sorted(((r.name, label(r.name)) for r in _loaded_rules(request) if r.action == "hold"),
                  key=lambda pair: pair[1].lower())


async def queue_page(request: Request) -> Response:
    from gateway.review.held import count_held, list_held

    viewer = await current_viewer(request)
    gateway = gateway_of(request)
    chosen = QueueFilter.read(request.query_params)
    page = max(1, _int_param(request.query_params.get("page")) or 1)
    where = chosen.held_filter(viewer)

    def load(session: Any) -> tuple[Any, ...]:
        # Most severe first, then oldest; neighbours() ("next") follows the same order.
        items = list_held(session, where, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE,
                          by_severity=True)
        lines = message_first_lines(session, [i.id for i in items])
        return items, count_held(session, where), lines, organizations(session, viewer.org_ids)

    items, total, lines, orgs = await gateway.db.read(load)
    now = gateway.clock.now()
    lang = request_lang(request)
    t = translator(lang)
    zone = _zone(request)
    label = labeller(request)
    rows = [{"item": i, "age": age_label(now, i.received_at, t), "first_line": lines.get(i.id, ""),
             "at": local_time(i.received_at, zone),
             "labels": [label(r) for r in i.reasons],
             "high": getattr(i, "severity", None) == "high"} for i in items]
    rules = rule_choices(request)
    if chosen.reason and chosen.reason not in {name for name, _ in rules}:
        rules.append((chosen.reason, label(chosen.reason)))  # a rule since removed
    reports = await open_reports(request, viewer.org_ids)
    return render(request, "queue.html", viewer=viewer, reports=reports, rows=rows, total=total, page=page,
                  pages=max(1, math.ceil(total / PAGE_SIZE)), filters=chosen, orgs=orgs,
                  reasons=reason_choices(request), rules=rules, zone=zone,
                  short_reasons=[(k, v[1] if lang == "en" else v[0]) for k, v in REASON_SHORT.items()],
                  select_all=request.query_params.get("select") == "all")


def reason_choices(request: Request) -> list[tuple[str, str]]:
    lang = request_lang(request)
    return [(key, text[1] if lang == "en" else text[0]) for key, text in COMMON_REASONS.items()]


def _report(request: Request, done_key: str, outcome: Any) -> None:
    lang = request_lang(request)
    text = translate(lang, done_key, count=len(outcome.done))
    if outcome.refused:
        text += " " + translate(lang, "refused_items", items="; ".join(outcome.refused))
    if outcome.unconfirmed:
        text += " " + translate(lang, "high_needs_confirm",
                                items=", ".join(str(i) for i in outcome.unconfirmed))
    flash(request, text)


def _item_reasons(form: FormData, ids: list[int]) -> dict[int, ItemReason]:
    """A reason chosen on a row overrides the one under the table, for that message only."""
    chosen: dict[int, ItemReason] = {}
    for message_id in ids:
        key = str(form.get(f"reason_{message_id}") or "")
        if key in COMMON_REASONS:
            chosen[message_id] = ItemReason(key, "")
    return chosen


async def bulk_decide(request: Request) -> Response:
    viewer = await moderator(request)
    form = await checked_form(request)
    action = str(form.get("action") or "")
    ids = parse_ids(form.getlist("ids"))
    lang = request_lang(request)
    back = QueueFilter.read(form).url("/queue")
    if action not in ACTIONS:
        raise PageError(400, "forbidden")
    if not ids:
        flash(request, translate(lang, "nothing_selected"))
        return redirect(back)
    reason_key, free_text = str(form.get("reason_key") or ""), str(form.get("reason_text") or "")
    per_item = _item_reasons(form, ids) if action == "reject" else {}
    has_default = bool(free_text.strip()) or reason_key in COMMON_REASONS
    if action == "reject" and not has_default and any(i not in per_item for i in ids):
        flash(request, translate(lang, "reason_required"))
        return redirect(back)
    outcome = await decide(gateway_of(request), viewer, ids, action, reason_key=reason_key,
                           free_text=free_text, per_item=per_item,
                           confirmed=set(parse_ids(form.getlist("confirm"))))
    _report(request, "done_rejected" if action == "reject" else "done_approved", outcome)
    return redirect(back)


async def message_page(request: Request) -> Response:
    viewer = await current_viewer(request)
    message_id = _int_param(request.path_params["id"])
    if message_id is None:
        raise PageError(404, "not_found")
    return await _message_view(request, viewer, message_id, QueueFilter.read(request.query_params),
                               html_view=request.query_params.get("view") == "html")


async def _message_view(request: Request, viewer: Viewer, message_id: int, chosen: QueueFilter, *,
                        html_view: bool = False) -> Response:
    from gateway.review.held import QueueError, get_message, neighbours, show_held

    gateway = gateway_of(request)

    def load(session: Any) -> tuple[Any, ...]:
        detail = show_held(session, message_id, viewer.org_ids)
        message = get_message(session, message_id, viewer.org_ids)
        history = pair_history(session, message.pair_id)
        excerpts = message_first_lines(session, [h.id for h in history])
        around = neighbours(session, chosen.held_filter(viewer), message_id)
        return (detail, message.state, mime_summary(message.raw), history, message.erased_at,
                excerpts, around)

    try:
        detail, state, summary, history, erased_at, excerpts, around = await gateway.db.read(load)
    except QueueError as exc:
        raise PageError(404, "not_found") from exc
    hits = detail.item.hits
    show_html = html_view and bool(summary.html)
    frame = frame_document(sanitize_html(summary.html)) if show_html and summary.html else None
    t = translator(request_lang(request))
    zone = _zone(request)
    label = labeller(request)
    return render(request, "message.html", viewer=viewer, detail=detail, state=state,
                  subject_html=highlight(detail.item.subject, hits, "subject"),
                  text_html=highlight(detail.text, hits, "text"), frame=frame,
                  has_html=bool(summary.html), summary=summary, reasons=reason_choices(request),
                  history=[{"row": h, "at": local_time(h.received_at, zone),
                            "excerpt": excerpts.get(h.id, "")} for h in history],
                  erased_on=erased_at.strftime("%Y-%m-%d") if erased_at else None,
                  age=age_label(gateway.clock.now(), detail.item.received_at, t),
                  at=local_time(detail.item.received_at, zone), zone=zone, filters=chosen,
                  previous_id=around[0], next_id=around[1],
                  hit_labels=[label(str(h.get("rule", "?"))) for h in hits],
                  labels=[label(r) for r in detail.item.reasons],
                  canonical=chosen.url(f"/messages/{message_id}"),
                  action_keys={"hold": "action_hold", "reject": "action_reject", "pass": "action_pass"})


async def _next_id(request: Request, viewer: Viewer, chosen: QueueFilter, message_id: int) -> int | None:
    """The next oldest held item after the one just decided, in the same filter; else the oldest
    one left (an item skipped earlier); None when the filter is empty."""
    from gateway.review.held import list_held, neighbours

    where = chosen.held_filter(viewer)

    def load(session: Any) -> int | None:
        following = neighbours(session, where, message_id)[1]
        if following is not None:
            return following
        first = list_held(session, where, limit=1, by_severity=True)
        return first[0].id if first else None

    found: int | None = await gateway_of(request).db.read(load)
    return found


async def message_action(request: Request) -> Response:
    viewer = await moderator(request)
    form = await checked_form(request)
    message_id = _int_param(request.path_params["id"])
    action = request.path_params["action"]
    if message_id is None or action not in ACTIONS:
        raise PageError(404, "not_found")
    chosen = QueueFilter.read(form)
    reason_key, free_text = str(form.get("reason_key") or ""), str(form.get("reason_text") or "")
    if action == "reject" and not free_text.strip() and reason_key not in COMMON_REASONS:
        flash(request, translate(request_lang(request), "reason_required"))
        return redirect(chosen.url(f"/messages/{message_id}"))
    outcome = await decide(gateway_of(request), viewer, [message_id], action, reason_key=reason_key,
                           free_text=free_text, note=str(form.get("note") or "")[:1000],
                           confirmed={message_id})
    if outcome.refused and not outcome.done and outcome.refused[0].endswith(
            f"no message with id {message_id}"):
        raise PageError(404, "not_found")
    _report(request, "done_rejected" if action == "reject" else "done_approved", outcome)
    if form.get("then") == "next":
        following = await _next_id(request, viewer, chosen, message_id)
        if following is not None:
            # The next message is the answer itself: one request per decision instead of a
            # redirect and a second GET. A reload re-posts a decision already made, which is
            # refused as "not held", and shows the same next message; keys.js puts the
            # message's own address in the address bar.
            return await _message_view(request, viewer, following, chosen)
        flash(request, request.session.get("flash", "") + " " +
              translate(request_lang(request), "queue_done"))
    return redirect(chosen.url("/queue"))


ROUTES = [
    Route("/queue", queue_page, methods=["GET"]),
    Route("/queue/decide", bulk_decide, methods=["POST"]),
    Route("/messages/{id}", message_page, methods=["GET"]),
    Route("/messages/{id}/{action}", message_action, methods=["POST"]),
]
