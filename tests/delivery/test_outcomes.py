"""Typed outcomes written in one batch (``bot.delivery.outcomes.write_outcomes``): each kind lands as
its row's state, and whom a failure concerns is told once per staff member and complaint."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.delivery.outcomes import FailedFinal, PendingOutcomes, Released, Retry, Sent, write_outcomes
from storage import Repo
from storage.models import OutboxMessage

TELL = {"user_id": 7, "about": "C-1"}


async def _claimed(db, clock, n: int) -> list[int]:
    async with db.unit_of_work() as uow:
        repo = Repo(uow.session)
        for i in range(n):
            repo.enqueue(channel="telegram", address="a", payload={"text": str(i)}, now=clock.now(), on_failure=TELL)
        rows = await repo.claim_due(clock.now(), limit=n, lease=timedelta(minutes=5))
        await uow.commit()
    return [r.id for r in rows]


async def test_each_outcome_is_written_as_its_rows_state(db, clock):
    sent, retried, failed, failed_too, released = await _claimed(db, clock, 5)
    later = clock.now() + timedelta(seconds=30)
    told: list[dict] = []

    async def on_failed(uow, report, now):
        told.append(report)

    batch = [
        Sent(sent, "m1"),
        Retry(retried, ("telegram", "a"), later, "429", counts_attempt=False),
        FailedFinal(failed, "blocked", TELL),
        FailedFinal(failed_too, "blocked", TELL),
        Released(released),
    ]
    async with db.unit_of_work() as uow:
        await write_outcomes(uow, batch, clock.now(), on_failed)
        await uow.commit()
    async with db.unit_of_work() as uow:
        rows = {r.id: r for r in (await uow.session.execute(select(OutboxMessage))).scalars()}
    assert rows[sent].status == "sent" and rows[sent].platform_message_id == "m1"
    assert rows[retried].status == "pending" and rows[retried].next_attempt_at == later
    assert rows[retried].last_error == "429"
    assert rows[failed].status == rows[failed_too].status == "failed" and rows[failed].last_error == "blocked"
    assert rows[released].status == "pending" and rows[released].last_error == "released at shutdown"
    assert told == [TELL]  # both parts of one answer failed: told once


def test_pending_outcomes_keep_a_failed_batch_ahead_of_newer_ones():
    pending = PendingOutcomes()
    pending.add(Sent(1, None))
    batch = pending.take()
    assert not pending.busy()
    pending.add(Sent(2, None))
    pending.put_back(batch)
    assert [o.row_id for o in pending.items] == [1, 2] and pending.busy()
