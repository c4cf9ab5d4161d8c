"""Checking in worker processes: the same plans as in the gateway's own process, and a dead worker loses nothing."""

from __future__ import annotations

import os
import pickle
import signal
import time
from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlmodel import col, select

from gateway.config import Settings
from gateway.moderation.rules import load_rules
from gateway.relay.checking import Job, check
from gateway.relay.decide import make_moderator
from gateway.relay.forward import load_people_many
from gateway.relay.pool import LARGE_MESSAGE, CheckPool
from gateway.relay.processor import Plan, apply_plans, plan_batch
from gateway.store.models import Message, Outbox, Pair, Participant
from tests.unit.conftest import NOW, Program
from tests.unit.relay.test_processor import store_from_mentor

BODIES = [
    "Bonjour Léa, voici le plan de la semaine pour ton stage.",
    "Appelle-moi au 514-555-0199 ce soir.",  # the test rules hold phone numbers
    "SIGNALER il me demande des photos",  # a report: never forwarded
    "Hello, here is the list of schools we talked about.\n\n> Le mardi, Léa a écrit :\n> merci",
]


def pool_settings(program: Program, offload_from: int = 1) -> Settings:
    return program.settings.replace(processing={"workers": 1, "offload_from": offload_from})


def plans_with(program: Program, settings: Settings, pool: CheckPool | None) -> list[Plan]:
    moderate = make_moderator(load_rules(Path(settings.gateway.rules_dir)), settings)
    return program.db.transaction(lambda s: plan_batch(
        s, moderate, settings, check_jobs=pool.check_jobs if pool else None), read_only=True)


def comparable(plan: Plan) -> tuple[object, ...]:
    prepared = plan.prepared
    # the forward's Message-ID is random: everything else must be the same bytes
    data = prepared.data.replace(prepared.gateway_id.encode(), b"<ID>") if prepared else None
    return (plan.message_id, plan.decision, plan.auto_reply, plan.report, data,
            prepared.thread if prepared else None, prepared.withheld if prepared else None,
            plan.refs)


@pytest.fixture
def pool(program: Program) -> CheckPool:
    settings = pool_settings(program)
    checker = CheckPool(settings, make_moderator(load_rules(Path(settings.gateway.rules_dir)),
                                                 settings))
    yield checker
    checker.close()


def test_a_batch_checked_in_a_worker_gets_the_same_plans_as_here(program: Program,
                                                                 pool: CheckPool) -> None:
    for body in BODIES:
        store_from_mentor(program, body)
    store_from_mentor(program, "Je suis absent jusqu'à lundi.", headers="Auto-Submitted: auto-replied\r\n")
    here = plans_with(program, program.settings, None)
    there = plans_with(program, pool_settings(program), pool)
    assert pool.offloaded == 1, "the batch went to the worker"
    assert [comparable(p) for p in there] == [comparable(p) for p in here]
    verdicts = [p.decision.verdict if p.decision else None for p in there]
    assert verdicts[1] == "hold" and there[2].report and there[4].auto_reply
    assert there[0].prepared is not None and b"Mentor@Example.org" not in there[0].prepared.data


def test_plans_from_a_worker_are_written_like_any_other(program: Program, pool: CheckPool) -> None:
    ids = [store_from_mentor(program, body) for body in BODIES]
    plans = plans_with(program, pool_settings(program), pool)
    assert all(plan.parsed is None for plan in plans)  # nothing parsed crossed back
    program.db.transaction(lambda s: apply_plans(s, program.settings, plans, NOW,
                                                 postgres=not program.db.is_sqlite,
                                                 on_report=lambda *_: None))
    states = program.db.transaction(lambda s: dict(s.exec(
        select(Message.id, Message.state).where(col(Message.id).in_(ids))).all()))
    assert [states[i] for i in ids] == ["queued", "held", "reported", "queued"]
    forwards = program.db.transaction(lambda s: list(s.exec(
        select(Outbox).where(col(Outbox.kind) == "forward")).all()))
    assert sorted(f.message_id for f in forwards) == [ids[0], ids[3]]
    assert all(b"mentor@example.org" not in f.data.lower() for f in forwards)


def test_a_killed_worker_costs_nothing_but_a_restart(program: Program, pool: CheckPool) -> None:
    """The batch is checked in the gateway's process instead; the next one gets a new worker."""
    store_from_mentor(program, BODIES[0])
    [pid] = pool.warm()
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.05)
    plans = plans_with(program, pool_settings(program), pool)
    assert [p.decision.verdict if p.decision else None for p in plans] == ["pass"]
    assert plans[0].parsed is not None, "checked here, not by a dead worker"
    assert pool.offloaded == 0
    plans = plans_with(program, pool_settings(program), pool)
    assert pool.offloaded == 1 and plans[0].prepared is not None
    assert pid not in pool.warm()


def test_small_batches_stay_here_and_a_large_message_goes(program: Program) -> None:
    settings = pool_settings(program, offload_from=8)
    checker = CheckPool(settings, make_moderator(load_rules(Path(settings.gateway.rules_dir))))
    try:
        store_from_mentor(program, BODIES[0])
        plans_with(program, settings, checker)
        assert checker.offloaded == 0
        store_from_mentor(program, "Voici le document.\n" + "Une ligne de texte ordinaire.\n" * (
            LARGE_MESSAGE // 28))
        plans = plans_with(program, settings, checker)
        assert checker.offloaded == 1 and len(plans) == 2
    finally:
        checker.close()


def test_no_workers_means_everything_here(program: Program) -> None:
    settings = program.settings.replace(processing={"workers": 0, "offload_from": 1})
    checker = CheckPool(settings, make_moderator(load_rules(Path(settings.gateway.rules_dir))))
    store_from_mentor(program, BODIES[0])
    plans_with(program, settings, checker)
    assert checker.offloaded == 0 and checker.warm() == []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a killed child stays a zombie until the pool notices: that is not alive
    return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"


def columns(row: object) -> dict[str, object]:
    return {a.key: getattr(row, a.key) for a in inspect(type(row)).column_attrs}


def test_a_job_reaches_a_worker_with_every_column_and_no_orm_state(program: Program) -> None:
    """Jobs cross to workers as column values (`Job.__reduce__`): what the check reads is
    all there, the rebuilt rows carry no session state, and the check decides the same."""
    store_from_mentor(program, BODIES[1])  # a phone number: held by the test rules
    settings = program.settings
    moderate = make_moderator(load_rules(Path(settings.gateway.rules_dir)), settings)

    def job(session: object) -> Job:
        [message] = session.exec(select(Message)).all()  # type: ignore[attr-defined]
        return Job(message, load_people_many(session, settings, [message])[message.id], None)

    original = program.db.transaction(job, read_only=True)
    copy = pickle.loads(pickle.dumps(original))
    assert copy.people is not None and original.people is not None
    pairs = [(original.message, copy.message), (original.people.pair, copy.people.pair),
             (original.people.sender, copy.people.sender),
             (original.people.recipient, copy.people.recipient)]
    for before, after in pairs:
        assert type(after) is type(before) and columns(after) == columns(before)
        assert "_sa_instance_state" not in vars(after)
    assert isinstance(copy.people.pair, Pair) and isinstance(copy.people.sender, Participant)
    assert (copy.people.sender_alias, copy.people.recipient_alias) == (
        original.people.sender_alias, original.people.recipient_alias)
    here = check(original, moderate, settings, keep_parsed=False)
    there = check(copy, moderate, settings, keep_parsed=False)
    assert there.decision == here.decision and there.decision is not None
    assert there.decision.verdict == "hold"
