"""New-complaint summaries (every minute): the notices that the filing flow held back.

When many complaints reach one OPD (or the coordinators' triage queue) at once, the first is
notified at once with its card and the next ones within ``KANAL_COMPLAINT_NOTIFY_WINDOW`` minutes
wait (``complaints.notice_due_at``). Once the first waiting complaint of a queue is due, each of
its handlers gets ONE message listing that queue's waiting complaints, and the column is cleared
in the same transaction as the outbox rows are written: each waiting notice goes out exactly once.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.complaint_rules import ComplaintState, Role
from bot.domain.i18n import N_, Translator
from bot.domain.messages import Reply
from scheduler.job_context import JobContext, JobResult

INTERVAL = 60  # seconds
LISTED = 20  # complaints named in one summary; the rest are counted

SUMMARY = N_("📣 {count} pengaduan baru lagi untuk {queue}:")
MORE = N_("… dan {n} lainnya.")
SEE_QUEUE = N_("Lihat semuanya dengan /antrian.")
SEE_TRIAGE = N_("Lihat semuanya dengan /triase.")
TRIAGE_QUEUE = N_("diarahkan ke OPD")


def summary(t: Translator, queue: str, complaints: Sequence, *, triage: bool) -> str:
    lines = [t(SUMMARY, count=len(complaints), queue=queue)]
    for c in complaints[:LISTED]:
        text = " ".join(c.text.split())
        lines.append(f"• {c.number} — {text[:60]}{'…' if len(text) > 60 else ''}")
    if len(complaints) > LISTED:
        lines.append(t(MORE, n=len(complaints) - LISTED))
    lines.append(t(SEE_TRIAGE if triage else SEE_QUEUE))
    return "\n".join(lines)


async def new_complaints(ctx: JobContext) -> JobResult:
    """Send the summaries of the queues whose first waiting notice is due by ``ctx.now()``."""
    now = ctx.now()
    result = JobResult("new_complaints", now)
    region = await ctx.region()
    async with ctx.db.unit_of_work() as uow:
        queues: dict[str | None, list] = {}
        for c in await uow.complaints.notices_waiting():
            triage = c.state == ComplaintState.TRIASE or c.opd_code is None
            queues.setdefault(None if triage else c.opd_code, []).append(c)
        for opd, complaints in queues.items():
            if min(c.notice_due_at for c in complaints) > now:
                continue
            if await uow.complaints.notices_sent([c.id for c in complaints]) != len(complaints):
                continue  # another run took (some of) them: theirs to tell
            if opd is None:
                people = await uow.users.users_with_role(Role.COORDINATOR)
            else:
                people = await uow.users.users_with_role(Role.OFFICER, opd)
            for person in people:
                t = ctx.notifier.translator_for(person)
                queue = t(TRIAGE_QUEUE) if opd is None else region.opd_names.get(opd, opd)
                text = summary(t, queue, complaints, triage=opd is None)
                result.add("messages", ctx.notify(uow.outbox, person, Reply(text=text, purpose="notification"), now))
            result.add("complaints", len(complaints))
        await uow.commit()
    ctx.woke()
    return result
