"""Group commit: turns of different people that arrive together run in ONE transaction.

Turns that arrive while a transaction is running wait in a queue; the next transaction takes up to
``KANAL_TURN_BATCH`` of them and runs them one after another (one commit, one writer on SQLite
instead of many contending for the lock). A lone turn runs at once, alone: an idle bot answers with
no added latency. On PostgreSQL two such transactions run at once (``KANAL_TURN_WORKERS``).

Contract:

* Atomic. A batch is one transaction: every turn's user and state changes, domain rows, audit
  events and outbox rows commit together or not at all. No turn's caller hears back (and so no
  platform is acknowledged) before the commit.
* Order per person. A batch holds at most one turn per person; that person's later messages stay
  queued, in arrival order, for a later batch, and no two running transactions hold turns of the
  same person. Across instances the person's locked state row orders them.
* Same result as alone. The reads that start a turn are made for the whole batch up front (the
  users, their state rows locked, the dedupe rows of their messages); after each turn everything
  else it loaded is detached, so the next turn reads the database afresh as if it ran alone after
  it. The changed state rows are written in one executemany that checks each version read; the
  outbox, audit and SKM-answer rows in one executemany per statement at the commit (the unit of
  work's pending writes).
* Failure. If any turn raises, or the state write or the commit fails (SQLite counts the rows of an
  executemany: a row changed behind the batch's back fails it), the whole batch is rolled back and
  every turn runs again alone, with the single-turn path's retries and apology: one person's bad
  turn never costs another person theirs.
* Duplicates. A message whose dedupe row exists already is not run again (``handled=False``), in a
  batch as alone; a batch never holds two messages of one person, so never the same one twice.
* Shutdown. A worker cancelled fails the turns it holds with :class:`DatabaseUnavailable`: they are
  not acknowledged, and the platform sends them again.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Protocol

from bot.domain.clock import Clock
from bot.domain.messages import Inbound
from bot.engine.dedupe import DEFAULT_HORIZON, record_new
from bot.engine.turn import DatabaseUnavailable, Outcome
from storage import Database, UnitOfWork
from storage.models import ConversationState, User

log = logging.getLogger(__name__)


class TurnBody(Protocol):
    """One turn's reads and writes in the caller's unit of work, not committed (the dispatcher's)."""

    def __call__(
        self,
        uow: UnitOfWork,
        inbound: Inbound,
        *,
        user: User | None = None,
        state: ConversationState | None = None,
        states: list[dict] | None = None,
    ) -> Awaitable[Outcome]: ...


class _Waiting:
    __slots__ = ("inbound", "future")

    def __init__(self, inbound: Inbound, future: asyncio.Future) -> None:
        self.inbound = inbound
        self.future = future


class GroupCommit:
    """The queue of waiting turns and the workers that run them in batches.

    ``run_alone(inbound)``: the single-turn path (its own transaction, retries and apology);
    ``run_turn``: a turn's body in a given unit of work; ``commit(uow, turns)``: the commit.
    """

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        batch_size: int,
        workers: int,
        stats: dict[str, int],
        run_alone: Callable[[Inbound], Awaitable[Outcome]],
        run_turn: TurnBody,
        commit: Callable[[UnitOfWork, int], Awaitable[None]],
        dedupe_horizon: timedelta = DEFAULT_HORIZON,
    ) -> None:
        self.db = db
        self.clock = clock
        self.batch_size = batch_size
        self.workers = workers
        self.stats = stats
        self._run_alone = run_alone
        self._run_turn = run_turn
        self._commit = commit
        self.dedupe_horizon = dedupe_horizon
        self._waiting: deque[_Waiting] = deque()
        self._workers: set[asyncio.Task] = set()
        self._in_batch: set[tuple[str, str]] = set()  # people whose turn a running transaction holds

    async def submit(self, inbound: Inbound) -> Outcome:
        """Queue ``inbound`` and return its outcome once its transaction is committed."""
        future = asyncio.get_running_loop().create_future()
        self._waiting.append(_Waiting(inbound, future))
        if len(self._workers) < self.workers:
            worker = asyncio.create_task(self._work())
            self._workers.add(worker)
            # _work removes itself; this covers a worker cancelled before it ever ran
            worker.add_done_callback(self._workers.discard)
        return await future

    async def close(self, timeout: float = 10.0) -> None:
        """Let the turns already taken in finish (they are committed or rolled back, never half)."""
        workers = [w for w in self._workers if not w.done()]
        if not workers:
            return
        _, late = await asyncio.wait(workers, timeout=timeout)
        for worker in late:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)  # their failures went to their callers

    async def _work(self) -> None:
        """Take batches off the queue until it is empty (up to :attr:`workers` of these at a time,
        never two with turns of the same person)."""
        try:
            await self._take_batches()
        finally:
            # at once, not in a done callback: a turn handed in right after this worker saw the
            # queue empty must find it gone and start another
            self._workers.discard(asyncio.current_task())

    async def _take_batches(self) -> None:
        while self._waiting:
            batch = self._next_batch()
            if not batch:
                return  # what waits belongs to people another worker is serving: it goes on
            people = [(w.inbound.channel, w.inbound.user_key) for w in batch]
            self._in_batch.update(people)
            try:
                if len(batch) == 1:
                    await self._settle_alone(batch[0])
                else:
                    await self._run_batch(batch)
            except BaseException as exc:  # cancelled at shutdown: nobody waits forever
                for w in batch:
                    if not w.future.done():
                        w.future.set_exception(DatabaseUnavailable(type(exc).__name__))
                raise
            finally:
                self._in_batch.difference_update(people)

    def _next_batch(self) -> list[_Waiting]:
        """Up to ``batch_size`` waiting turns of different people, in arrival order; a person's
        later messages stay queued, in order, for a later batch."""
        batch: list[_Waiting] = []
        people: set[tuple[str, str]] = set()
        later: list[_Waiting] = []
        while self._waiting and len(batch) < self.batch_size:
            w = self._waiting.popleft()
            if w.future.done():  # the caller gave up (shutdown)
                continue
            key = (w.inbound.channel, w.inbound.user_key)
            if key in people or key in self._in_batch:
                later.append(w)
            else:
                people.add(key)
                batch.append(w)
        self._waiting.extendleft(reversed(later))
        return batch

    async def _settle_alone(self, w: _Waiting) -> None:
        try:
            outcome = await self._run_alone(w.inbound)
        except Exception as exc:
            if not w.future.done():
                w.future.set_exception(exc)
        else:
            if not w.future.done():
                w.future.set_result(outcome)

    async def _run_batch(self, batch: list[_Waiting]) -> None:
        try:
            outcomes = await self._turns_in_one_transaction([w.inbound for w in batch])
        except Exception as exc:
            # one turn failed or the commit did: nothing of the batch is stored; each runs alone
            log.info(
                "group commit of %d turns rolled back (%s); running them one by one", len(batch), type(exc).__name__
            )
            self.stats["batch_fallbacks"] += 1
            for w in batch:
                await self._settle_alone(w)
            return
        self.stats["batches"] += 1
        for w, outcome in zip(batch, outcomes, strict=False):
            if not w.future.done():
                w.future.set_result(outcome)

    async def _turns_in_one_transaction(self, inbounds: list[Inbound]) -> list[Outcome]:
        async with self.db.unit_of_work() as uow:
            uow.begin_group_commit()
            # the reads that start every turn, for the whole batch at once: the people who wrote
            # (users and locked state rows) and the dedupe rows of their messages
            people = await uow.users.people([(i.channel, i.user_key) for i in inbounds])
            known = [people.get((i.channel, i.user_key)) for i in inbounds]
            fresh = await record_new(
                uow,
                [(i.channel, i.external_id, k[0].id) for i, k in zip(inbounds, known, strict=False) if k is not None],
                self.clock.now(),
                self.dedupe_horizon,
            )
            outcomes = []
            states: list[dict] = []  # the changed state rows, written together before the commit
            for n, (inbound, k) in enumerate(zip(inbounds, known, strict=False)):
                if k is None:  # first message of a new person: the turn creates the rows itself
                    outcomes.append(await self._run_turn(uow, inbound, states=states))
                elif (inbound.channel, inbound.external_id) not in fresh:
                    log.info("duplicate %s message %s ignored", inbound.channel, inbound.external_id)
                    outcomes.append(Outcome(handled=False))
                else:
                    outcomes.append(await self._run_turn(uow, inbound, user=k[0], state=k[1], states=states))
                # the next person's turn reads the database afresh, as if it ran alone after this
                # one (a flow may have changed rows with statements the identity map does not
                # see); only the rows read up front for the turns still to come stay loaded
                later = [obj for k2 in known[n + 1 :] if k2 is not None for obj in k2 if obj is not None]
                await uow.detach_all(keep=later)
            await uow.users.write_states(states)
            await self._commit(uow, len(inbounds))
            return outcomes
