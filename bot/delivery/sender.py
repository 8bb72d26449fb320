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
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from bot.domain.clock import Clock, SystemClock
from bot.domain.messages import SendError, SendResult
from storage import Database, Repo
from storage.core_repo import ClaimedMessage

log = logging.getLogger(__name__)


class ChannelSender(Protocol):
    async def send(self, address: str, payload: dict[str, Any], *, ref: int | None = None) -> SendResult: ...


@dataclass(frozen=True)
class RateLimit:
    global_per_second: float
    global_burst: int
    per_address_per_second: float
    per_address_burst: int


UNLIMITED = RateLimit(global_per_second=1e9, global_burst=10**9, per_address_per_second=1e9, per_address_burst=10**9)


def telegram_limit(global_rate: float = 29.0, chat_rate: float = 1.0) -> RateLimit:
    """Telegram: ~30 messages/s per bot, ~1/s per chat sustained (short bursts tolerated). 0 = none.

    The global burst is a third of a second's worth, not a whole second's: a broadcast starting
    from idle that fires ~30 requests at once leaves Telegram's bucket almost empty, and then any
    request that arrives late (a new connection, a busy machine) and bunches with the next ones
    is answered 429 (issue 8, ``bench.fanout``). The sustained rate is the same."""
    g = global_rate if global_rate > 0 else UNLIMITED.global_per_second
    c = chat_rate if chat_rate > 0 else UNLIMITED.per_address_per_second
    burst = max(1, int(min(g, 10**9) / 3)) if global_rate > 0 else 10**9
    return RateLimit(
        global_per_second=g,
        global_burst=burst,
        per_address_per_second=c,
        per_address_burst=3 if chat_rate > 0 else 10**9,
    )


MAX_ATTEMPTS = 12
IDLE_PRUNE_MIN = 1024  # idle chats' rate buckets kept before the full (refilled) ones are dropped
MAX_BACKOFF = 600.0


def backoff_seconds(attempts: int) -> float:
    """1, 2, 4 … capped at 10 minutes, with ±20 % jitter so a recovered platform is not stampeded."""
    base = min(MAX_BACKOFF, 2.0 ** max(0, attempts - 1))
    return base * random.uniform(0.8, 1.2)


class TokenBucket:
    def __init__(self, rate: float, burst: int, now: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.capacity = float(burst)
        self.tokens = float(burst)
        self._now = now
        self.updated = now()

    def _refill(self) -> None:
        t = self._now()
        self.tokens = min(self.capacity, self.tokens + (t - self.updated) * self.rate)
        self.updated = t

    def delay(self) -> float:
        """Seconds until a token is available (0 when one is)."""
        self._refill()
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate

    def take(self) -> None:
        self._refill()
        self.tokens -= 1.0

    def full(self) -> bool:
        self._refill()
        return self.tokens >= self.capacity


class _Lane:
    __slots__ = ("key", "rows", "bucket", "task")

    def __init__(self, key: tuple[str, str], bucket: TokenBucket) -> None:
        self.key = key
        self.rows: deque[ClaimedMessage] = deque()
        self.bucket = bucket
        self.task: asyncio.Task | None = None


class OutboxSender:
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
        on_failed: Callable[[Repo, dict[str, Any], Any], Awaitable[Any]] | None = None,
    ) -> None:
        self.db = db
        self.senders = senders
        self.clock = clock or SystemClock()
        self.limits = limits or {}
        self.max_in_flight = max_in_flight
        self.max_bulk_in_flight = max_bulk_in_flight
        self.lease = lease
        self.poll_interval = poll_interval
        self.flush_interval = flush_interval
        #: called in the transaction that records a message as failed for good, with the row's
        #: ``on_failure`` (whom to tell), when it has one: tells that staff member
        self.on_failed = on_failed
        self._wake = asyncio.Event()
        self._lanes: dict[tuple[str, str], _Lane] = {}
        self._globals: dict[str, TokenBucket] = {}
        self._gates: dict[str, asyncio.Lock] = {}  # one lane at a time waits for the global bucket
        self._idle_buckets: dict[tuple[str, str], TokenBucket] = {}
        self._idle_prune_at = IDLE_PRUNE_MIN
        self._in_flight = 0
        self._bulk: set[int] = set()  # claimed rows that are not replies (see _claim)
        #: chats whose lane is paused for a retry, until when: rows to them claimed meanwhile wait
        #: too (in the database the claim skips them once the retry is recorded; this covers the
        #: moment before that)
        self._paused: dict[tuple[str, str], Any] = {}
        #: chats with retries not yet written (counted per row): until they are, the database
        #: still has the earlier rows as 'sending', so its claim would not hold later rows back,
        #: and a pause that ran out before the write must not let a later row overtake them
        self._unrecorded: dict[tuple[str, str], int] = {}
        #: rows whose retries were written while the running claim read, by chat: its snapshot
        #: (PostgreSQL) or the moment its rows reach their lanes (both databases) may predate that
        #: write, so a later row it claimed for such a chat, without those earlier ones, is given
        #: back too, and the next claim takes them all in order. A claim that took the written
        #: rows themselves saw the write: its rows go out as claimed.
        self._written_during_claim: dict[tuple[str, str], set[int]] = {}
        #: outcomes waiting to be written: (kind, outbox id, info); a "failed" row's info is
        #: (error, whom to tell or None)
        self._results: list[tuple[str, int, Any]] = []
        self._results_ready = asyncio.Event()
        self._running = False
        self._flushing = False
        self._claiming = False
        self._starved = False  # the last claim was cut by max_in_flight: claim again when room frees
        self._starved_bulk = False  # ... or by max_bulk_in_flight
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
        self._results_ready.set()
        lanes = [lane.task for lane in self._lanes.values() if lane.task]
        for t in lanes:  # lanes hold no transaction: safe to cancel mid-send
            t.cancel()
        await asyncio.gather(*lanes, return_exceptions=True)
        # rows still queued in lanes stay 'sending' and are reclaimed after the lease; give the
        # ones we know about back now so a restart sends them at once
        leftover = [row for lane in self._lanes.values() for row in lane.rows]
        self._lanes.clear()
        for row in leftover:
            self._results.append(("release", row.id, None))
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
            if not self._claiming:
                self.wake()
            await asyncio.sleep(0.02)
            busy = self._in_flight or self._results or self._flushing or self._claiming
            if not busy and await self._nothing_due():
                return
        raise TimeoutError("outbox not drained in time")

    # ---- claiming -------------------------------------------------------------------------
    async def _nothing_due(self) -> bool:
        async with self.db.unit_of_work() as uow:
            rows = await Repo(uow.session).claim_due(self.clock.now(), limit=1, lease=self.lease, channels=self.senders)
            return not rows  # rolled back: nothing claimed

    async def _claim_loop(self) -> None:
        while self._running:
            # clear before claiming: a commit that lands during the claim wakes the next round
            self._wake.clear()
            try:
                room = self.max_in_flight - self._in_flight
                self._starved = self._starved_bulk = False
                if room > 0:
                    self._claiming = True
                    self._written_during_claim.clear()
                    try:
                        rows = await self._claim(room)
                        # only needed when a retry was written meanwhile (see _enqueue_lane)
                        claimed = {row.id for row in rows} if self._written_during_claim else frozenset()
                        for row in rows:
                            self._enqueue_lane(row, claimed)
                    finally:
                        self._claiming = False
                    # a full batch: more may be due; lanes wake us as they free room
                    self._starved = len(rows) == room
                else:
                    self._starved = True
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # database gone: keep trying, the rows are safe in the outbox
                log.warning("outbox claim failed (%s); retrying", type(exc).__name__)
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval)
            except TimeoutError:
                pass

    async def _claim(self, limit: int) -> list[ClaimedMessage]:
        """Replies first, then at most ``max_bulk_in_flight`` other messages in flight.

        A person who writes during a broadcast to 10,000 people must not wait for the broadcast:
        their answer is claimed before any notification, and only about two seconds' worth of a
        broadcast (at Telegram's 30/s) is claimed at a time, so the answer's lane queues for the
        channel's rate behind at most that many (``bench.fanout``). An answer may thereby
        overtake a notification to the same person that was still waiting to be claimed.
        """
        async with self.db.unit_of_work() as uow:
            repo = Repo(uow.session)
            now = self.clock.now()
            rows = list(await repo.claim_due(now, limit=limit, lease=self.lease, channels=self.senders, replies=True))
            bulk_room = min(limit - len(rows), self.max_bulk_in_flight - len(self._bulk))
            if bulk_room > 0:
                bulk = await repo.claim_due(
                    now, limit=bulk_room, lease=self.lease, channels=self.senders, replies=False
                )
                if len(bulk) == bulk_room:
                    self._starved_bulk = True  # more may be due: claim again when lanes free room
            else:
                bulk = []
                self._starved_bulk = self.max_bulk_in_flight <= len(self._bulk)
            if rows or bulk:
                await uow.commit()
            self._bulk.update(r.id for r in bulk)
            return rows + list(bulk)

    def _enqueue_lane(self, row: ClaimedMessage, claimed: AbstractSet[int]) -> None:
        """Hand a claimed row to its chat's lane, or give it back when an earlier message to that
        chat waits for a retry (``claimed``: the ids of the claim it came with)."""
        key = (row.channel, row.address)
        until = self._paused.get(key)
        now = self.clock.now()
        if until is not None and now >= until:
            del self._paused[key]
            until = None
        written = self._written_during_claim.get(key)
        if (
            until is not None
            or self._unrecorded.get(key)
            or (written and any(i < row.id and i not in claimed for i in written))
        ):
            # an earlier message to this chat waits for its retry
            self._bulk.discard(row.id)
            self._hold(key, row.id, until or now, "waiting behind an earlier message", False)
            self._results_ready.set()
            return
        lane = self._lanes.get(key)
        if lane is None:
            limit = self.limits.get(row.channel, UNLIMITED)
            bucket = self._idle_buckets.pop(key, None) or TokenBucket(
                limit.per_address_per_second, limit.per_address_burst
            )
            lane = self._lanes[key] = _Lane(key, bucket)
        lane.rows.append(row)
        self._in_flight += 1
        if lane.task is None:
            lane.task = asyncio.create_task(self._run_lane(lane))

    def _global(self, channel: str) -> TokenBucket:
        bucket = self._globals.get(channel)
        if bucket is None:
            limit = self.limits.get(channel, UNLIMITED)
            bucket = self._globals[channel] = TokenBucket(limit.global_per_second, limit.global_burst)
        return bucket

    # ---- sending --------------------------------------------------------------------------
    async def _run_lane(self, lane: _Lane) -> None:
        channel = lane.key[0]
        sender = self.senders[channel]
        glob = self._global(channel)
        try:
            while lane.rows:
                row = lane.rows[0]
                while (wait := lane.bucket.delay()) > 0:
                    await asyncio.sleep(wait)
                # lanes queue (FIFO) for the channel's bucket instead of all polling it: with
                # hundreds of lanes in a broadcast, polling woke every lane for every token
                # (≈ 15 % of the sender's CPU in bench.fanout; a busy loop bunches requests)
                gate = self._gates.get(channel) or self._gates.setdefault(channel, asyncio.Lock())
                async with gate:
                    while (wait := glob.delay()) > 0:
                        await asyncio.sleep(wait)
                    glob.take()
                lane.bucket.take()  # only this lane takes from its own bucket: still ≥ 1 token
                try:
                    if "undeliverable" in row.payload:
                        raise SendError(str(row.payload["undeliverable"]), retryable=False)
                    result = await sender.send(row.address, row.payload, ref=row.id)
                except SendError as exc:
                    if exc.retryable:
                        self._retry_lane(lane, exc)
                        return
                    self._done(lane, ("failed", row.id, (str(exc), row.on_failure)))
                    log.warning("outbox %s to %s:%s failed for good: %s", row.id, channel, _mask(row.address), exc)
                    continue
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # a bug in a sender: keep the row, back off
                    log.exception("outbox sender %s crashed on row %s", channel, row.id)
                    self._retry_lane(lane, SendError(type(exc).__name__, retryable=True))
                    return
                self._done(lane, ("sent", row.id, result.platform_message_id))
        finally:
            lane.task = None
            # cancelled with rows left: stop() releases them
            if not lane.rows and self._lanes.get(lane.key) is lane:
                del self._lanes[lane.key]
                if not lane.bucket.full():  # keep the chat's recent rate history a while
                    self._idle_buckets[lane.key] = lane.bucket
                    if len(self._idle_buckets) > self._idle_prune_at:
                        self._prune_idle_buckets()
            # refill when half the room is free, not at every finished lane: during a broadcast a
            # claim per message cost as much CPU as the sends (bench.fanout)
            if (self._starved and self._in_flight <= self.max_in_flight // 2) or (
                self._starved_bulk and len(self._bulk) <= self.max_bulk_in_flight // 2
            ):
                self._wake.set()

    def _prune_idle_buckets(self) -> None:
        """Forget the idle chats whose bucket has refilled: a full bucket is the same as a new
        one, so nothing is lost. Without this every chat ever sent to stayed here (≈ 360 bytes
        each) until 50,000 had piled up. Runs when the dict has doubled since the last prune, so
        it costs O(1) per lane on average; the hard cap stays as a last resort."""
        self._idle_buckets = {k: b for k, b in self._idle_buckets.items() if not b.full()}
        if len(self._idle_buckets) > 50_000:
            self._idle_buckets.clear()
        self._idle_prune_at = max(IDLE_PRUNE_MIN, 2 * len(self._idle_buckets))

    def _done(self, lane: _Lane, result: tuple[str, int, Any]) -> None:
        row = lane.rows.popleft()
        self._in_flight -= 1
        self._bulk.discard(row.id)
        self._results.append(result)
        self.stats["sent" if result[0] == "sent" else "failed"] += 1
        self._results_ready.set()

    def _retry_lane(self, lane: _Lane, exc: SendError) -> None:
        """Hold the whole lane (order is kept) until the platform lets us send again."""
        row = lane.rows[0]
        rate_limited = exc.retry_after is not None
        if rate_limited:
            delay = float(exc.retry_after)
            self.stats["rate_limited"] += 1
        else:
            delay = backoff_seconds(row.attempts)
            self.stats["retried"] += 1
        give_up = not rate_limited and row.attempts >= MAX_ATTEMPTS
        at = self.clock.now() + timedelta(seconds=delay)
        first = True
        while lane.rows:
            r = lane.rows.popleft()
            self._in_flight -= 1
            self._bulk.discard(r.id)
            if first and give_up:
                self._results.append(("failed", r.id, (f"gave up after {r.attempts} attempts: {exc}", r.on_failure)))
                self.stats["failed"] += 1
                at = self.clock.now()
            elif first:
                self._hold(lane.key, r.id, at, str(exc), not rate_limited)
            else:  # not tried: does not count as an attempt
                self._hold(lane.key, r.id, at, "waiting behind an earlier message", False)
            first = False
        if at > self.clock.now():
            if len(self._paused) > 10_000:  # forget the pauses that are over (each chat's is short)
                now = self.clock.now()
                self._paused = {k: u for k, u in self._paused.items() if u > now}
            self._paused[lane.key] = at
        log.info("outbox lane %s:%s paused %.1fs (%s)", lane.key[0], _mask(lane.key[1]), delay, exc)
        self._results_ready.set()

    def _hold(self, key: tuple[str, str], row_id: int, at: Any, error: str, counts: bool) -> None:
        """Give a row back for a retry at ``at``; its chat holds later rows until that is written."""
        self._results.append(("retry", row_id, (at, error, counts, key)))
        self._unrecorded[key] = self._unrecorded.get(key, 0) + 1

    # ---- recording ------------------------------------------------------------------------
    async def _flush_loop(self) -> None:
        while self._running:
            await self._results_ready.wait()
            if not self._running:
                return  # stop() flushes what is left
            await asyncio.sleep(self.flush_interval)  # group commit: gather what arrives meanwhile
            self._results_ready.clear()
            try:
                await self._flush()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("outbox results not recorded yet (%s); retrying", type(exc).__name__)
                await asyncio.sleep(self.poll_interval)
                self._results_ready.set()

    async def _flush(self) -> None:
        if not self._results:
            return
        batch, self._results = self._results, []
        reports = [info[1] for kind, _, info in batch if kind == "failed" and info[1]]
        self._flushing = True
        try:
            async with self.db.unit_of_work() as uow:
                repo = Repo(uow.session)
                now = self.clock.now()
                await repo.mark_sent_many([(row_id, info) for kind, row_id, info in batch if kind == "sent"], now)
                if self.on_failed is not None:
                    # once per staff member and complaint: a long answer's parts all fail together
                    once = {(str(r.get("user_id")), str(r.get("about"))): r for r in reports if isinstance(r, dict)}
                    for report in once.values():
                        await self.on_failed(repo, report, now)
                for kind, row_id, info in batch:
                    if kind == "failed":
                        await repo.mark_failed(row_id, info[0])
                    elif kind == "retry":
                        at, err, counts, _ = info
                        await repo.mark_retry(row_id, at, err, count_attempt=counts)
                    elif kind == "release":
                        await repo.mark_retry(row_id, now, "released at shutdown", count_attempt=False)
                await uow.commit()
        except BaseException:
            self._results[:0] = batch  # keep them for the next try
            raise
        finally:
            self._flushing = False
        for kind, row_id, info in batch:  # written: the database now holds these chats' later rows back
            if kind == "retry":
                key = info[3]
                if self._claiming:
                    self._written_during_claim.setdefault(key, set()).add(row_id)
                left = self._unrecorded[key] - 1
                if left:
                    self._unrecorded[key] = left
                else:
                    del self._unrecorded[key]
        if reports or any(kind in ("retry", "release") for kind, _, _ in batch):
            self._wake.set()


def _mask(address: str) -> str:
    """Addresses are personal data: logs show only their end."""
    return "…" + address[-4:] if len(address) > 4 else address
