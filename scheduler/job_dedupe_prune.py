"""Dedupe prune (hourly): forget the inbound message ids older than the platforms' redelivery
horizon (``KANAL_DEDUPE_HOURS``), so that the table stays small and no old id can ever eat a new
message (:mod:`bot.engine.dedupe`). Deleted in chunks, one short transaction each.

It also deletes the phone numbers of SMS people erased more than an hour ago whose goodbye could
not be sent (``sms_numbers``), and the per-person SMS counts of days before yesterday (the daily
cap needs only today's)."""

from __future__ import annotations

from datetime import timedelta

from scheduler.job_context import JobContext, JobResult


async def dedupe_prune(ctx: JobContext) -> JobResult:
    """Delete the dedupe rows received longer than ``KANAL_DEDUPE_HOURS`` ago."""
    now = ctx.now()
    result = JobResult("dedupe_prune", now)
    before = now - timedelta(hours=int(ctx.settings.dedupe_hours))
    chunk = max(1, ctx.chunk_size * 10)  # rows deleted per transaction
    while True:
        async with ctx.db.unit_of_work() as uow:
            n = await uow.inbound.prune_inbound(before, limit=chunk)
            await uow.commit()
        result.add("pruned", n)
        if n < chunk:
            break
    async with ctx.db.unit_of_work() as uow:
        if forgotten := await uow.sms.forget_erased(now - timedelta(hours=1)):
            result.add("sms_numbers_forgotten", forgotten)
        await uow.sms.prune_usage((now - timedelta(days=2)).date().isoformat())
        await uow.commit()
    return result
