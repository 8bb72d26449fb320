"""Rate limits of the platforms and the token buckets that keep delivery within them.

A channel has one global bucket (messages per second for the whole bot) and one bucket per chat.
:class:`Buckets` owns them all: it hands a chat's bucket to the lane that sends to it, keeps the
bucket of a chat that fell idle while it still limits anything, and lets the lanes of a channel
queue in turn for its global bucket.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from bot.channels.base import UNLIMITED, RateLimit

IDLE_PRUNE_MIN = 1024  # idle chats' rate buckets kept before the full (refilled) ones are dropped
IDLE_HARD_CAP = 50_000  # last resort: idle buckets beyond this are all forgotten


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up; a send takes one."""

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


class Buckets:
    """The token buckets of every channel and of the chats sent to lately."""

    def __init__(self, limits: dict[str, RateLimit] | None = None) -> None:
        self.limits = limits or {}
        self._globals: dict[str, TokenBucket] = {}
        self._gates: dict[str, asyncio.Lock] = {}  # one lane at a time waits for the global bucket
        #: buckets of chats without a lane that have not refilled yet (their rate history)
        self.idle: dict[tuple[str, str], TokenBucket] = {}
        self._idle_prune_at = IDLE_PRUNE_MIN

    def limit(self, channel: str) -> RateLimit:
        return self.limits.get(channel, UNLIMITED)

    def chat(self, key: tuple[str, str]) -> TokenBucket:
        """The bucket for a chat's new lane: the one it left idle, if still kept, else a full one."""
        limit = self.limit(key[0])
        return self.idle.pop(key, None) or TokenBucket(limit.per_address_per_second, limit.per_address_burst)

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

    async def acquire(self, channel: str, chat: TokenBucket) -> None:
        """Wait until the chat's bucket and then the channel's have a token, and take one of each."""
        glob = self._global(channel)
        while (wait := chat.delay()) > 0:
            await asyncio.sleep(wait)
        # lanes queue (FIFO) for the channel's bucket instead of all polling it: with
        # hundreds of lanes in a broadcast, polling woke every lane for every token
        # (≈ 15 % of the sender's CPU in bench.fanout; a busy loop bunches requests)
        gate = self._gates.get(channel) or self._gates.setdefault(channel, asyncio.Lock())
        async with gate:
            while (wait := glob.delay()) > 0:
                await asyncio.sleep(wait)
            glob.take()
        chat.take()  # only this chat's lane takes from its bucket: still ≥ 1 token
