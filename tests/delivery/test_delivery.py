"""The outbox sender's own rules (rate limits, 429, backoff, permanent failures, ordering).

Channel senders are tested on the wire in test_telegram_e2e; here a recording sender stands in,
because what is under test is the outbox, not a platform."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from sqlalchemy import select

from bot.delivery import OutboxSender, RateLimit, Retry, TokenBucket, backoff_seconds
from bot.delivery.rates import Gate
from bot.domain.messages import SendError
from storage import Repo
from storage.models import OutboxMessage
from testkit.helpers import RecordingSender


async def enqueue(db, clock, address: str, texts: list[str], channel: str = "telegram") -> None:
    async with db.unit_of_work() as uow:
        repo = Repo(uow.session)
        for body in texts:
            repo.enqueue(channel=channel, address=address, payload={"text": body}, now=clock.now())
        await uow.commit()


async def rows(db) -> list[OutboxMessage]:
    async with db.unit_of_work() as uow:
        return list((await uow.session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars().all())


async def test_sends_in_order_per_address(db, clock):
    sender = RecordingSender()
    outbox = OutboxSender(db, {"telegram": sender}, clock=clock)
    await enqueue(db, clock, "a", ["1", "2", "3"])
    await enqueue(db, clock, "b", ["x"])
    await outbox.start()
    try:
        await outbox.drain()
    finally:
        await outbox.stop()
    assert sender.texts("a") == ["1", "2", "3"] and sender.texts("b") == ["x"]
    assert {r.status for r in await rows(db)} == {"sent"}


async def test_rate_limited_lane_waits_retry_after_and_keeps_order(db, clock):
    sender = RecordingSender()
    sender.script["a"] = [SendError("429", retryable=True, retry_after=30)]
    outbox = OutboxSender(db, {"telegram": sender}, clock=clock)
    await enqueue(db, clock, "a", ["1", "2"])
    await enqueue(db, clock, "b", ["x"])
    await outbox.start()
    try:
        await outbox.drain()
        assert sender.texts("a") == [] and sender.texts("b") == ["x"]
        state = {r.payload["text"]: r for r in await rows(db)}
        assert state["1"].status == state["2"].status == "pending"
        assert state["1"].next_attempt_at == clock.now() + timedelta(seconds=30)
        assert state["1"].attempts == 0  # a 429 is not the message's fault
        clock.advance(timedelta(seconds=31))
        await outbox.drain()
    finally:
        await outbox.stop()
    assert sender.texts("a") == ["1", "2"]


async def test_a_message_committed_while_its_chat_waits_for_a_retry_does_not_overtake(db, clock):
    """ "1" meets a network error and its lane pauses; "3", written to the same chat meanwhile,
    waits behind "1" and "2" instead of going out first (it did before: the storm suite saw
    chats receive their messages out of order)."""
    sender = RecordingSender()
    sender.script["a"] = [SendError("Telegram network: TimedOut", retryable=True)]
    outbox = OutboxSender(db, {"telegram": sender}, clock=clock)
    await enqueue(db, clock, "a", ["1", "2"])
    await outbox.start()
    try:
        await outbox.drain()
        assert sender.texts("a") == []
        await enqueue(db, clock, "a", ["3"])  # claimed while the pause may not be recorded yet
        outbox.wake()
        await outbox.drain()
        assert sender.texts("a") == []
        await enqueue(db, clock, "a", ["4"])  # and after it is: the claim itself skips it
        outbox.wake()
        await outbox.drain()
        assert sender.texts("a") == []
        state = {r.payload["text"]: r for r in await rows(db)}
        assert {state[t].status for t in "1234"} == {"pending"} and state["3"].attempts == state["4"].attempts == 0
        clock.advance(timedelta(seconds=backoff_seconds(1) + 1))
        outbox.wake()
        await outbox.drain()
    finally:
        await outbox.stop()
    assert sender.texts("a") == ["1", "2", "3", "4"]


class _FailsFirstOnce:
    """Raises a network error for the message "1" once, then sends through ``sender``."""

    def __init__(self, sender: RecordingSender) -> None:
        self.sender = sender
        self.tried = asyncio.Event()

    async def send(self, address, payload, *, ref=None):
        if payload["text"] == "1" and not self.tried.is_set():
            self.tried.set()
            raise SendError("Telegram network: TimedOut", retryable=True)
        return await self.sender.send(address, payload, ref=ref)


async def _third_after_a_paused_retry(db, clock, outbox: OutboxSender, failing: _FailsFirstOnce) -> None:
    """ "1" and "2" are claimed and "1" fails once; its pause runs out, then "3" is written to the
    same chat, and the outbox is drained and stopped."""
    await enqueue(db, clock, "a", ["1", "2"])
    await outbox.start()
    try:
        await asyncio.wait_for(failing.tried.wait(), 5)
        clock.advance(timedelta(seconds=backoff_seconds(1) + 1))  # the pause is over, nothing written yet
        await enqueue(db, clock, "a", ["3"])
        outbox.wake()
        await outbox.drain()
    finally:
        await outbox.stop()


async def test_a_pause_that_ran_out_before_its_retry_was_written_still_holds_later_messages(db, clock):
    """ "1" meets a network error; its lane's pause is shorter than the time its outcome takes to
    be written. "3", claimed after the pause ran out but while the database still had "1" and
    "2" as being sent, went out first (the storm suite saw it once the outcomes were gathered
    0.05 s, longer than its 0.05 s backoff)."""
    sender = RecordingSender()
    failing = _FailsFirstOnce(sender)
    outbox = OutboxSender(db, {"telegram": failing}, clock=clock, flush_interval=0.5)
    await _third_after_a_paused_retry(db, clock, outbox, failing)
    assert sender.texts("a") == ["1", "2", "3"]
    assert {r.status for r in await rows(db)} == {"sent"}


async def test_a_retry_written_while_a_claim_reads_still_holds_the_rows_it_claimed(db, clock):
    """The same moment on PostgreSQL: the claim's snapshot is taken while "1" and "2" are still
    'sending'; their retry is written (and forgotten here) before the claim hands "3" to its
    lane. The claim is made to interleave so on both databases."""
    sender = RecordingSender()
    failing = _FailsFirstOnce(sender)
    forced: list[int] = []

    class FlushDuringClaim(OutboxSender):
        async def _claim(self, limit):
            rows = await super()._claim(limit)
            if self.outcomes.items and not forced:  # the retry commits after this claim's snapshot
                forced.append(len(rows))
                await self._flush()
            return rows

    outbox = FlushDuringClaim(db, {"telegram": failing}, clock=clock, flush_interval=0.5)
    await _third_after_a_paused_retry(db, clock, outbox, failing)
    # the claim took "3" alone, then the retry of "1" and "2" was written; on PostgreSQL (several
    # instances) a chat's row is not claimed at all while earlier ones are being sent
    assert forced == ([0] if db.dialect == "postgresql" else [1])
    assert sender.texts("a") == ["1", "2", "3"]


async def test_a_claim_that_took_the_rows_whose_retry_it_saw_written_sends_them(db, clock):
    """The retry of "1" and "2" is written just before a claim reads, while the claim is already
    under way: the claim takes them and "3", in order, and they go out. All three were given back
    once more (the chat was marked whatever the claim took): another round through the database,
    and another each time a flush met a claim again."""
    sender = RecordingSender()
    failing = _FailsFirstOnce(sender)
    holds: list[tuple[int, str]] = []
    flushed_in_claim: list[int] = []

    class FlushAtClaimStart(OutboxSender):
        async def _claim(self, limit):
            if any(isinstance(o, Retry) for o in self.outcomes.items) and not flushed_in_claim:
                flushed_in_claim.append(len(self.outcomes.items))
                await self._flush()  # written while this claim is running, before it reads
            return await super()._claim(limit)

        def _hold(self, retry):
            holds.append((retry.row_id, retry.error))
            super()._hold(retry)

    outbox = FlushAtClaimStart(db, {"telegram": failing}, clock=clock, flush_interval=5)
    await _third_after_a_paused_retry(db, clock, outbox, failing)
    assert flushed_in_claim == [2]  # the retry of "1" and "2" was written inside the claim
    assert sender.texts("a") == ["1", "2", "3"]
    assert [row_id for row_id, _ in holds] == [1, 2]  # and never again


async def test_drain_returns_while_every_claim_takes_longer_than_its_polling(db, clock):
    """``drain`` woke the claim loop every 20 ms and then checked whether it was claiming: with
    claims over 20 ms (a loaded machine) it found it claiming every time and timed out."""
    sender = RecordingSender()

    class SlowClaims(OutboxSender):
        async def _claim(self, limit):
            rows = await super()._claim(limit)
            await asyncio.sleep(0.3)
            return rows

    outbox = SlowClaims(db, {"telegram": sender}, clock=clock)
    await enqueue(db, clock, "a", ["1", "2"])
    await outbox.start()
    try:
        await outbox.drain(timeout=6)
    finally:
        await outbox.stop()
    assert sender.texts("a") == ["1", "2"]
    assert {r.status for r in await rows(db)} == {"sent"}


async def test_permanent_failure_recorded_not_retried(db, clock):
    sender = RecordingSender()
    sender.script["blocked"] = [SendError("Telegram 403: bot was blocked by the user", retryable=False)]
    outbox = OutboxSender(db, {"telegram": sender}, clock=clock)
    await enqueue(db, clock, "blocked", ["hi"])
    await outbox.start()
    try:
        await outbox.drain()
        clock.advance(timedelta(hours=1))
        await outbox.drain()
    finally:
        await outbox.stop()
    (row,) = await rows(db)
    assert row.status == "failed" and "blocked" in row.last_error and sender.sent == [], (
        outbox.stats,
        sender.sent,
        row.attempts,
        row.last_error,
    )


async def test_retryable_error_backs_off_then_succeeds(db, clock):
    sender = RecordingSender()
    sender.script["a"] = [SendError("network", retryable=True), SendError("network", retryable=True)]
    outbox = OutboxSender(db, {"telegram": sender}, clock=clock)
    await enqueue(db, clock, "a", ["1"])
    await outbox.start()
    try:
        for _ in range(3):
            await outbox.drain()
            clock.advance(timedelta(seconds=10))
    finally:
        await outbox.stop()
    (row,) = await rows(db)
    assert row.status == "sent" and row.attempts == 3 and sender.texts("a") == ["1"]


def test_backoff_grows_and_is_capped():
    assert 0.8 <= backoff_seconds(1) <= 1.2
    assert 6.4 <= backoff_seconds(4) <= 9.6
    assert backoff_seconds(50) <= 600 * 1.2


def test_token_bucket():
    now = [0.0]
    bucket = TokenBucket(rate=1.0, burst=3, now=lambda: now[0])
    for _ in range(3):
        assert bucket.delay() == 0
        bucket.take()
    assert bucket.delay() == 1.0
    now[0] = 0.5
    assert abs(bucket.delay() - 0.5) < 1e-9


def test_a_chat_taken_over_is_paced_as_the_platform_sees_it():
    """Another instance sent a burst of 3, then one a second: the platform's bucket (1/s, burst 3)
    is empty, though the last 3 s alone look like a bucket with tokens to spare."""
    ago = [3.15, 3.05, 2.95, 2.1, 1.1, 0.1]
    now = [100.0 - ago[0]]
    platform = TokenBucket(rate=1.0, burst=3, now=lambda: now[0])
    for a in ago:
        now[0] = 100.0 - a
        assert platform.delay() == 0
        platform.take()
    now[0] = 100.0
    taken_over = TokenBucket(rate=1.0, burst=3, now=lambda: now[0])
    taken_over.replay([a for a in ago if a <= 3.0], window=3.0)
    assert taken_over.delay() >= platform.delay() > 0.8
    idle = TokenBucket(rate=1.0, burst=3, now=lambda: now[0])
    idle.replay([], window=3.0)
    assert idle.full()  # a chat nobody sent to for a full bucket's refill starts full


async def _send_to_one_chat_at_20_per_second(db, clock, sender: RecordingSender, n: int) -> None:
    """Messages "0" … "n-1" to chat "a" through the outbox, 20/s with a burst of 2 per chat."""
    limit = RateLimit(global_per_second=1000, global_burst=1000, per_address_per_second=20, per_address_burst=2)
    outbox = OutboxSender(db, {"telegram": sender}, clock=clock, limits={"telegram": limit})
    await enqueue(db, clock, "a", [str(i) for i in range(n)])
    await outbox.start()
    try:
        await outbox.drain()
    finally:
        await outbox.stop()


async def test_per_address_rate_is_honoured(db, clock):
    sender = RecordingSender()
    stamps: list[float] = []
    real_send = sender.send

    async def timed(address, payload, *, ref=None):
        stamps.append(time.monotonic())
        return await real_send(address, payload, ref=ref)

    sender.send = timed
    await _send_to_one_chat_at_20_per_second(db, clock, sender, 6)
    # 2 at once (burst), then 4 more at 20/s: at least 4 × 50 ms
    assert stamps[-1] - stamps[0] >= 0.19
    assert sender.texts("a") == [str(i) for i in range(6)]


async def test_per_address_pacing_holds_where_requests_arrive_late(db, clock):
    """The platform counts a request when it arrives, anywhere between the send and its answer. A
    machine under load delays some requests and not others; the ones that left evenly arrive
    bunched. Here every other request arrives only as it is answered, 40 ms late; the platform's
    bucket (the same limits) must never run dry."""
    sender = RecordingSender()
    platform = TokenBucket(rate=20, burst=2)
    refused: list[int] = []
    real_send = sender.send

    async def late(address, payload, *, ref=None):
        if int(payload["text"]) % 2 == 0:
            await asyncio.sleep(0.04)  # on its way
        if platform.delay() > 1e-3:  # what the platform sees when the request arrives
            refused.append(int(payload["text"]))
        else:
            platform.take()
        return await real_send(address, payload, ref=ref)

    sender.send = late
    await _send_to_one_chat_at_20_per_second(db, clock, sender, 16)
    assert sender.texts("a") == [str(i) for i in range(16)]
    assert refused == []


async def test_wake_sends_at_once(db, clock):
    sender = RecordingSender()
    outbox = OutboxSender(db, {"telegram": sender}, clock=clock, poll_interval=30)
    await outbox.start()
    try:
        await asyncio.sleep(0.05)
        await enqueue(db, clock, "a", ["now"])
        outbox.wake()
        for _ in range(100):
            if sender.sent:
                break
            await asyncio.sleep(0.01)
    finally:
        await outbox.stop()
    assert sender.texts("a") == ["now"]


async def test_an_answer_overtakes_a_broadcast_in_progress(db, clock):
    """A person who writes during a big broadcast gets the answer within about a second's worth of
    the broadcast, not after all of it (replies are claimed first, the broadcast a little at a time)."""
    sender = RecordingSender()
    limit = RateLimit(global_per_second=100, global_burst=5, per_address_per_second=1000, per_address_burst=1000)
    outbox = OutboxSender(db, {"telegram": sender}, clock=clock, limits={"telegram": limit}, max_bulk_in_flight=20)
    async with db.unit_of_work() as uow:
        repo = Repo(uow.session)
        for i in range(300):
            repo.enqueue(
                channel="telegram",
                address=f"n{i}",
                payload={"text": f"news {i}"},
                now=clock.now(),
                purpose="forum_announce",
            )
        await uow.commit()
    await outbox.start()
    try:
        while len(sender.sent) < 30:  # the broadcast is under way
            await asyncio.sleep(0.01)
        await enqueue(db, clock, "asker", ["your answer"])  # purpose "reply"
        outbox.wake()
        while not sender.texts("asker"):
            await asyncio.sleep(0.01)
        position = [a for a, _ in sender.sent].index("asker")
        await outbox.drain(timeout=20)
    finally:
        await outbox.stop()
    assert position < 30 + 20 + 15, position  # behind at most the claimed part of the broadcast
    assert len(sender.sent) == 301 and len({a for a, _ in sender.sent}) == 301  # all sent, once each


async def test_answers_go_before_notifications_at_the_channel_gate():
    """During a broadcast, a person's answer waits for the next token, not behind every queued
    announcement; each kind keeps its order, and a waiter cancelled after being handed the gate
    passes it on."""
    gate = Gate()
    await gate.acquire()  # a lane holds the gate
    order: list[str] = []

    async def lane(name: str, urgent: bool) -> None:
        await gate.acquire(urgent)
        order.append(name)
        gate.release()

    tasks = [asyncio.create_task(lane(f"notice{i}", False)) for i in range(3)]
    await asyncio.sleep(0)
    gone = asyncio.create_task(gate.acquire(True))  # handed the gate first, but cancelled
    await asyncio.sleep(0)
    tasks += [asyncio.create_task(lane(f"answer{i}", True)) for i in range(2)]
    await asyncio.sleep(0)
    gate.release()
    gone.cancel()
    await asyncio.wait_for(asyncio.gather(*tasks), 2)
    assert order == ["answer0", "answer1", "notice0", "notice1", "notice2"]
    await asyncio.wait_for(gate.acquire(), 1)  # free again
