"""A complaint's PIN hash is computed beside the transaction (scrypt in a thread) and written at
the commit: the commit waits for it; a rollback forgets it (and stops waiting)."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from storage.models import Complaint


async def _complaint(uow, now) -> Complaint:
    return await uow.complaints.create(
        number_year=2026,
        channel="telegram",
        text="lampu jalan mati",
        privacy="biasa",
        state="triase",
        klass="keluhan",
        filed_at=now,
        updated_at=now,
        reopen_count=0,
    )


async def _stored(db, number: str) -> str | None:
    async with db.unit_of_work() as uow:
        return (await uow.session.execute(select(Complaint.pin_hash).where(Complaint.number == number))).scalar_one()


async def test_the_commit_waits_for_the_hash_and_writes_it(db, clock):
    gate = asyncio.Event()

    async def slow_hash() -> str:
        await gate.wait()
        return "scrypt1$" + "ab" * 24

    async with db.unit_of_work() as uow:
        c = await _complaint(uow, clock.now())
        uow.complaints.set_pin_hash(c, asyncio.ensure_future(slow_hash()))
        committing = asyncio.create_task(uow.commit())
        await asyncio.sleep(0.05)
        assert not committing.done()  # still computing: nothing committed yet
        gate.set()
        await committing
    assert await _stored(db, c.number) == "scrypt1$" + "ab" * 24


async def test_a_rollback_forgets_the_hash_being_computed(db, clock):
    forever = asyncio.get_running_loop().create_future()
    async with db.unit_of_work() as uow:
        c = await _complaint(uow, clock.now())
        uow.complaints.set_pin_hash(c, forever)
        await uow.rollback()
    assert forever.cancelled()
    async with db.unit_of_work() as uow:  # a later transaction of the same database is not held up
        c = await _complaint(uow, clock.now())
        await asyncio.wait_for(uow.commit(), 5)
    assert await _stored(db, c.number) is None
