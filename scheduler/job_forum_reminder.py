"""FKP reminders (every 15 minutes): the day-before reminder for people registered to a forum.

Due from local midnight of the day before the forum until it starts (``bot.domain.forum_rules.reminder_due``).
A person is reminded of a forum once: the row in ``forum_reminders`` (primary key forum, user,
kind) is inserted in the same transaction as the outbox row, and only the run whose insert took
effect enqueues the message — a re-run, a restart, ``kanal jobs run`` during the schedule or a
second instance sends nothing twice. Through the outbox as a notification (the platform's rate
limits; on WhatsApp a template outside the 24 h window).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.domain import forum_rules as rules
from bot.domain.i18n import N_
from bot.domain.messages import Choice, Reply
from scheduler.job_context import JobContext, JobResult

REMINDER_INTERVAL = 15 * 60  # seconds
BATCH = 500
KIND = "day_before"
CANCEL_LABEL = N_("❎ Batal daftar")


async def _remind_batch(ctx: JobContext, uow: Any, rows: list, now: datetime, tz: Any, result: JobResult) -> None:
    for r, f, person in rows:
        if not rules.reminder_due(starts_at=f.starts_at, registered_at=r.registered_at, now=now, tz=tz):
            continue
        if not await uow.forum.record_reminder(f.id, person.id, now, kind=KIND):
            result.add("already")
            continue  # another run got there first
        t = ctx.notifier.translator_for(person)
        reply = Reply(
            text=rules.reminder_text(f, tz=tz, t=t, lang=t.lang),
            choices=(Choice(t(CANCEL_LABEL), f"/forum {f.id} batal"),),
            purpose="notification",
        )
        result.add("reminded")
        result.add("messages", ctx.notify(uow.outbox, person, reply, now))


async def forum_reminder(ctx: JobContext) -> JobResult:
    """Remind, batch by batch, the people whose forum starts within the reminder horizon."""
    now = ctx.now()
    result = JobResult("forum_reminder", now)
    region = await ctx.region()
    horizon = rules.reminder_horizon(now, region.tz)
    after = (0, 0)
    while True:
        async with ctx.db.unit_of_work() as uow:
            rows = await uow.forum.reminder_candidates(now, horizon, kind=KIND, after=after, limit=BATCH)
            await _remind_batch(ctx, uow, rows, now, region.tz, result)
            await uow.commit()
        ctx.woke()
        if len(rows) < BATCH:
            break
        after = (rows[-1][0].forum_id, rows[-1][0].user_id)
    return result
