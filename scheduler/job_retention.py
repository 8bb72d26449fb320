"""Retention (daily, 02:30 local): anonymise complaints closed more than ``KANAL_RETENTION_DAYS``
calendar days ago.

Decision on the text: **scrubbed**. Free text (the complaint, answers, reasons) routinely carries
names, phone numbers and addresses, so it is removed with the identifiers; what is kept is what
the statistics need — number, OPD, topic, class, privacy, state, dates, rating, reopen count, the
roles in the history and the reminder records (:meth:`storage.sla_repo.SlaRepo.anonymise`).

Then the people: a citizen silent for ``KANAL_RETENTION_DAYS`` with no complaint still linked to
them is erased as by /hapusdata (:meth:`storage.erasure.PersonalData.erase`): their chat id, name,
messages in the outbox and everything else the erasure knows; survey answers stay anonymous.
"""

from __future__ import annotations

from bot.domain.sla import retention_bound
from scheduler.job_context import JobContext, JobResult, chunks


async def retention(ctx: JobContext) -> JobResult:
    """Anonymise, chunk by chunk, the complaints closed before the retention bound."""
    now = ctx.now()
    result = JobResult("retention", now)
    bound = retention_bound(now, int(ctx.settings.retention_days))
    async with ctx.db.unit_of_work() as uow:
        ids = await uow.sla.retention_candidates(bound)
    for chunk in chunks(ids, ctx.chunk_size):
        async with ctx.db.unit_of_work() as uow:
            done = await uow.sla.anonymise(chunk, closed_before=bound, now=now)
            await uow.commit()
        result.add("anonymised", len(done))
    while True:
        async with ctx.db.unit_of_work() as uow:
            people = await uow.personal.inactive_citizens(bound, limit=ctx.chunk_size)
            n = await uow.personal.erase(people, now)
            await uow.commit()
        if n:
            result.add("people_erased", n)
        if len(people) < ctx.chunk_size:
            return result
