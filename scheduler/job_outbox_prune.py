"""Outbox horizon (daily, 03:00 local): sent and failed outbox rows older than
``KANAL_OUTBOX_KEEP_DAYS`` are deleted, so the texts and addresses of delivered messages are not
kept for long.

What delivery bookkeeping needs from a sent row, and for how long: WhatsApp status reports (a
later "failed" tells the officer; Meta reports within hours, rarely days), the web chat's replay of
what a reconnecting page missed (a reload shows the last ``KANAL_OUTBOX_KEEP_DAYS`` days), the
WhatsApp menu a typed number answers (the person's newest message). Pending and in-flight rows are
never pruned.
"""

from __future__ import annotations

from datetime import timedelta

from scheduler.job_context import JobContext, JobResult


async def outbox_prune(ctx: JobContext) -> JobResult:
    """Delete, chunk by chunk, the sent and failed rows older than the horizon."""
    now = ctx.now()
    result = JobResult("outbox_prune", now)
    bound = now - timedelta(days=int(ctx.settings.outbox_keep_days))
    while True:
        async with ctx.db.unit_of_work() as uow:
            n = await uow.personal.prune_outbox(bound, limit=ctx.chunk_size)
            await uow.commit()
        if n:
            result.add("deleted", n)
        if n < ctx.chunk_size:
            return result
