"""Outbox delivery.

Claims due outbox rows, sends them through their channel within the platform's rate limits, and
records the outcome. Messages to one address go out in order through one *lane*; lanes run in
parallel under a per-channel global limit. A 429 reschedules the lane after the platform's
``retry_after``; other retryable errors back off exponentially; permanent errors (blocked,
chat not found) are recorded and never retried. Outcomes are written in small group commits.

Delivery is at-least-once across crashes: a row claimed by a process that died is claimed again
after its lease runs out. Within one process each row is sent once.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import time
from collections import deque
from datetime import timedelta
from typing import Any, Protocol

from bot.channels.base import RateLimit, mask
from bot.delivery.inflight import InFlight
from bot.delivery.ordering import ChatOrder
from bot.delivery.outcomes import (
    WAITING_BEHIND,
    ChatKey,
    FailedFinal,
    OnFailed,
    PendingOutcomes,
    Released,
    Retry,
    Sent,
    failure_reports,
    write_outcomes,
)
from bot.delivery.rates import Buckets, TokenBucket
from bot.domain.clock import Clock, SystemClock
from bot.domain.messages import SendError, SendResult
from storage import Database, rate_repo
from storage.core_repo import ClaimedMessage

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 12
MAX_BACKOFF = 600.0


def backoff_seconds(attempts: int) -> float:
    """1, 2, 4 … capped at 10 minutes, with ±20 % jitter so a recovered platform is not stampeded."""
    base = min(MAX_BACKOFF, 2.0 ** max(0, attempts - 1))
    return base * random.uniform(0.8, 1.2)


class ChannelSender(Protocol):
    """What delivery needs of a channel: send one payload to one address."""

    async def send(self, address: str, payload: dict[str, Any], *, ref: int | None = None) -> SendResult: ...


class _Lane:
    """One chat's claimed rows, sent in order by one task under the chat's token bucket."""

    __slots__ = ("key", "rows", "bucket", "task")

    def __init__(self, key: ChatKey, bucket: TokenBucket) -> None:
        self.key = key
        self.rows: deque[ClaimedMessage] = deque()
        self.bucket = bucket
        self.task: asyncio.Task | None = None


class OutboxSender:
    """Claims due rows, sends them lane by lane and records what became of them."""

    def __init__(
        self,
        db: Database,
        senders: dict[str, ChannelSender],
        *,
        clock: Clock | None = None,
        limits: dict[str, RateLimit] | None = None,
        max_in_flight: int = 200,
        max_bulk_in_flight: int = 60,
        lease: timedelta = timedelta(minutes=5),
        poll_interval: float = 1.0,
        # delivery outcomes are gathered this long and written in one transaction: on SQLite each
        # such transaction takes the one writer's turn from the group commit (bench.turn: 0.05 s
        # instead of 0.01 s, 6 % more turns/s); it delays only the bookkeeping, never a message
        flush_interval: float = 0.05,
        on_failed: OnFailed | None = None,
    ) -> None:
        self.db = db
        self.senders = senders
        self.clock = clock or SystemClock()
        self.lease = lease
        self.poll_interval = poll_interval
        self.flush_interval = flush_interval
        #: called in the transaction that records a message as failed for good, with the row's
        #: ``on_failure`` (whom to tell), when it has one: tells that staff member
        self.on_failed = on_failed
        # several instances may share a PostgreSQL database: the platforms' global limits hold for
        # all of them together (budgets leased from the database, storage/rate_repo.py)
        shared = functools.partial(rate_repo.lease, db.engine) if db.dialect == "postgresql" else None
        self.buckets = Buckets(limits, lease=shared)
        self.in_flight = InFlight(max_in_flight, max_bulk_in_flight)
        self.order = ChatOrder()
        self.outcomes = PendingOutcomes()
        self._lanes: dict[ChatKey, _Lane] = {}
        self._wake = asyncio.Event()
        self._running = False
        self._tasks: set[asyncio.Task] = set()
        self.stats = {"sent": 0, "retried": 0, "failed": 0, "rate_limited": 0}

    # ---- public ---------------------------------------------------------------------------
    def wake(self) -> None:
        """Called after every commit that added outbox rows: replies go out at once."""
        self._wake.set()

    async def start(self) -> None:
        self._running = True
        for coro in (self._claim_loop(), self._flush_loop()):
            task = asyncio.create_task(coro)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        """Stop claiming, let the loops finish their transaction, give unsent rows back."""
        self._running = False
        self._wake.set()
        self.outcomes.ready.set()
        lanes = [lane.task for lane in self._lanes.values() if lane.task]
        for t in lanes:  # lanes hold no transaction: safe to cancel mid-send
            t.cancel()
        await asyncio.gather(*lanes, return_exceptions=True)
        # rows still queued in lanes stay 'sending' and are reclaimed after the lease; give the
        # ones we know about back now so a restart sends them at once
        leftover = [row for lane in self._lanes.values() for row in lane.rows]
        self._lanes.clear()
        for row in leftover:
            self.outcomes.add(Released(row.id))
        done, pending = await asyncio.wait(self._tasks, timeout=10) if self._tasks else (set(), set())
        for t in pending:
            t.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        try:
            await self._flush()
        except Exception as exc:
            log.warning(
                "outbox results not recorded at shutdown (%s); rows are reclaimed after their lease", type(exc).__name__
            )

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait until nothing is in flight and no row is due now (tests, ``kanal jobs run``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            # never wake a claim that is running: the loop would claim again at once, and on a slow
            # machine (a claim over 20 ms) this check found it claiming every time until the timeout
            if not self.order.claiming:
                self.wake()
            await asyncio.sleep(0.02)
            busy = self.in_flight.count or self.outcomes.busy() or self.order.claiming
            if not busy and await self._nothing_due():
                return
        raise TimeoutError("outbox not drained in time")

    # ---- claiming -------------------------------------------------------------------------
    async def _nothing_due(self) -> bool:
        async with self.db.unit_of_work() as uow:
            return not await uow.outbox.any_due(self.clock.now(), self.senders)

    async def _claim_loop(self) -> None:
        while self._running:
            # clear before claiming: a commit that lands during the claim wakes the next round
            self._wake.clear()
            try:
                await self._claim_round()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # database gone: keep trying, the rows are safe in the outbox
                log.warning("outbox claim failed (%s); retrying", type(exc).__name__)
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval)
            except TimeoutError:
                pass

    async def _claim_round(self) -> None:
        """Claim as many rows as there is room for and hand them to their chats' lanes."""
        room = self.in_flight.new_round()
        if room <= 0:
            self.in_flight.claimed(room, 0)
            return
        with self.order.claim():
            rows = await self._claim(room)
            self.order.claimed(row.id for row in rows)
            for row in rows:
                self._enqueue_lane(row)
        # a full batch: more may be due; lanes wake us as they free room
        self.in_flight.claimed(room, len(rows))

    async def _claim(self, limit: int) -> list[ClaimedMessage]:
        """Replies first, then at most ``max_bulk_in_flight`` other messages in flight.

        A person who writes during a broadcast to 10,000 people must not wait for the broadcast:
        their answer is claimed before any notification, and only about two seconds' worth of a
        broadcast (at Telegram's 30/s) is claimed at a time, so the answer's lane queues for the
        channel's rate behind at most that many (``bench.fanout``). An answer may thereby
        overtake a notification to the same person that was still waiting to be claimed.
        """
        async with self.db.unit_of_work() as uow:
            repo = uow.outbox
            now = self.clock.now()
            rows = list(await repo.claim_due(now, limit=limit, lease=self.lease, channels=self.senders, replies=True))
            bulk_room = self.in_flight.bulk_room(limit - len(rows))
            bulk = []
            if bulk_room > 0:
                bulk = await repo.claim_due(
                    now, limit=bulk_room, lease=self.lease, channels=self.senders, replies=False
                )
            self.in_flight.bulk_claimed(bulk_room, len(bulk))
            if rows or bulk:
                await self._seed_pacing(uow, [*rows, *bulk], now)
                await uow.commit()
            self.in_flight.add_bulk([r.id for r in bulk])
            return rows + list(bulk)

    async def _seed_pacing(self, uow: Any, rows: list[ClaimedMessage], now: Any) -> None:
        """Several instances: a chat whose rows this instance has no lane for may have been sent to
        by another one a moment ago; its bucket starts from those sends (one query per claim)."""
        windows = {ch: self.buckets.pacing_window(ch) for ch in {r.channel for r in rows}}
        new = {(r.channel, r.address) for r in rows if windows[r.channel] and (r.channel, r.address) not in self._lanes}
        if new:
            since = now - timedelta(seconds=max(w for w in windows.values() if w))
            for key, sent in (await uow.outbox.recent_sends(new, since)).items():
                self.buckets.seed(key, sent, now)

    def _enqueue_lane(self, row: ClaimedMessage) -> None:
        """Hand a claimed row to its chat's lane, or give it back when an earlier message to that
        chat waits for a retry."""
        key = (row.channel, row.address)
        until = self.order.hold_until(key, row.id, self.clock.now())
        if until is not None:
            self.in_flight.give_back(row.id)
            self._hold(Retry(row.id, key, until, WAITING_BEHIND, counts_attempt=False))
            self.outcomes.ready.set()
            return
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = _Lane(key, self.buckets.chat(key))
        lane.rows.append(row)
        self.in_flight.start()
        if lane.task is None:
            lane.task = asyncio.create_task(self._run_lane(lane))

    # ---- sending --------------------------------------------------------------------------
    async def _run_lane(self, lane: _Lane) -> None:
        channel = lane.key[0]
        sender = self.senders[channel]
        try:
            while lane.rows:
                row = lane.rows[0]
                await self.buckets.acquire(channel, lane.bucket, urgent=row.purpose == "reply")
                outcome = await self._attempt(sender, row)
                lane.bucket.answered()
                if isinstance(outcome, SendError):
                    self._retry_lane(lane, outcome)
                    return
                self._done(lane, outcome)
        finally:
            self._lane_ended(lane)

    async def _attempt(self, sender: ChannelSender, row: ClaimedMessage) -> Sent | FailedFinal | SendError:
        """Send one row: what became of it, or the retryable error that pauses its lane."""
        try:
            if "undeliverable" in row.payload:
                raise SendError(str(row.payload["undeliverable"]), retryable=False)
            result = await sender.send(row.address, row.payload, ref=row.id)
        except SendError as exc:
            if exc.retryable:
                return exc
            log.warning("outbox %s to %s:%s failed for good: %s", row.id, row.channel, mask(row.address), exc)
            return FailedFinal(row.id, str(exc), row.on_failure, row.forget)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug in a sender: keep the row, back off
            log.exception("outbox sender %s crashed on row %s", row.channel, row.id)
            return SendError(type(exc).__name__, retryable=True)
        return Sent(row.id, result.platform_message_id, row.forget)

    def _lane_ended(self, lane: _Lane) -> None:
        lane.task = None
        # cancelled with rows left: stop() releases them
        if not lane.rows and self._lanes.get(lane.key) is lane:
            del self._lanes[lane.key]
            self.buckets.park(lane.key, lane.bucket)  # keep the chat's recent rate history a while
        if self.in_flight.wants_claim():
            self._wake.set()

    def _done(self, lane: _Lane, outcome: Sent | FailedFinal) -> None:
        row = lane.rows.popleft()
        self.in_flight.finish(row.id)
        self.outcomes.add(outcome)
        self.stats["sent" if isinstance(outcome, Sent) else "failed"] += 1
        self.outcomes.ready.set()

    def _retry_lane(self, lane: _Lane, exc: SendError) -> None:
        """Hold the whole lane (order is kept) until the platform lets us send again."""
        first, *rest = lane.rows
        lane.rows.clear()
        for r in (first, *rest):
            self.in_flight.finish(r.id)
        rate_limited = exc.retry_after is not None
        if rate_limited:
            delay = float(exc.retry_after)
            self.stats["rate_limited"] += 1
        else:
            delay = backoff_seconds(first.attempts)
            self.stats["retried"] += 1
        at = self.clock.now() + timedelta(seconds=delay)
        if not rate_limited and first.attempts >= MAX_ATTEMPTS:  # give up
            self.outcomes.add(
                FailedFinal(first.id, f"gave up after {first.attempts} attempts: {exc}", first.on_failure, first.forget)
            )
            self.stats["failed"] += 1
            at = self.clock.now()
        else:
            self._hold(Retry(first.id, lane.key, at, str(exc), counts_attempt=not rate_limited))
        for r in rest:  # not tried: does not count as an attempt
            self._hold(Retry(r.id, lane.key, at, WAITING_BEHIND, counts_attempt=False))
        if at > self.clock.now():
            self.order.pause(lane.key, at, self.clock.now())
        log.info("outbox lane %s:%s paused %.1fs (%s)", lane.key[0], mask(lane.key[1]), delay, exc)
        self.outcomes.ready.set()

    def _hold(self, retry: Retry) -> None:
        """Give a row back for a retry; its chat holds later rows until that is written."""
        self.outcomes.add(retry)
        self.order.held(retry)

    # ---- recording ------------------------------------------------------------------------
    async def _flush_loop(self) -> None:
        while self._running:
            await self.outcomes.ready.wait()
            if not self._running:
                return  # stop() flushes what is left
            await asyncio.sleep(self.flush_interval)  # group commit: gather what arrives meanwhile
            self.outcomes.ready.clear()
            try:
                await self._flush()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("outbox results not recorded yet (%s); retrying", type(exc).__name__)
                await asyncio.sleep(self.poll_interval)
                self.outcomes.ready.set()

    async def _flush(self) -> None:
        if not self.outcomes.items:
            return
        batch = self.outcomes.take()
        self.outcomes.writing = True
        try:
            async with self.db.unit_of_work() as uow:
                await write_outcomes(uow, batch, self.clock.now(), self.on_failed)
                await uow.commit()
        except BaseException:
            self.outcomes.put_back(batch)  # keep them for the next try
            raise
        finally:
            self.outcomes.writing = False
        for outcome in batch:
            if isinstance(outcome, Retry):
                self.order.written(outcome)
        # several instances (PostgreSQL): a chat's next row is not claimed while one before it is
        # being sent, so a recorded send may have freed a chat's next message
        freed = self.buckets.shared and any(isinstance(o, Sent) for o in batch)
        if freed or failure_reports(batch) or any(isinstance(o, Retry | Released) for o in batch):
            self._wake.set()
