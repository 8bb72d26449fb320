"""Rate limits of the platforms and the token buckets that keep delivery within them.

A channel has one global bucket (messages per second for the whole bot) and one bucket per chat.
:class:`Buckets` owns them all: it hands a chat's bucket to the lane that sends to it, keeps the
bucket of a chat that fell idle while it still limits anything, and lets the lanes of a channel
queue in turn for its global bucket: answers to a person who just wrote before notifications.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime

from bot.channels.base import UNLIMITED, RateLimit

IDLE_PRUNE_MIN = 1024  # idle chats' rate buckets kept before the full (refilled) ones are dropped
IDLE_HARD_CAP = 50_000  # last resort: idle buckets beyond this are all forgotten
#: a leased share of a shared budget is used within this many seconds or lost (never sent late in
#: a bunch: the budget counted those tokens as spent when they were leased)
LEASE_TTL = 0.25

log = logging.getLogger(__name__)

#: takes up to ``want`` tokens of a budget shared with the other instances (``name``, ``rate``/s,
#: ``burst``): (tokens granted, seconds until one is there when none was)
Lease = Callable[[str, float, int, int], Awaitable[tuple[int, float]]]


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up; a send takes one."""

    def __init__(self, rate: float, burst: int, now: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.capacity = float(burst)
        self.tokens = float(burst)
        self._now = now
        self.updated = now()

    def _refill(self, t: float | None = None) -> None:
        t = self._now() if t is None else t
        self.tokens = min(self.capacity, self.tokens + (t - self.updated) * self.rate)
        self.updated = t

    def delay(self) -> float:
        """Seconds until a token is available (0 when one is)."""
        self._refill()
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate

    def take(self) -> None:
        self._refill()
        self.tokens -= 1.0

    def answered(self) -> None:
        """The request a token was just taken for has been answered: the time it spent on its way
        does not refill the bucket. The platform counts a request when it arrives, somewhere
        between the take and the answer; refilling only from the answer keeps this bucket at or
        below the platform's whatever the delays (on a loaded machine requests that left evenly
        arrive bunched, and a bucket as full as the platform's then meets a 429)."""
        self.updated = max(self.updated, self._now())

    def full(self) -> bool:
        self._refill()
        return self.tokens >= self.capacity

    def replay(self, ago: list[float], window: float) -> None:
        """The bucket as the sends made ``ago`` seconds before now (oldest first, each within the
        last ``window`` seconds) left it: a chat's bucket after sends by another instance. What
        came before the window is unknown, so the bucket starts it empty, and no send takes it
        below empty (the platform accepted each one): never fuller than the platform's, which a
        bucket starting full was for a chat that had been sent to at its rate for longer than the
        window. A window of a full bucket's refill brings an idle chat back full."""
        now = self._now()
        self.tokens = 0.0
        self.updated = now - window
        for a in ago:
            self._refill(now - min(a, window))
            self.tokens = max(0.0, self.tokens - 1.0)
        self._refill(now)


class Gate:
    """One lane at a time takes from a channel's global bucket; the others wait in turn, answers
    (``urgent``: a person is waiting for them) before notifications, each in arrival order. During
    a broadcast to thousands a citizen's answer then waits for one token, not for every
    announcement queued before it (bench.fanout, 29/s: p99 1.86 s before, 0.07 s after)."""

    def __init__(self) -> None:
        self._busy = False
        self._urgent: deque[asyncio.Future] = deque()
        self._normal: deque[asyncio.Future] = deque()

    async def acquire(self, urgent: bool = False) -> None:
        if not self._busy:
            self._busy = True
            return
        waiter = asyncio.get_running_loop().create_future()
        (self._urgent if urgent else self._normal).append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():  # handed the gate, then cancelled: pass it on
                self.release()
            raise

    def release(self) -> None:
        """Hand the gate to the next waiter (it stays busy), or free it."""
        for queue in (self._urgent, self._normal):
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    waiter.set_result(None)
                    return
        self._busy = False


class Buckets:
    """The token buckets of every channel and of the chats sent to lately.

    With ``lease`` (several instances on one PostgreSQL) a channel's global budget is shared by
    the whole deployment: tokens are leased from the database a few at a time (as many as lanes
    wait, at most a tenth of a second's worth) and used within :data:`LEASE_TTL`. A chat's
    bucket stays here: the claim gives a chat's rows to one instance at a time."""

    def __init__(self, limits: dict[str, RateLimit] | None = None, *, lease: Lease | None = None) -> None:
        self.limits = limits or {}
        self._lease = lease
        self._leased: dict[str, list[float]] = {}  # channel → [tokens, usable until]
        self._queued: dict[str, int] = {}  # channel → lanes waiting for the global budget
        self._globals: dict[str, TokenBucket] = {}
        self._gates: dict[str, Gate] = {}  # one lane at a time waits for the global bucket
        #: buckets of chats without a lane that have not refilled yet (their rate history)
        self.idle: dict[tuple[str, str], TokenBucket] = {}
        self._idle_prune_at = IDLE_PRUNE_MIN

    def limit(self, channel: str) -> RateLimit:
        return self.limits.get(channel, UNLIMITED)

    def chat(self, key: tuple[str, str]) -> TokenBucket:
        """The bucket for a chat's new lane: the one it left idle, if still kept, else a full one."""
        limit = self.limit(key[0])
        return self.idle.pop(key, None) or TokenBucket(limit.per_address_per_second, limit.per_address_burst)

    @property
    def shared(self) -> bool:
        """Whether budgets are shared with other instances (PostgreSQL)."""
        return self._lease is not None

    def pacing_window(self, channel: str) -> float | None:
        """Seconds of a chat's sends that still limit it (a full bucket's worth), None: no per-chat limit."""
        limit = self.limit(channel)
        if limit.per_address_per_second >= UNLIMITED.per_address_per_second or not self.shared:
            return None
        return limit.per_address_burst / limit.per_address_per_second

    def seed(self, key: tuple[str, str], sent: list[datetime], now: datetime) -> None:
        """A chat this instance takes over: its bucket as the sends of any instance (``sent``, from
        the outbox) left it, so that pacing a chat survives moving to another instance."""
        limit, window = self.limit(key[0]), self.pacing_window(key[0])
        if window is None:
            return
        bucket = TokenBucket(limit.per_address_per_second, limit.per_address_burst)
        bucket.replay([max(0.0, (now - at).total_seconds()) for at in sent], window)
        if not bucket.full():
            self.idle[key] = bucket

    def park(self, key: tuple[str, str], bucket: TokenBucket) -> None:
        """A chat's lane has ended: keep its bucket while it still limits (a full one is a new one)."""
        if not bucket.full():
            self.idle[key] = bucket
            if len(self.idle) > self._idle_prune_at:
                self._prune_idle()

    def _prune_idle(self) -> None:
        """Forget the idle chats whose bucket has refilled: a full bucket is the same as a new
        one, so nothing is lost. Without this every chat ever sent to stayed here (≈ 360 bytes
        each) until 50,000 had piled up. Runs when the dict has doubled since the last prune, so
        it costs O(1) per lane on average; the hard cap stays as a last resort."""
        self.idle = {k: b for k, b in self.idle.items() if not b.full()}
        if len(self.idle) > IDLE_HARD_CAP:
            self.idle.clear()
        self._idle_prune_at = max(IDLE_PRUNE_MIN, 2 * len(self.idle))

    def _global(self, channel: str) -> TokenBucket:
        bucket = self._globals.get(channel)
        if bucket is None:
            limit = self.limit(channel)
            bucket = self._globals[channel] = TokenBucket(limit.global_per_second, limit.global_burst)
        return bucket

    async def acquire(self, channel: str, chat: TokenBucket, *, urgent: bool = False) -> None:
        """Wait until the chat's bucket and then the channel's have a token, and take one of each;
        ``urgent`` (an answer to a person's message) goes before the notifications waiting."""
        glob = self._global(channel)
        while (wait := chat.delay()) > 0:
            await asyncio.sleep(wait)
        # lanes queue for the channel's bucket instead of all polling it: with hundreds of lanes
        # in a broadcast, polling woke every lane for every token (≈ 15 % of the sender's CPU in
        # bench.fanout; a busy loop bunches requests)
        gate = self._gates.get(channel) or self._gates.setdefault(channel, Gate())
        shared = self.shared and self.limit(channel).global_per_second < UNLIMITED.global_per_second
        self._queued[channel] = self._queued.get(channel, 0) + 1
        try:
            await gate.acquire(urgent)
        finally:
            self._queued[channel] -= 1
        try:
            if not shared or not await self._take_shared(channel):
                while (wait := glob.delay()) > 0:
                    await asyncio.sleep(wait)
                glob.take()
        finally:
            gate.release()
        chat.take()  # only this chat's lane takes from its bucket: still ≥ 1 token

    async def _take_shared(self, channel: str) -> bool:
        """One token of the deployment's budget (under the channel's gate); False when the database
        cannot be asked: then this process's own bucket limits it, as on one instance."""
        assert self._lease is not None
        limit = self.limit(channel)
        pool = self._leased.setdefault(channel, [0, 0.0])
        most = max(1, int(limit.global_per_second / 10))
        while True:
            if pool[0] >= 1 and time.monotonic() < pool[1]:
                pool[0] -= 1
                return True
            want = max(1, min(most, self._queued.get(channel, 0) + 1))
            try:
                granted, wait = await self._lease(channel, limit.global_per_second, limit.global_burst, want)
            except Exception as exc:
                log.warning(
                    "shared %s budget not leased (%s): this instance's own limit applies", channel, type(exc).__name__
                )
                return False
            if granted:
                pool[0], pool[1] = granted, time.monotonic() + LEASE_TTL
            else:
                await asyncio.sleep(max(wait, 0.002))
