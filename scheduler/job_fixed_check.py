"""“Sudah beres?” (daily, 09:00 local, working days only): ask the reporters of complaints closed N
working days ago whether the problem is really solved.

The rules are in :mod:`bot.domain.fixed_check`. Each chunk claims its complaints with a
conditional UPDATE (``fixed_asked_at``, :meth:`storage.sla_repo.SlaRepo.claim_fixed_checks`) and
queues the questions in the same transaction: a second run, a second instance or a restart asks
nobody twice. The question is a notification, so on WhatsApp outside the 24-hour window it goes
out as the approved template; its text says what to type ("SUDAH" / "BELUM"), since a template
carries no buttons. A missed day is caught up on the next working day.
"""

from __future__ import annotations

from datetime import time

from bot.domain import fixed_check
from bot.domain.i18n import Translator
from bot.domain.messages import Choice, Reply
from bot.domain.sla import digest_day
from bot.domain.typed import Means
from scheduler.job_context import JobContext, JobResult, chunks

ASK_AT = time(9, 0)  # the morning, like the other citizen notices


def question(t: Translator, number: str, opd: str, days: int, text: str) -> Reply:
    """The question with its two buttons (each also typed: "sudah" / "belum", "ya" / "tidak")."""
    summary = " ".join((text or "").split())
    summary = summary if len(summary) <= 120 else summary[:119] + "…"
    return Reply(
        text=t(fixed_check.QUESTION, number=number, opd=opd, days=days, summary=summary),
        title=t(fixed_check.TITLE),
        choices=(
            Choice(t("✅ Sudah beres"), f"/beres {number} {fixed_check.FIXED}", Means.YES),
            Choice(t("❌ Belum"), f"/beres {number} {fixed_check.NOT_FIXED}", Means.NO),
        ),
        purpose="notification",
    )


async def fixed_check_job(ctx: JobContext) -> JobResult:
    """Ask the reporters whose "Sudah beres?" is due at ``ctx.now()`` (see the module docstring)."""
    now = ctx.now()
    result = JobResult("fixed_check", now)
    region = await ctx.region()
    if digest_day(now, region.calendar) is None:
        result.skipped = "not a working day"
        return result
    async with ctx.db.unit_of_work() as uow:
        ids = await uow.sla.fixed_check_candidates(now)
    for chunk in chunks(ids, ctx.chunk_size):
        async with ctx.db.unit_of_work() as uow:
            claimed = await uow.sla.claim_fixed_checks(chunk, now)
            result.add("asked", len(claimed))
            people = await uow.sla.users(row[2] for row in claimed)
            for _cid, number, uid, opd, text, closed_at in claimed:
                person = people.get(uid)
                if person is None:  # erased meanwhile: recorded as asked, nobody to ask
                    result.add("no_reporter")
                    continue
                t = ctx.notifier.translator_for(person)
                days = max(1, region.calendar.working_days_between(closed_at or now, now))
                reply = question(t, number, region.opd_names.get(opd or "", opd or "-"), days, text)
                result.add("messages", ctx.notify(uow.outbox, person, reply, now))
            await uow.commit()
        ctx.woke()
    return result
