"""Issue 23: the platforms' global limits hold for the whole deployment, not per process.

Three outbox senders (three instances) on one PostgreSQL database send 240 messages to 60 chats
through a sender that records every call. The deployment stays within the channel's 20/s (bursts
of 5) in every one-second window — three senders with a bucket each would send up to three times
that — every row goes out once, and each chat's messages arrive in order, one sender at a time.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.channels.base import RateLimit
from bot.delivery.sender import OutboxSender
from bot.domain.clock import SystemClock
from bot.domain.messages import SendResult
from storage import Database
from storage.rate_repo import lease
from testkit.helpers import max_in_window
from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(not PG_URL, reason="the shared budget lives in PostgreSQL: set KANAL_TEST_DATABASE_URL")

RATE, BURST = 20.0, 5
LIMIT = RateLimit(global_per_second=RATE, global_burst=BURST, per_address_per_second=1e9, per_address_burst=10**9)


class Recorder:
    """A platform: when each message arrived, and from which sender."""

    def __init__(self, log: list[tuple[float, str, int, str]], name: str) -> None:
        self.log = log
        self.name = name

    async def send(self, address: str, payload: dict[str, Any], *, ref: int | None = None) -> SendResult:
        self.log.append((time.monotonic(), address, int(payload["n"]), self.name))
        await asyncio.sleep(0.005)  # a request takes a moment
        return SendResult(platform_message_id=f"x{ref}")


async def test_the_lease_never_grants_more_than_the_bucket(db_url):
    db = Database(db_url)
    try:
        granted = 0
        t0 = time.monotonic()
        while time.monotonic() - t0 < 1.0:
            got = await asyncio.gather(*(lease(db.engine, "probe", 10.0, 3, 2) for _ in range(3)))
            granted += sum(g for g, _ in got)
            await asyncio.sleep(0.01)
        elapsed = time.monotonic() - t0
        assert granted <= 3 + 10.0 * elapsed + 1, granted
        assert granted >= 0.7 * 10.0 * elapsed, granted  # and it is not stingy either
    finally:
        await db.dispose()


async def test_three_senders_keep_the_deployments_budget_and_each_chats_order(db_url):
    clock = SystemClock()
    dbs = [Database(db_url) for _ in range(3)]
    log: list[tuple[float, str, int, str]] = []
    chats = [f"chat{c}" for c in range(60)]
    async with dbs[0].unit_of_work() as uow:
        for n in range(4):
            for chat in chats:
                uow.outbox.enqueue(channel="telegram", address=chat, payload={"n": n}, now=datetime.now(UTC))
        await uow.commit()
    senders = [
        # 20 rows in flight each at most: all three must take part
        OutboxSender(
            db, {"telegram": Recorder(log, f"s{i}")}, clock=clock, limits={"telegram": LIMIT}, max_in_flight=20
        )
        for i, db in enumerate(dbs)
    ]
    try:
        for s in senders:
            await s.start()
        deadline = time.monotonic() + 60
        while len(log) < 240 and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)  # nothing more comes
    finally:
        for s in senders:
            await s.stop()
        for db in dbs:
            await db.dispose()

    assert len(log) == 240, len(log)
    assert len({(a, n) for _, a, n, _ in log}) == 240  # each once
    for chat in chats:
        assert [n for _, a, n, _ in log if a == chat] == [0, 1, 2, 3], chat
    used = {name for *_, name in log}
    assert len(used) >= 2, used  # the instances shared the work
    times = [t for t, *_ in log]
    peak = max_in_window(times)
    rate = (len(times) - BURST) / (max(times) - min(times))
    print(f"\npeak {peak} in 1 s, {rate:.1f}/s sustained, senders {sorted(used)}")
    assert peak <= RATE + BURST + 1, peak
    assert rate >= 0.7 * RATE, rate
