"""Coordinators' suggestions page: their organization's proposed pairs, with accept and skip."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.web.pages import (
    PageError,
    checked_form,
    current_viewer,
    flash,
    gateway_of,
    redirect,
    render,
    request_lang,
)

# This page's words (kept here rather than in the shared catalog: one room, one file).
WORDS: dict[str, tuple[str, str]] = {
    "suggestions": ("Suggestions de jumelage", "Suggested pairs"),
    "none": ("Aucune suggestion en attente. Lancez « mentor-gateway match suggest ».",
             "No suggestion waiting. Run 'mentor-gateway match suggest'."),
    "mentee": ("Jeune", "Mentee"),
    "mentor": ("Mentor", "Mentor"),
    "score": ("Score", "Score"),
    "why": ("Domaines en commun", "Shared fields"),
    "same_language": ("même langue seulement", "same language only"),
    "source_email": ("choisi par courriel", "chosen by email"),
    "accept": ("Accepter", "Accept"),
    "skip": ("Écarter", "Skip"),
    "accepted": ("Suggestion {id} acceptée : jumelage {pair} créé.",
                 "Suggestion {id} accepted: pair {pair} created."),
    "skipped": ("Suggestion {id} écartée ; ce mentor ne sera plus proposé à ce jeune.",
                "Suggestion {id} skipped; this mentor will not be suggested to this mentee again."),
    "refused": ("Suggestion {id} non acceptée : {why}", "Suggestion {id} not accepted: {why}"),
}


def word(lang: str, key: str, **values: object) -> str:
    fr, en = WORDS[key]
    return (fr if lang == "fr" else en).format(**values)


async def suggestions_page(request: Request) -> Response:
    from gateway.matching import service

    viewer = await current_viewer(request)
    gateway = gateway_of(request)
    lang = request_lang(request)
    taxonomy, _ = service.vocabulary(gateway.settings.matching.taxonomy_file)
    rows = await gateway.db.read(lambda s: service.list_suggestions(s, org_ids=viewer.org_ids))
    labelled = [(row, ", ".join(taxonomy.label(f, lang) for f in row.reasons)) for row in rows]
    return render(request, "suggestions.html", viewer=viewer, rows=labelled,
                  w=lambda key, **v: word(lang, key, **v))


async def suggestion_action(request: Request) -> Response:
    from gateway.matching import service
    from gateway.program.service import ProgramError

    viewer = await current_viewer(request)
    form = await checked_form(request)
    gateway = gateway_of(request)
    lang = request_lang(request)
    raw_id, action = request.path_params["id"], request.path_params["action"]
    if not raw_id.isdigit() or len(raw_id) > 12 or action not in ("accept", "skip"):
        raise PageError(404, "not_found")
    del form  # checked for its CSRF token; the action is in the path
    suggestion_id = int(raw_id)
    now = gateway.clock.now()
    if action == "skip":
        try:
            await gateway.db.write(lambda s: service.skip(s, suggestion_id, now=now,
                                                          actor=viewer.email,
                                                          org_ids=viewer.org_ids))
        except ProgramError as exc:
            raise PageError(404, "not_found") from exc
        flash(request, word(lang, "skipped", id=suggestion_id))
        return redirect("/suggestions")

    def accept(session: Any) -> Any:
        return service.accept(session, gateway.settings, [suggestion_id], now=now,
                              actor=viewer.email, org_ids=viewer.org_ids)[0]

    _id, view, error = await gateway.db.write(accept)
    gateway.wake_delivery()
    if view is None:
        if error and error.startswith("no suggestion"):
            raise PageError(404, "not_found")
        flash(request, word(lang, "refused", id=suggestion_id, why=error))
    else:
        flash(request, word(lang, "accepted", id=suggestion_id, pair=view.pair_id))
    return redirect("/suggestions")


ROUTES = [
    Route("/suggestions", suggestions_page, methods=["GET"]),
    Route("/suggestions/{id}/{action}", suggestion_action, methods=["POST"]),
]
