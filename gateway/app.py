"""Wiring only: build every part from settings and run them in one asyncio process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path

from sqlmodel import Session

from gateway.clock import Clock, SystemClock
from gateway.config import Settings
from gateway.delivery.dkim import SigningTransport, load_signer
from gateway.delivery.retry import RetryPolicy
from gateway.delivery.transports import MaildirTransport, SmtpTransport, Transport
from gateway.delivery.worker import DeliveryWorker
from gateway.durations import parse_duration
from gateway.ingress.doors import Doors
from gateway.ingress.ports import SpecialHandler
from gateway.ingress.smtp import GatewayHandler, GatewaySMTP, SessionGate
from gateway.ingress.special import ingress_special_recipients
from gateway.ingress.writer import IngestWriter
from gateway.matching import by_email as choosing
from gateway.metrics import GatewayMetrics, Handled, handled_messages
from gateway.moderation.rules import load_rules
from gateway.program import consent_reply
from gateway.relay.decide import make_moderator
from gateway.relay.forward import PairPeople
from gateway.relay.notify import forward_failed
from gateway.relay.pool import CheckPool
from gateway.relay.processor import Plan, apply_plans, plan_batch
from gateway.review import by_email, report_mail
from gateway.review.notify import notify_moderators_of_hold
from gateway.runtime import Component
from gateway.startup_checks import check_settings
from gateway.store.db import Database
from gateway.store.lifecycle import OUTBOX_BATCH, RECEIVED_BATCH, release_own_claims
from gateway.store.migrate import migrate
from gateway.store.models import Message
from gateway.store.rates import RateLimits

__all__ = ["App", "Component", "build_transports", "retry_policy"]

log = logging.getLogger("gateway")
IDLE_POLL_SECONDS = 1.0
# Work this process is not told about (another process's CLI action, another instance, a retry
# falling due) is found by polling; with nothing found, the poll slows down to this, so an idle
# gateway costs well under 1 % of a core (each poll is a transaction; on PostgreSQL a backend's too).
IDLE_POLL_MAX_SECONDS = 4.0


def build_transports(settings: Settings) -> list[Transport]:
    transports = _plain_transports(settings)
    out = settings.outbound
    if not out.dkim_selector:
        return transports
    signer = load_signer(out.dkim_selector, settings.gateway.domain, out.dkim_key_file)
    return [SigningTransport(t, signer) for t in transports]


def _plain_transports(settings: Settings) -> list[Transport]:
    out = settings.outbound
    if out.mode == "maildir":
        return [MaildirTransport(Path(out.maildir))]
    password = os.environ.get(out.password_env) if out.username else None
    return [
        SmtpTransport(out.host, out.port, starttls=out.starttls, username=out.username or None,
                      password=password, timeout=out.timeout_seconds,
                      local_hostname=settings.gateway.domain)
        for _ in range(out.connections)
    ]


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        schedule=tuple(parse_duration(s) for s in settings.outbound.retry_schedule),
        give_up_after=parse_duration(settings.outbound.give_up_after),
    )


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, under another user
        return True
    return True


class App:
    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        transports: Sequence[Transport] | None = None,
        components: Sequence[Component] = (),
        background: bool = True,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        check_settings(settings)  # the CLI checked them with file and line; direct callers too
        self.settings = settings
        self.clock = clock or SystemClock()
        self._sleep = sleep  # the processor's gathering wait (tests pass their own)
        self.instance = settings.gateway.instance_name or f"{socket.gethostname()}:{os.getpid()}"
        # Fail closed: an invalid rule stops the gateway before it accepts anything.
        self.rules = load_rules(Path(settings.gateway.rules_dir))
        self.moderate = make_moderator(self.rules, settings)
        self.checker = CheckPool(settings, self.moderate)
        self.db = Database(settings.database.url)
        self._transports = list(transports) if transports is not None else build_transports(settings)
        self.delivery = DeliveryWorker(self.db, self.clock, retry_policy(settings),
                                       self._transports, self.instance,
                                       on_failed=lambda s, row, now: forward_failed(s, settings, row, now))
        self._process_wake = asyncio.Event()
        self._deliver_wake = asyncio.Event()
        limits = settings.limits
        self.writer = IngestWriter(self.db, self.clock, on_stored=self._process_wake.set,
                                   limits=RateLimits(limits.per_participant_hour,
                                                     limits.per_pair_day))
        self.doors = Doors(settings)
        self.metrics = GatewayMetrics()
        self.moderator_actions = by_email.moderator_actions(settings)
        self.staff_actions = report_mail.staff_actions(settings)
        # Addresses at our domain that are not aliases, by local part (`moderate+<token>`: moderate).
        self.special_recipients: dict[str, SpecialHandler] = {
            **ingress_special_recipients(self.db, self.clock, settings),
            by_email.LOCAL_PART: by_email.reply_handler(self.db, self.clock, settings,
                                                        self.wake_delivery),
            consent_reply.LOCAL_PART: consent_reply.reply_handler(self.db, self.clock, settings,
                                                                  self.wake_delivery),
            **choosing.choose_handlers(self.db, self.clock, settings, self.wake_delivery),
            # The report addresses, the program address and staff's replies to report alerts.
            **report_mail.handlers(self.db, self.clock, settings, self.wake_delivery,
                                   self.staff_actions),
        }
        self._components = list(components)
        self._background = background
        self._tasks: list[asyncio.Task[None]] = []
        self._server: asyncio.AbstractServer | None = None
        self.stopping = asyncio.Event()
        self.smtp_port = 0

    async def start(self) -> None:
        await asyncio.to_thread(migrate, self.db.engine)
        released = await self.db.write(
            lambda s: release_own_claims(s, None if self.db.is_sqlite else self._claim_was_ours))
        if released:
            log.info("resumed %d outbox row(s) interrupted by the last stop", released)
        self._tasks.append(asyncio.create_task(self.writer.run(), name="ingest-writer"))
        await self._start_smtp()
        if self._background:
            self._tasks.append(asyncio.create_task(self._process_loop(), name="processor"))
            self._tasks.append(asyncio.create_task(self._deliver_loop(), name="delivery"))
        for component in self._components:
            self._tasks.append(asyncio.create_task(component(self), name="component"))
        log.info("gateway %s listening for SMTP on %s:%d for @%s", self.instance,
                 self.settings.smtp.host, self.smtp_port, self.settings.gateway.domain)

    def _claim_was_ours(self, claimed_by: str | None) -> bool:
        """Ours: this instance's name, or (default names) a process on this host that is gone;
        its rows would otherwise wait for their lease to run out after a kill -9."""
        if claimed_by == self.instance:
            return True
        if self.settings.gateway.instance_name or claimed_by is None:
            return False
        host, _, pid = claimed_by.rpartition(":")
        return host == socket.gethostname() and pid.isdigit() and not _process_alive(int(pid))

    async def _start_smtp(self) -> None:
        smtp = self.settings.smtp
        handler = GatewayHandler(self.db, self.writer, domain=self.settings.gateway.domain,
                                 max_message_bytes=smtp.max_message_bytes,
                                 special=self.special_recipients, doors=self.doors,
                                 max_recipients=smtp.max_recipients)
        loop = asyncio.get_running_loop()
        gate = SessionGate(self.settings.limits.max_sessions)

        def factory() -> GatewaySMTP:
            return GatewaySMTP(handler, data_size_limit=smtp.max_message_bytes, gate=gate,
                               hostname=self.settings.gateway.domain, ident="Mentor Gateway")

        self._server = await loop.create_server(factory, host=smtp.host, port=smtp.port)
        self.smtp_port = self._server.sockets[0].getsockname()[1]

    async def process_once(self) -> int:
        postgres = not self.db.is_sqlite
        moderate, check_jobs = self.moderate, self.checker.check_jobs

        ride = self.delivery.ride() if postgres else None

        def apply(session: Session, plans: list[Plan]) -> tuple[int, list[Handled]]:
            now = self.clock.now()
            count = apply_plans(session, self.settings, plans, now, postgres=postgres,
                                on_held=self._on_held, on_report=self._on_report)
            session.flush()  # read back in the same transaction: one transaction less per round
            handled = handled_messages(session, [plan.message_id for plan in plans], now)
            # Delivery's claim (and its last results) in this transaction too: the forwards
            # just queued are claimed here, and the delivery round only sends them.
            assert ride is not None
            ride.run(session, now)
            return count, handled

        try:
            if postgres:
                # One transaction whose claim locks the batch (SKIP LOCKED) through the rules:
                # other instances take other messages instead of moderating the same ones.
                def both(session: Session) -> tuple[int, list[Handled]]:
                    plans = plan_batch(session, moderate, self.settings, lock=True,
                                       check_jobs=check_jobs)
                    return apply(session, plans) if plans else (0, [])

                count, handled = await self.db.write(both)
            else:
                # Moderate in a read transaction, then write the outcome: the single writer
                # keeps storing incoming mail while the rules run.
                plans = await self.db.read(lambda s: plan_batch(s, moderate, self.settings,
                                                                check_jobs=check_jobs))
                # Taken only now: delivery holds back its sends while a ride has its results
                # (DeliveryWorker.ride), so not through the rules as well.
                ride = self.delivery.ride() if plans else None
                count, handled = await self.db.write(lambda s: apply(s, plans)) if plans \
                    else (0, [])
        except BaseException:
            if ride is not None:
                ride.undo()
            raise
        if (ride is not None and ride.done()) or count:
            self._deliver_wake.set()
        self.metrics.record(handled)
        return count

    def _on_held(self, session: Session, message: Message, people: PairPeople, now: datetime) -> None:
        notify_moderators_of_hold(session, self.settings, message, people, now,
                                  self.moderator_actions)

    def _on_report(self, session: Session, message: Message, people: PairPeople, now: datetime) -> None:
        report_mail.report_from_relay(session, self.settings, message, people, now,
                                      self.staff_actions)

    def wake_delivery(self) -> None:
        self._deliver_wake.set()

    async def pump(self) -> None:
        """Process and deliver until nothing is due now (tests and `run` commands use it)."""
        while await self.process_once() or await self.delivery.run_once():
            pass

    async def _process_loop(self) -> None:
        await self._loop(self.process_once, self._process_wake, RECEIVED_BATCH,
                         gather=self.settings.processing.gather_ms / 1000)

    async def _deliver_loop(self) -> None:
        await self._loop(self.delivery.run_once, self._deliver_wake, OUTBOX_BATCH)

    async def _loop(self, step: Callable[[], Awaitable[int]], wake: asyncio.Event,
                    full: int, *, gather: float = 0.0) -> None:
        """Run `step` when woken (or by a slowing poll). The wake-up is cleared before the step
        looks for work, so one that comes during the step runs it again; only a full batch
        looks again at once: an empty look costs a transaction per message at low load.
        Woken after a step that was not full, it waits `gather` seconds first, for the work
        that follows to join."""
        poll = IDLE_POLL_SECONDS
        while not self.stopping.is_set():
            wake.clear()
            try:
                done = await step()
            except Exception:
                log.exception("worker step failed; retrying shortly")
                done = 0
            if done:
                poll = IDLE_POLL_SECONDS
                if done >= full:
                    continue
            try:
                await asyncio.wait_for(wake.wait(), poll)
                poll = IDLE_POLL_SECONDS  # told about work: poll briskly again
                # Even when mail came during the step: at a moderate rate that is one message,
                # and looking at once would take the messages one at a time again.
                if gather and not self.stopping.is_set():
                    await self._sleep(gather)
            except TimeoutError:
                poll = poll if done else min(2 * poll, IDLE_POLL_MAX_SECONDS)

    async def stop(self) -> None:
        """Stop accepting, let in-flight sessions and the current work finish, then close."""
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 5)
        self.stopping.set()
        self._process_wake.set()
        self._deliver_wake.set()
        workers = self._tasks[1:]
        if workers:
            await asyncio.wait(workers, timeout=30)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.delivery.close()
        await asyncio.to_thread(self.checker.close)
        await asyncio.to_thread(self.db.close)
        log.info("gateway stopped")
