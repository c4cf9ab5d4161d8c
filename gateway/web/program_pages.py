"""The program dashboard (/program) and its CSV exports (/program.csv): figures for a scope and period."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.insights import export, plots
from gateway.insights.cache import FiguresCache
from gateway.insights.figures import BUCKET_NAMES, DIRECTIONS, ProgramFigures, from_epoch
from gateway.insights.load import Scope, organization_names, program_figures, wants_digest
from gateway.missions.badges import BADGES
from gateway.runtime import Runtime
from gateway.web.i18n import translate
from gateway.web.pages import (
    PageError,
    Viewer,
    checked_form,
    current_viewer,
    flash,
    gateway_of,
    redirect,
    render,
    request_lang,
)

DEFAULT_WEEKS = 12
MAX_LISTED = 100  # quiet / never-started pairs shown on the page; the CSV has them all
ANSWER_KEYS = {"mentor_to_mentee": "mentor_answers", "mentee_to_mentor": "mentee_answers"}


@dataclass(frozen=True)
class Query:
    """The page's filters, checked: an organization inside the viewer's scope, a period, N days."""

    org: int | None
    first_day: date
    last_day: date  # included
    quiet_days: int

    @property
    def since(self) -> datetime:
        return datetime.combine(self.first_day, datetime.min.time(), UTC)

    @property
    def until(self) -> datetime:
        return datetime.combine(self.last_day + timedelta(days=1), datetime.min.time(), UTC)

    def params(self) -> str:
        org = f"&org={self.org}" if self.org is not None else ""
        return (f"since={self.first_day.isoformat()}&until={self.last_day.isoformat()}"
                f"&quiet_days={self.quiet_days}{org}")


def _day(value: str | None, default: date) -> date:
    if not value:
        return default
    try:
        return date.fromisoformat(value[:10])
    except ValueError as exc:
        raise PageError(400, "bad_date") from exc


def parse_query(request: Request, viewer: Viewer, today: date, default_quiet: int) -> Query:
    params = request.query_params
    raw_org = params.get("org") or ""
    org = int(raw_org) if raw_org.isdigit() and len(raw_org) < 12 else None
    if org is not None and viewer.org_ids is not None and org not in viewer.org_ids:
        raise PageError(403, "forbidden")
    last = _day(params.get("until"), today)
    first = _day(params.get("since"), last - timedelta(weeks=DEFAULT_WEEKS) + timedelta(days=1))
    if first > last:
        raise PageError(400, "bad_period")
    raw_days = params.get("quiet_days") or ""
    quiet = int(raw_days) if raw_days.isdigit() and 1 <= int(raw_days) <= 365 else default_quiet
    return Query(org, first, last, quiet)


def figures_cache(request: Request) -> FiguresCache:
    cache: FiguresCache = request.app.state.figures_cache
    return cache


async def cached_figures(gateway: Runtime, cache: FiguresCache, scope: Scope,
                         query: Query) -> ProgramFigures:
    def compute() -> Awaitable[ProgramFigures]:
        return _compute(gateway, scope, query)

    key = (scope, query.first_day, query.last_day, query.quiet_days)
    return await cache.get(key, compute, timedelta(seconds=gateway.settings.insights.cache_seconds))


async def _figures(request: Request) -> tuple[Viewer, Query, ProgramFigures]:
    viewer = await current_viewer(request)
    gateway = gateway_of(request)
    query = parse_query(request, viewer, gateway.clock.now().date(),
                        gateway.settings.insights.quiet_days)
    scope = (query.org,) if query.org is not None else viewer.org_ids
    return viewer, query, await cached_figures(gateway, figures_cache(request), scope, query)


async def warm_default_views(gateway: Runtime, cache: FiguresCache) -> None:
    """What the page shows first: every organization's default view, and all of them together."""
    today = gateway.clock.now().date()
    query = Query(None, today - timedelta(weeks=DEFAULT_WEEKS) + timedelta(days=1), today,
                  gateway.settings.insights.quiet_days)
    orgs = await gateway.db.read(lambda s: organization_names(s, None))
    for scope in [None, *((oid,) for oid, _ in orgs)]:
        await cache.warm((scope, query.first_day, query.last_day, query.quiet_days),
                         functools.partial(_compute, gateway, scope, query))


async def _compute(gateway: Runtime, scope: Scope, query: Query) -> ProgramFigures:
    now = gateway.clock.now()
    return await gateway.db.read(lambda s: program_figures(
        s, scope, since=query.since, until=query.until, now=now, quiet_days=query.quiet_days))


def duration_label(lang: str, seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 3600:
        return translate(lang, "minutes", n=round(seconds / 60))
    if seconds < 48 * 3600:
        return translate(lang, "hours_dec", n=_number(lang, seconds / 3600))
    return translate(lang, "days_dec", n=_number(lang, seconds / 86400))


def _number(lang: str, value: float) -> str:
    text = f"{value:.1f}"
    return text.replace(".", ",") if lang == "fr" else text


def percent(lang: str, share: float | None) -> str:
    if share is None:
        return "—"
    value = round(share * 100)
    return f"{value}\u202f%" if lang == "fr" else f"{value}%"


@functools.lru_cache(maxsize=64)
def _charts(lang: str, figures: ProgramFigures) -> dict[str, dict[str, Any]]:
    """Each plot as a data: URI with its title; the template puts its table right after it.
    Cached with the figures they draw (cached figures are the same object until recomputed)."""
    t = lambda key, **v: translate(lang, key, **v)  # noqa: E731
    weeks = [w.week.strftime("%d/%m") if lang == "fr" else w.week.strftime("%b %d")
             for w in figures.weekly]
    weekly = plots.bar_chart(t("weekly_title"), weeks, [
        plots.Series(t("mentor_to_mentee"), [w.mentor_to_mentee for w in figures.weekly]),
        plots.Series(t("mentee_to_mentor"), [w.mentee_to_mentor for w in figures.weekly])])
    distribution = plots.bar_chart(t("distribution_title"), [t(b) for b in BUCKET_NAMES], [
        plots.Series(t(ANSWER_KEYS[s.direction]), list(s.buckets)) for s in figures.responses])
    return {"weekly": {"title": t("weekly_title"), "src": plots.data_uri(weekly)},
            "distribution": {"title": t("distribution_title"), "src": plots.data_uri(distribution)}}


async def program_page(request: Request) -> Response:
    viewer, query, figures = await _figures(request)
    gateway = gateway_of(request)
    lang = request_lang(request)
    charts = await asyncio.to_thread(_charts, lang, figures)
    orgs = await gateway.db.read(lambda s: organization_names(s, viewer.org_ids))
    digest = await gateway.db.read(lambda s: wants_digest(s, viewer.id))
    scope = (query.org,) if query.org is not None else viewer.org_ids
    badges = await gateway.db.read(lambda s: badge_table(s, scope))
    quiet = [(pid, from_epoch(at)) for pid, at in figures.pairs.quiet[:MAX_LISTED]]
    return render(request, "program.html", viewer=viewer, figures=figures, query=query,
                  orgs=orgs, charts=charts, quiet=quiet, digest=digest, badges=badges,
                  badge_names=BADGES,
                  never=figures.pairs.never_started[:MAX_LISTED], max_listed=MAX_LISTED,
                  tables=[(n, translate(lang, f"csv_{n}")) for n in export.TABLES], buckets=BUCKET_NAMES, directions=DIRECTIONS,
                  answer_keys=ANSWER_KEYS, duration=lambda s: duration_label(lang, s),
                  percent=lambda v: percent(lang, v))


def badge_table(session: Any, scope: Scope) -> dict[str, dict[str, int]]:
    """organization -> badge -> pairs that earned it."""
    from gateway.missions.service import badges_by_organization

    table: dict[str, dict[str, int]] = {}
    for org, badge, count in badges_by_organization(session, scope):
        table.setdefault(org, {})[badge] = count
    return table


async def program_csv(request: Request) -> Response:
    name = request.query_params.get("figure") or "summary"
    if name not in (*export.TABLES, "badges"):
        raise PageError(404, "unknown_figure")
    viewer, query, figures = await _figures(request)
    if name == "badges":
        from gateway.missions.service import badges_by_pair

        scope = (query.org,) if query.org is not None else viewer.org_ids
        header = ["pair", "badge", "earned_on"]
        rows: list[Any] = await gateway_of(request).db.read(lambda s: badges_by_pair(s, scope))
    else:
        header, rows = export.table(figures, name)
    filename = f"program-{name}-{query.first_day.isoformat()}-{query.last_day.isoformat()}.csv"
    return Response(export.to_csv(header, rows), media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": f'attachment; filename="{filename}"'})


async def digest_choice(request: Request) -> Response:
    """A coordinator turns their weekly digest on or off (the checkbox on the dashboard)."""
    from gateway.insights.digest import set_weekly_digest

    viewer = await current_viewer(request)
    form = await checked_form(request)
    wanted = form.get("weekly_digest") == "on"
    await gateway_of(request).db.write(lambda s: set_weekly_digest(s, viewer.id, wanted))
    flash(request, translate(request_lang(request), "digest_on" if wanted else "digest_off"))
    return redirect("/program")


ROUTES = [
    Route("/program", program_page, methods=["GET"]),
    Route("/program/digest", digest_choice, methods=["POST"]),
    Route("/program.csv", program_csv, methods=["GET"]),
]
