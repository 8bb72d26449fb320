"""``uow.sms`` on SQLite and PostgreSQL: numbers behind keys, STOP, erasure marks, the counts per
day and per person (the cap) and the month's totals (the cost)."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.clock import ManualClock


async def test_numbers_stop_and_erasure(db, clock: ManualClock):
    now = clock.now()
    async with db.unit_of_work() as uow:
        await uow.sms.remember("sA", "+6285712345678", now)
        await uow.sms.remember("sB", "+6281200000000", now)
        await uow.commit()
    async with db.unit_of_work() as uow:
        assert await uow.sms.set_opted_out("sA", True) and not await uow.sms.set_opted_out("nobody", True)
        await uow.sms.remember("sA", "+6285712345678", now)  # writing again keeps the STOP
        await uow.commit()
    async with db.unit_of_work() as uow:
        a = await uow.sms.target("sA")
        assert (a.number, a.opted_out, a.erased) == ("+6285712345678", True, False)
        assert await uow.sms.target("nobody") is None
        await uow.sms.count("sA", "2026-11-23", 2)
        await uow.sms.mark_erased(["sA"], now)
        await uow.commit()
    async with db.unit_of_work() as uow:
        a = await uow.sms.target("sA")
        assert a.erased and await uow.sms.spent("sA", "2026-11-23") == (0, False)  # their counts went
        assert await uow.sms.usage("2026-11-01", "2026-11-30") == (1, 2)  # the day's total stays
        assert await uow.sms.forget_erased(now - timedelta(minutes=1)) == 0
        assert await uow.sms.forget_erased(now + timedelta(hours=1)) == 1
        await uow.commit()
    async with db.unit_of_work() as uow:
        assert await uow.sms.target("sA") is None and (await uow.sms.target("sB")).number == "+6281200000000"


async def test_counts_per_person_per_day_and_the_months_total(db):
    async with db.unit_of_work() as uow:
        await uow.sms.count("sA", "2026-11-30", 2)
        await uow.sms.count("sA", "2026-11-30", 1, capped=True)
        await uow.sms.count("sB", "2026-11-30", 3)
        await uow.sms.count("sA", "2026-12-01", 2)
        await uow.sms.count("", "2026-12-01", 1)  # an erased person's goodbye: the total only
        await uow.commit()
    async with db.unit_of_work() as uow:
        assert await uow.sms.spent("sA", "2026-11-30") == (3, True)
        assert await uow.sms.spent("sB", "2026-11-30") == (3, False)
        assert await uow.sms.usage("2026-11-01", "2026-11-30") == (3, 6)
        assert await uow.sms.usage("2026-12-01", "2026-12-31") == (2, 3)
        assert await uow.sms.prune_usage("2026-12-01") == 2  # per-person rows of earlier days
        await uow.commit()
    async with db.unit_of_work() as uow:
        assert await uow.sms.usage("2026-11-01", "2026-11-30") == (3, 6)  # the totals stay for the cost
        assert await uow.sms.spent("sA", "2026-12-01") == (2, False)
