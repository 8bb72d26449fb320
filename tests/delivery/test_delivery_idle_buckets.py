"""The outbox sender's memory per chat: the rate bucket of a chat it has sent to is kept only
while it still says something (not yet refilled), so a bot that has talked to 100,000 people does
not hold 100,000 buckets (bench/memory.py found ≈ 360 bytes per person kept until 50,000)."""

from __future__ import annotations

from bot.delivery import OutboxSender, RateLimit
from bot.delivery.rates import IDLE_PRUNE_MIN
from storage import Repo
from testkit.helpers import RecordingSender

CHATS = 2 * IDLE_PRUNE_MIN + 100  # two prunes


async def _send_one_each(db, clock, limit: RateLimit) -> tuple[RecordingSender, OutboxSender]:
    async with db.unit_of_work() as uow:
        repo = Repo(uow.session)
        for i in range(CHATS):
            repo.enqueue(channel="telegram", address=f"c{i}", payload={"text": f"hai {i}"}, now=clock.now())
        await uow.commit()
    sender = RecordingSender()
    outbox = OutboxSender(db, {"telegram": sender}, clock=clock, limits={"telegram": limit})
    await outbox.start()
    try:
        await outbox.drain(timeout=60)
    finally:
        await outbox.stop()
    return sender, outbox


async def test_refilled_buckets_of_idle_chats_are_dropped(db, clock):
    # per chat 1,000/s with bursts of 3: a bucket is full again a few milliseconds after its send
    sender, outbox = await _send_one_each(db, clock, RateLimit(1e9, 10**9, 1000.0, 3))
    assert sorted(sender.texts()) == sorted(f"hai {i}" for i in range(CHATS))
    assert len(outbox.buckets.idle) <= IDLE_PRUNE_MIN + 1, len(outbox.buckets.idle)


async def test_buckets_still_limiting_are_kept(db, clock):
    # per chat one message per 1,000 s: no bucket refills during the test, none may be forgotten
    # (forgetting one would let that chat burst again at once)
    sender, outbox = await _send_one_each(db, clock, RateLimit(1e9, 10**9, 0.001, 3))
    assert len(sender.texts()) == CHATS
    assert set(outbox.buckets.idle) == {("telegram", f"c{i}") for i in range(CHATS)}
