"""Auto-close (daily, 08:05 local): close complaints left ``selesai`` past the confirmation window.

The window is ``sla.confirmation_days`` (working or calendar days per ``sla.working_days``) after
``resolved_at``, ending at the end of that local day (:func:`bot.domain.sla.autoclose_bound`).
State ``ditutup``, ``closed_at``, a history event "autoclose" by the system, an audit event, and
the citizen is told; the "Sudah beres?" question is scheduled (:mod:`bot.domain.fixed_check`). A
citizen's rating that lands first wins (the close is a conditional UPDATE
on ``state = 'selesai'``, :meth:`storage.sla_repo.SlaRepo.autoclose`).
"""

from __future__ import annotations

from bot.domain import complaint_rules, fixed_check
from bot.domain.i18n import N_, day_count
from bot.domain.messages import Reply
from bot.domain.sla import autoclose_bound
from scheduler.job_context import JobContext, JobResult, chunks

AUTOCLOSE_TEXT = N_(
    "🔒 Laporan {number} ditutup otomatis karena tidak ada penilaian dalam {days} sejak dinyatakan selesai. "
    "Terima kasih telah melapor. Jika masalahnya muncul lagi, buat laporan baru dengan /lapor."
)


async def autoclose(ctx: JobContext) -> JobResult:
    """Close the complaints whose confirmation window ended before ``ctx.now()``; tell the citizens."""
    now = ctx.now()
    result = JobResult("autoclose", now)
    region = await ctx.region()
    days = region.sla.confirmation_days
    working = region.sla.working_days
    bound = autoclose_bound(now, region.calendar, days, working)
    assert complaint_rules.next_state("autoclose", "selesai") == "ditutup"
    async with ctx.db.unit_of_work() as uow:
        ids = await uow.sla.autoclose_candidates(bound)
    for chunk in chunks(ids, ctx.chunk_size):
        async with ctx.db.unit_of_work() as uow:
            closed = await uow.sla.autoclose(chunk, resolved_before=bound, now=now)
            result.add("closed", len(closed))
            await uow.sla.schedule_fixed_checks(
                [
                    (cid, due)
                    for cid, _n, _u, opd in closed
                    if (due := fixed_check.due_at(now, region.calendar, region.sla.fixed_check_days_for(opd)))
                ]
            )
            citizens = await uow.sla.users(u for _, _, u, _ in closed if u is not None)
            for _cid, number, uid, _opd in closed:
                person = citizens.get(uid) if uid is not None else None
                if person is None:
                    continue
                t = ctx.notifier.translator_for(person)
                reply = Reply(
                    text=t(AUTOCLOSE_TEXT, number=number, days=day_count(t, days, working=working)),
                    purpose="notification",
                )
                result.add("messages", ctx.notify(uow.outbox, person, reply, now))
            await uow.commit()
        ctx.woke()
    return result
