"""Matching at the edge: read the program, store suggestions, accept or skip them (CLI, web, email)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import insert, literal, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from gateway.config import Settings
from gateway.matching.mapper import InterestMapper
from gateway.matching.model import Mentee, Mentor, Rules
from gateway.matching.taxonomy import Taxonomy, load_taxonomy
from gateway.program.service import ProgramError, create_pair
from gateway.store import models
from gateway.store.audit import record
from gateway.store.models import (
    MatchApproval,
    MatchBlock,
    MatchSuggestion,
    Organization,
    Pair,
    Participant,
)

BUSY = ("active", "awaiting_consent", "paused")  # pair states that hold a mentor's place


class MatchError(ProgramError):
    """A refused matching operation, phrased for the person at the keyboard."""


@dataclass(frozen=True)
class SuggestionView:
    id: int
    mentee: str
    mentee_name: str
    mentor: str
    mentor_name: str
    org: str | None
    score: float
    reasons: tuple[str, ...]
    state: str
    pair_id: int | None = None
    source: str = "suggest"

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "mentee": self.mentee, "mentor": self.mentor, "score": self.score,
                "reasons": list(self.reasons), "state": self.state, "org": self.org,
                "pair_id": self.pair_id}


@lru_cache(maxsize=4)
def vocabulary(taxonomy_file: str) -> tuple[Taxonomy, InterestMapper]:
    """The taxonomy (shipped + operator file) and its mapper, validated once per file."""
    taxonomy = load_taxonomy(taxonomy_file or None)
    return taxonomy, InterestMapper(taxonomy)


@dataclass(frozen=True)
class Person:
    """What matching reads of a participant (a light row: a program has tens of thousands)."""

    id: int
    email: str
    display_name: str
    role: str
    lang: str
    org_id: int | None
    capacity: int


@dataclass(frozen=True)
class ProgramView:
    mentees: list[Mentee]
    mentors: list[Mentor]
    rules: Rules
    people: dict[int, Person]


def read_program(session: Session, mapper: InterestMapper, *, org_id: int | None = None,
                 mentee_ids: Iterable[int] | None = None) -> ProgramView:
    """Unpaired mentees (of one organization, or some), every mentor with their load, the rules."""
    wanted = set(mentee_ids) if mentee_ids is not None else None
    capacity = getattr(Participant, "capacity", None)  # the enrolment profile (issue 13)
    columns: list[Any] = [Participant.id, Participant.email, Participant.display_name,
                          Participant.role, Participant.lang, Participant.org_id]
    query: Any = sa_select(*columns, capacity if capacity is not None else literal(1))
    if wanted is not None:  # one mentee choosing by email: the mentors and them only
        query = query.where(or_(col(Participant.role) == "mentor", col(Participant.id).in_(wanted)))
    people = {row[0]: Person(row[0], row[1], row[2], row[3], row[4], row[5], int(row[6] or 1))
              for row in session.execute(query).all()
              if not row[1].endswith(".invalid")}  # forgotten people
    fields = _fields_by_person(session, mapper, set(people) if wanted is not None else None)
    pairs = session.exec(select(Pair.mentor_id, Pair.mentee_id, Pair.state)).all()
    load: dict[int, int] = defaultdict(int)
    busy: set[int] = set()
    excluded = {(mentee, mentor) for mentor, mentee, _state in pairs}
    for mentor, mentee, state in pairs:
        if state in BUSY:
            load[mentor] += 1
            busy.add(mentee)
    for waiting in session.exec(select(MatchSuggestion).where(
            MatchSuggestion.state == "proposed", MatchSuggestion.source == "email")).all():
        # A mentee's own choice waiting for the coordinator holds that mentor's place.
        load[waiting.mentor_id] += 1
        busy.add(waiting.mentee_id)
    excluded |= {(b.mentee_id, b.mentor_id) for b in session.exec(select(MatchBlock)).all()}
    excluded |= {(s.mentee_id, s.mentor_id) for s in session.exec(
        select(MatchSuggestion).where(MatchSuggestion.state == "skipped")).all()}
    approved: dict[str, set[int]] = defaultdict(set)
    for row in session.exec(select(MatchApproval)).all():
        approved[str(row.org_id)].add(row.mentor_id)
    mentees = [Mentee(p.id, p.lang, fields.get(p.id, frozenset()),
                      str(p.org_id) if p.org_id is not None else None)
               for p in people.values() if p.role == "mentee"
               and p.id not in busy and (org_id is None or p.org_id == org_id)
               and (wanted is None or p.id in wanted)]
    mentors = [Mentor(p.id, frozenset({p.lang}), fields.get(p.id, frozenset()),
                      p.capacity, load.get(p.id, 0))
               for p in people.values() if p.role == "mentor"]
    rules = Rules({org: frozenset(ids) for org, ids in approved.items()}, frozenset(excluded))
    return ProgramView(mentees, mentors, rules, people)


def capacity_of(person: Participant) -> int:
    # The enrolment profile (issue 13) gives mentors a capacity; before it, one mentee each.
    return int(getattr(person, "capacity", None) or 1)


def _fields_by_person(session: Session, mapper: InterestMapper,
                      only: set[int] | None) -> dict[int, frozenset[str]]:
    interest_table = getattr(models, "ParticipantInterest", None)
    if interest_table is None:
        return {}
    texts: dict[int, list[str]] = defaultdict(list)
    for person_id, text in session.exec(select(interest_table.participant_id,
                                               interest_table.interest)).all():
        if only is None or person_id in only:
            texts[person_id].append(text)
    mapped = _cached_map(mapper)
    return {person: frozenset(f for t in items for f in mapped(t)) for person, items in texts.items()}


def unmapped_interests(session: Session, mapper: InterestMapper) -> list[tuple[str, int]]:
    """Stored interests (imports, profiles) that match no career field, most frequent first:
    what the operator should add as synonyms. Nothing is dropped from the profiles."""
    interest_table = getattr(models, "ParticipantInterest", None)
    if interest_table is None:
        return []
    counts: dict[str, int] = defaultdict(int)
    for (text,) in session.execute(sa_select(interest_table.interest)).all():
        counts[text] += 1
    missing = [(text, n) for text, n in counts.items() if not mapper.map(text).fields]
    return sorted(missing, key=lambda item: (-item[1], item[0]))


def _cached_map(mapper: InterestMapper) -> Any:
    # A program repeats a few hundred interests across thousands of people.
    return lru_cache(maxsize=65536)(lambda text: mapper.map(text).fields)


def suggest(session: Session, settings: Settings, *, org: str | None = None,
            limit: int | None = None, now: datetime, actor: str = "cli") -> list[SuggestionView]:
    """One global assignment for the unpaired mentees (of `org`), stored as proposed suggestions.

    Earlier proposals for these mentees are superseded: a suggestion always reflects the
    program as it is now."""
    # NumPy and OR-Tools load only when a suggestion is computed, not with every command.
    from gateway.matching.assign import suggest as global_assignment

    org_row = _organization(session, org) if org else None
    _, mapper = vocabulary(settings.matching.taxonomy_file)
    program = read_program(session, mapper, org_id=org_row.id if org_row else None)
    result = global_assignment(program.mentees, program.mentors, program.rules)
    chosen = sorted(result.suggestions, key=lambda s: (-s.score, s.mentee))
    if limit is not None:
        chosen = chosen[:max(0, limit)]
    considered = [m.id for m in program.mentees]
    for old in session.exec(select(MatchSuggestion).where(
            MatchSuggestion.state == "proposed", MatchSuggestion.source == "suggest",
            col(MatchSuggestion.mentee_id).in_(considered))).all() if considered else []:
        old.state, old.decided_at, old.decided_by = "superseded", now, actor
        session.add(old)
    values = [{"mentee_id": s.mentee, "mentor_id": s.mentor,
               "org_id": program.people[s.mentee].org_id, "score": s.score,
               "reasons": ",".join(s.reasons), "source": "suggest", "state": "proposed",
               "created_at": now} for s in chosen]
    # One multi-row INSERT: building 14,000 ORM objects took longer than the assignment itself.
    if values:
        session.execute(insert(MatchSuggestion), values)
    # Read the ids back by mentee (one proposal per mentee per run): an executemany with
    # RETURNING in parameter order was several times slower than the insert itself.
    new_ids: dict[int, int] = dict(session.execute(sa_select(  # type: ignore[call-overload]
        MatchSuggestion.mentee_id, MatchSuggestion.id).where(
        col(MatchSuggestion.state) == "proposed", col(MatchSuggestion.source) == "suggest",
        col(MatchSuggestion.created_at) == now)).all()) if values else {}
    ids = [new_ids[s.mentee] for s in chosen]
    record(session, at=now, actor=actor, subject_type="matching", subject_id=None,
           action="suggest", detail=f"{len(ids)} suggestions for {len(considered)} unpaired "
                                    f"mentees{f' of {org}' if org else ''}")
    orgs = {o.id: o.name for o in session.exec(select(Organization)).all()}
    views = []
    for row_id, s in zip(ids, chosen, strict=True):
        mentee, mentor = program.people[s.mentee], program.people[s.mentor]
        views.append(SuggestionView(row_id, mentee.email, mentee.display_name, mentor.email,
                                    mentor.display_name, orgs.get(mentee.org_id or 0), s.score,
                                    s.reasons, "proposed"))
    return views


def list_suggestions(session: Session, *, org_ids: Iterable[int] | None = None,
                     state: str = "proposed") -> list[SuggestionView]:
    query = select(MatchSuggestion).where(MatchSuggestion.state == state)
    if org_ids is not None:
        query = query.where(col(MatchSuggestion.org_id).in_(list(org_ids)))
    rows = session.exec(query.order_by(col(MatchSuggestion.score).desc(),
                                       col(MatchSuggestion.id))).all()
    return [_view(session, row) for row in rows]


def accept(session: Session, settings: Settings, ids: Iterable[int] | None, *, now: datetime,
           actor: str = "cli", org_ids: Iterable[int] | None = None
           ) -> list[tuple[int, SuggestionView | None, str | None]]:
    """Create the pairs of these proposed suggestions (None: all in scope), one by one.

    Each goes through the program's create_pair (consent rules, introductions); one that can no
    longer be made (the mentee got a pair, the mentor is full) is reported, the others go on."""
    scope = set(org_ids) if org_ids is not None else None
    if ids is None:
        rows = [r for r in session.exec(select(MatchSuggestion).where(
            MatchSuggestion.state == "proposed").order_by(col(MatchSuggestion.id))).all()
            if scope is None or r.org_id in scope]
        wanted = [r.id for r in rows if r.id is not None]
    else:
        wanted = list(ids)
    out: list[tuple[int, SuggestionView | None, str | None]] = []
    for suggestion_id in wanted:
        try:
            with session.begin_nested():
                out.append((suggestion_id, _accept_one(session, settings, suggestion_id, now,
                                                      actor, scope), None))
        except ProgramError as exc:
            out.append((suggestion_id, None, str(exc)))
    return out


def _accept_one(session: Session, settings: Settings, suggestion_id: int, now: datetime,
                actor: str, scope: set[int] | None) -> SuggestionView:
    row = _suggestion(session, suggestion_id, scope)
    if row.state != "proposed":
        raise MatchError(f"suggestion {suggestion_id} is {row.state}, not proposed")
    mentor = session.get(Participant, row.mentor_id)
    mentee = session.get(Participant, row.mentee_id)
    assert mentor is not None and mentee is not None
    holding = session.exec(select(Pair).where(Pair.mentee_id == mentee.id,
                                              col(Pair.state).in_(BUSY))).first()
    if holding is not None:
        raise MatchError(f"suggestion {suggestion_id}: the mentee already has pair {holding.id}")
    load = places_taken(session, mentor.id or 0, besides=row.id)
    if load >= capacity_of(mentor):
        raise MatchError(f"suggestion {suggestion_id}: the mentor has no free place any more "
                         f"({load} of {capacity_of(mentor)})")
    pair = create_pair(session, settings, mentor=mentor.email, mentee=mentee.email, now=now,
                       actor=actor)
    row.state, row.decided_at, row.decided_by, row.pair_id = "accepted", now, actor, pair.id
    session.add(row)
    record(session, at=now, actor=actor, subject_type="pair", subject_id=pair.id,
           action="match_accept", detail=f"suggestion {row.id} (score {row.score})")
    return _view(session, row)


def places_taken(session: Session, mentor_id: int, besides: int | None = None) -> int:
    """A mentor's pairs that hold a place, plus mentees' choices waiting for a coordinator."""
    pairs = len(session.exec(select(Pair.id).where(Pair.mentor_id == mentor_id,
                                                   col(Pair.state).in_(BUSY))).all())
    waiting = session.exec(select(MatchSuggestion.id).where(
        MatchSuggestion.mentor_id == mentor_id, MatchSuggestion.state == "proposed",
        MatchSuggestion.source == "email")).all()
    return pairs + sum(1 for i in waiting if i != besides)


def skip(session: Session, suggestion_id: int, *, now: datetime, actor: str = "cli",
         org_ids: Iterable[int] | None = None) -> SuggestionView:
    """Skipped: this mentor is never suggested to this mentee again."""
    row = _suggestion(session, suggestion_id, set(org_ids) if org_ids is not None else None)
    if row.state != "proposed":
        raise MatchError(f"suggestion {suggestion_id} is {row.state}, not proposed")
    row.state, row.decided_at, row.decided_by = "skipped", now, actor
    session.add(row)
    record(session, at=now, actor=actor, subject_type="matching", subject_id=row.id,
           action="match_skip", detail=None)
    return _view(session, row)


def _suggestion(session: Session, suggestion_id: int, scope: set[int] | None) -> MatchSuggestion:
    row = session.get(MatchSuggestion, suggestion_id)
    if row is None or (scope is not None and row.org_id not in scope):
        raise MatchError(f"no suggestion with id {suggestion_id}")
    return row


def _organization(session: Session, name: str) -> Organization:
    row = session.exec(select(Organization).where(Organization.name == name)).first()
    if row is None:
        raise MatchError(f"no organization named {name!r}")
    return row


def _view(session: Session, row: MatchSuggestion) -> SuggestionView:
    mentee = session.get(Participant, row.mentee_id)
    mentor = session.get(Participant, row.mentor_id)
    org = session.get(Organization, row.org_id) if row.org_id is not None else None
    assert mentee is not None and mentor is not None and row.id is not None
    return SuggestionView(row.id, mentee.email, mentee.display_name, mentor.email,
                          mentor.display_name, org.name if org else None, row.score,
                          tuple(r for r in row.reasons.split(",") if r), row.state, row.pair_id,
                          row.source)


def approve_mentors(session: Session, org: str, emails: Iterable[str], *, now: datetime,
                    actor: str = "cli") -> int:
    """From its first approval on, an organization's mentees only get mentors it approved."""
    from gateway.program.service import participant_by_email

    org_row = _organization(session, org)
    added = 0
    for email in emails:
        mentor = participant_by_email(session, email)
        if mentor.role != "mentor":
            raise MatchError(f"{mentor.email} is registered as a {mentor.role}, not a mentor")
        if session.exec(select(MatchApproval).where(MatchApproval.org_id == org_row.id,
                                                    MatchApproval.mentor_id == mentor.id)).first():
            continue
        assert org_row.id is not None and mentor.id is not None
        session.add(MatchApproval(org_id=org_row.id, mentor_id=mentor.id, created_at=now))
        added += 1
        record(session, at=now, actor=actor, subject_type="participant", subject_id=mentor.id,
               action="match_approve", detail=f"approved for {org_row.name}")
    return added


def block(session: Session, mentee_email: str, mentor_email: str, *, now: datetime,
          actor: str = "cli", reason: str = "") -> None:
    """These two are never suggested to each other again."""
    from gateway.program.service import participant_by_email

    mentee = participant_by_email(session, mentee_email)
    mentor = participant_by_email(session, mentor_email)
    if mentee.role != "mentee" or mentor.role != "mentor":
        raise MatchError("block MENTEE MENTOR: give the mentee first, then the mentor")
    assert mentee.id is not None and mentor.id is not None
    if not session.exec(select(MatchBlock).where(MatchBlock.mentee_id == mentee.id,
                                                 MatchBlock.mentor_id == mentor.id)).first():
        session.add(MatchBlock(mentee_id=mentee.id, mentor_id=mentor.id, created_at=now,
                               reason=reason[:200]))
        record(session, at=now, actor=actor, subject_type="participant", subject_id=mentee.id,
               action="match_block", detail=f"never with participant {mentor.id}")
