"""The outbox worker: claim due rows, send them, record SENT / DEFERRED / FAILED (and tell a callback)."""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from sqlalchemy import bindparam, case, update
from sqlmodel import Session

from gateway.clock import Clock
from gateway.delivery.results import OnFailed, record_results
from gateway.delivery.retry import RetryPolicy
from gateway.delivery.transports import SendResult, Transport
from gateway.store.db import Database
from gateway.store.lifecycle import Claimed, claim_due
from gateway.store.models import Outbox

log = logging.getLogger("gateway.delivery")
# 1 would be the narrowest window, but then each connection waits for a commit (behind
# SQLite's single writer) after every message, and delivery falls behind under load.
UNRECORDED_PER_CONNECTION = 2
RECORD_ATTEMPTS = 5
RECORD_RETRY_SECONDS = 0.2
# How long a connection's last result of a round waits for the next round's claim to share its
# transaction; a gateway receiving a message every 20-50 ms saves one transaction per message.
CARRY_SECONDS = 0.1
# A round waits this long at most for rides holding results to end (they end with their
# transaction); past it, the bound on unrecorded sends gives way to sending at all.
RIDE_WAIT_SECONDS = 10.0


# A result sent but not yet committed, and when it came (what it is recorded as of).
_Carried = tuple[datetime, tuple[int, SendResult]]
_OUTBOX = Outbox.__table__  # type: ignore[attr-defined]
_RELEASE = (update(_OUTBOX)
            .where(_OUTBOX.c.id.in_(bindparam("ids", expanding=True)),
                   _OUTBOX.c.state == "sending", _OUTBOX.c.claimed_by == bindparam("instance"))
            .values(state=case((_OUTBOX.c.attempts > 0, "deferred"), else_="queued"),
                    claimed_until=None))


class DeliveryWorker:
    """Sends with `len(transports)` connections in parallel, one coroutine per connection.

    Each connection's last result of a round is committed with the next round's claim (one
    transaction instead of two for every message of a lightly loaded gateway), or after
    CARRY_SECONDS when no round comes; close() commits what is left. When results of the round
    wait for a commit anyway, the last result joins them instead. A round with at most
    UNRECORDED_PER_CONNECTION rows per connection carries all of its results that way."""

    def __init__(self, db: Database, clock: Clock, policy: RetryPolicy,
                 transports: Sequence[Transport], instance: str,
                 on_failed: OnFailed | None = None) -> None:
        self._db = db
        self._on_failed = on_failed
        self._clock = clock
        self._policy = policy
        self._transports = list(transports)
        self._instance = instance
        self._carried: list[_Carried] = []  # sent, not yet committed
        self._handed: list[Claimed] = []  # claimed in another transaction (Ride), to send
        self._flush_timer: asyncio.TimerHandle | None = None
        self._flushes: set[asyncio.Task[None]] = set()
        self._riding = 0  # rides holding results not yet committed
        self._rides_over = asyncio.Event()
        self._rides_over.set()

    def ride(self) -> Ride:
        """The carried results and the next claim, for another write transaction to take along
        (the relay's, which just queued forwards): a transaction less per message at a low
        rate, where each round is one message. Ride.run goes in that transaction; after its
        commit Ride.done hands the claimed rows to the next round, after a failure Ride.undo
        gives the results back. While a ride holds results, no round sends: those results
        are sent and not yet recorded, and count against UNRECORDED_PER_CONNECTION."""
        carried = self._take_carried()
        if carried:
            self._results_held()
        return Ride(self, carried)

    def _results_held(self) -> None:
        self._riding += 1
        self._rides_over.clear()

    def _ride_ended(self) -> None:
        self._riding -= 1
        if not self._riding:
            self._rides_over.set()

    async def _wait_for_rides(self) -> None:
        if self._rides_over.is_set():
            return
        try:
            await asyncio.wait_for(self._rides_over.wait(), RIDE_WAIT_SECONDS)
        except TimeoutError:
            log.warning("a ride kept delivery results for %ss; sending anyway",
                        RIDE_WAIT_SECONDS)

    async def run_once(self) -> int:
        """Commit the carried results and claim in one transaction, then send and record;
        returns how many rows were attempted."""
        await self._wait_for_rides()
        handed, self._handed = self._handed, []
        if handed and not self._carried:
            # Claimed in the relay's transaction (Ride), which recorded what was carried then:
            # only the sending is left.
            await self._send_and_record(handed)
            return len(handed)
        # Results carried since (a round that ended after the ride was taken) are committed
        # before anything more is sent: a kill must never find more than a connection's
        # UNRECORDED_PER_CONNECTION sent and unrecorded, so carried results never pile up.
        try:
            claimed = await self._record_and_claim()
        except Exception:
            await self._release([item.id for item in handed])
            raise
        claimed = handed + claimed
        if not claimed:
            return 0
        await self._send_and_record(claimed)
        return len(claimed)

    async def _record_and_claim(self) -> list[Claimed]:
        """The carried results and a claim, in one transaction when it can."""
        now = self._clock.now()
        postgres = not self._db.is_sqlite
        carried = self._take_carried()

        def record_and_claim(session: Session) -> list[Claimed]:
            self._record_carried(session, carried)
            return claim_due(session, now, self._instance, postgres=postgres)

        try:
            return await self._db.write(record_and_claim)
        except Exception:
            if not carried:
                raise
            # As before carrying: the results in their own transaction (with its retries).
            log.warning("could not record %d delivery result(s) with a claim; alone now",
                        len(carried), exc_info=True)
            await self._record_alone(carried)
            return await self._db.write(
                lambda s: claim_due(s, now, self._instance, postgres=postgres))

    async def _send_and_record(self, claimed: list[Claimed]) -> None:
        """Send on every connection; results are committed while sending goes on (results that
        arrive together share one commit), but a connection never has more than
        UNRECORDED_PER_CONNECTION messages sent and not yet committed: a crash between a
        smarthost's 250 and our commit re-sends at most that many per connection. The last
        result of each connection is carried to the next claim (see the class) unless results
        of this round wait for a commit, which it then joins. A round small enough for every
        connection's window is sent without any commit (_send_and_carry)."""
        if len(claimed) <= UNRECORDED_PER_CONNECTION * len(self._transports):
            await self._send_and_carry(claimed)
            return
        todo: asyncio.Queue[Claimed] = asyncio.Queue()
        for item in claimed:
            todo.put_nowait(item)
        recorder = _GroupCommit(self._record)

        async def sender(transport: Transport) -> None:
            unrecorded: collections.deque[asyncio.Task[None]] = collections.deque()
            try:
                while not todo.empty():
                    item = todo.get_nowait()
                    result = await transport.send(item.envelope_from, item.recipient, item.data)
                    if todo.empty() and not recorder.busy:
                        # This connection's last of the round, and no waiting group to join: the
                        # next claim's transaction records it.
                        self._carry((item.id, result))
                        break
                    unrecorded.append(asyncio.create_task(recorder.add((item.id, result))))
                    if len(unrecorded) >= UNRECORDED_PER_CONNECTION:
                        await unrecorded.popleft()  # raises when the store refused the group
            finally:  # whatever happened, this connection's commits under way end first
                await asyncio.gather(*unrecorded, return_exceptions=True)

        outcomes = await asyncio.gather(*(sender(t) for t in self._transports),
                                        return_exceptions=True)
        failed = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
        if failed:
            # Every connection stopped sending (the store refuses to record, or a send broke):
            # what none of them took goes back to the queue now rather than when its
            # 10-minute lease runs out; results sent but not recorded are carried (_record).
            unsent = []
            while not todo.empty():
                unsent.append(todo.get_nowait().id)
            await self._release(unsent)
            raise failed[0]

    async def _send_and_carry(self, claimed: list[Claimed]) -> None:
        """A round that fits in the connections' windows (a lightly loaded gateway's, a batch
        of a few messages): each connection sends its share, at most UNRECORDED_PER_CONNECTION,
        and every result is carried to the next claim's transaction. Committing the first
        results at once, as a larger round must, cost one or two transactions more a round:
        at 150 messages a second, in rounds of about six, 0.2 ms of CPU a message."""
        connections = len(self._transports)
        shares = [claimed[n::connections] for n in range(connections)]

        async def sender(transport: Transport, share: list[Claimed]) -> None:
            for sent, item in enumerate(share):
                try:
                    result = await transport.send(item.envelope_from, item.recipient, item.data)
                except Exception:
                    # This one may have reached the smarthost: it keeps its lease. The rest of
                    # the share is due again at once rather than when the lease runs out.
                    await self._release([later.id for later in share[sent + 1:]])
                    raise
                self._carry((item.id, result))

        outcomes = await asyncio.gather(*(sender(transport, share) for transport, share
                                          in zip(self._transports, shares, strict=True) if share),
                                        return_exceptions=True)
        failed = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
        if failed:
            raise failed[0]

    async def _release(self, ids: list[int]) -> None:
        """Claimed rows not sent give their lease back (best effort: else it runs out)."""
        if not ids:
            return
        try:
            await self._db.write(lambda s: s.connection().execute(
                _RELEASE, {"ids": ids, "instance": self._instance}))
        except Exception:
            log.exception("could not give back %d unsent row(s); they are sent when their "
                          "lease runs out", len(ids))
        else:
            log.warning("gave back %d unsent row(s) to the queue", len(ids))

    def _carry(self, result: tuple[int, SendResult]) -> None:
        # Recorded as of now (its sent_at, its next attempt), whenever it is committed.
        self._carried.append((self._clock.now(), result))
        if self._flush_timer is None:
            self._flush_timer = asyncio.get_running_loop().call_later(
                CARRY_SECONDS, self._flush_soon)

    def _take_carried(self) -> list[_Carried]:
        carried, self._carried = self._carried, []
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        return carried

    def _give_back(self, carried: list[_Carried]) -> None:
        self._carried[:0] = carried
        if self._carried and self._flush_timer is None:
            self._flush_timer = asyncio.get_running_loop().call_later(
                CARRY_SECONDS, self._flush_soon)

    def _flush_soon(self) -> None:
        self._flush_timer = None
        task = asyncio.create_task(self._flush())
        self._flushes.add(task)
        task.add_done_callback(self._flushes.discard)

    async def _flush(self) -> None:
        """Commit the carried results in their own transaction (no claim came in time)."""
        carried = self._take_carried()
        if not carried:
            return
        self._results_held()  # outside a round, as a ride's: rounds wait for the commit
        try:
            await self._record_alone(carried)
        except Exception:  # the lease runs out and they are sent again: logged, not lost
            log.exception("could not record %d delivery result(s)", len(carried))
        finally:
            self._ride_ended()

    def _record_carried(self, session: Session, carried: list[_Carried]) -> None:
        """record_results for carried results in one go, as of when the last of them came (a
        group commit records its group as of one time too)."""
        if carried:
            record_results(session, self._policy, max(done_at for done_at, _ in carried),
                           [result for _, result in carried], self._instance, self._on_failed)

    async def _record_alone(self, carried: list[_Carried]) -> None:
        """Results in their own transaction, retrying transient failures (e.g. a PostgreSQL
        deadlock): a result that is never recorded means the message is sent again after the
        lease."""
        for attempt in range(1, RECORD_ATTEMPTS + 1):
            try:
                await self._db.write(lambda s: self._record_carried(s, carried))
                return
            except Exception:
                if attempt == RECORD_ATTEMPTS:
                    # Still leased to us: the next claim's transaction tries again, rather
                    # than sending them a second time once the lease runs out.
                    self._carried.extend(carried)
                    raise
                log.warning("could not record %d delivery result(s) (attempt %d); retrying",
                            len(carried), attempt, exc_info=True)
                await asyncio.sleep(RECORD_RETRY_SECONDS * attempt)

    async def _record(self, results: list[tuple[int, SendResult]]) -> None:
        """Commit results as of now (the group commit of a round)."""
        now = self._clock.now()
        await self._record_alone([(now, result) for result in results])

    async def close(self) -> None:
        """Commit what was carried, then close the connections."""
        if self._flushes:
            await asyncio.gather(*self._flushes, return_exceptions=True)
        await self._flush()
        for transport in self._transports:
            await transport.close()


class Ride:
    """A delivery claim taken along by another write transaction (DeliveryWorker.ride)."""

    def __init__(self, worker: DeliveryWorker, carried: list[_Carried]) -> None:
        self._worker, self._carried = worker, carried
        self._claimed: list[Claimed] | None = None  # None: not run (the transaction had no use)
        self._open = bool(carried)  # holds results: the worker's rounds wait for its end

    def run(self, session: Session, now: datetime) -> None:
        """In the transaction (its thread): record the carried results, claim what is due."""
        worker = self._worker
        worker._record_carried(session, self._carried)
        self._claimed = claim_due(session, now, worker._instance,
                                  postgres=not worker._db.is_sqlite)

    def done(self) -> int:
        """After the commit: the next round sends the claimed rows; how many. Not run, the
        results are given back."""
        if self._claimed is None:
            self.undo()
            return 0
        self._end()
        self._worker._handed.extend(self._claimed)
        return len(self._claimed)

    def undo(self) -> None:
        """After a failed transaction: nothing was claimed, the results are still to record."""
        self._end()
        self._worker._give_back(self._carried)

    def _end(self) -> None:
        if self._open:
            self._open = False
            self._worker._ride_ended()


class _GroupCommit:
    """add() returns once the result is committed; whoever commits takes everything pending."""

    def __init__(self, commit: Callable[[list[tuple[int, SendResult]]], Awaitable[None]]) -> None:
        self._commit = commit
        self._pending: list[tuple[tuple[int, SendResult], asyncio.Future[None]]] = []
        self._lock = asyncio.Lock()

    @property
    def busy(self) -> bool:
        """Results wait for a commit that will come anyway: one added now joins them for free
        (a commit merely under way would mean one more transaction after it)."""
        return bool(self._pending)

    async def add(self, result: tuple[int, SendResult]) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((result, done))
        async with self._lock:
            if not done.done():  # nobody committed ours while we waited for the lock
                group, self._pending = self._pending, []
                try:
                    await self._commit([r for r, _ in group])
                except Exception as exc:
                    for _, future in group:
                        future.set_exception(exc)
                else:
                    for _, future in group:
                        future.set_result(None)
        await done
