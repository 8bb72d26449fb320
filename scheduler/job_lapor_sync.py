"""SP4N-LAPOR! bridge (every minute, when KANAL_LAPOR_URL and KANAL_LAPOR_TOKEN are set): send the
queued calls (new complaints, answers, status changes) in order per complaint, and every
KANAL_LAPOR_POLL_MINUTES pull LAPOR!'s updates: status changes of linked reports become history
events, reports disposed to this Pemda become complaints in their OPD's queue (or triage), their
handlers told in the same transaction. An outage or a 429 pauses the bridge with backoff; nothing is
lost and nothing is sent twice (:mod:`bot.services.lapor_sync`)."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.domain.complaint_rules import Role
from bot.domain.i18n import N_
from bot.domain.messages import Reply
from bot.services.lapor_client import LaporClient
from bot.services.lapor_sync import LAST_PULL, drain, lapor_map, pull
from scheduler.job_context import JobContext, JobResult

INTERVAL = 60  # seconds
#: ``ctx.memo`` key of an Upstream to use instead of a LaporClient (tests, tools)
UPSTREAM = "lapor_upstream"

NEW_FROM_LAPOR = N_("📣 Pengaduan baru dari SP4N-LAPOR! untuk {queue}: {number} (TrackingID {tracking})")
SEE_OPD = N_("Lihat dengan /lihat {number}; antrian Anda: /antrian.")
SEE_TRIAGE = N_("Instansi atau topiknya belum dipetakan ke OPD: arahkan lewat /triase.")
TRIAGE_QUEUE = N_("koordinator")
REFUSED = N_(
    "⚠️ SP4N-LAPOR! menolak {what} untuk laporan {number}: {error}\n"
    "Petugas teknis: lihat dengan kanal lapor status, perbaiki, lalu kirim lagi dengan kanal lapor retry."
)
CALLS = {
    "create": N_("laporan baru"),
    "answer": N_("jawaban petugas"),
    "followup": N_("tambahan pelapor"),
    "status": N_("perubahan status"),
}


async def lapor_sync(ctx: JobContext) -> JobResult:
    now = ctx.now()
    result = JobResult("lapor_sync", now)
    settings = ctx.settings
    if not getattr(settings, "lapor_enabled", False):
        result.skipped = "off: set KANAL_LAPOR_URL and KANAL_LAPOR_TOKEN"
        return result
    upstream = ctx.memo.get(UPSTREAM)
    if upstream is not None:
        await _run(ctx, upstream, now, result)
    else:
        async with LaporClient(settings.lapor_url, settings.lapor_token) as client:
            await _run(ctx, client, now, result)
    ctx.woke()
    return result


async def _pull_due(ctx: JobContext, now: datetime) -> bool:
    async with ctx.db.unit_of_work() as uow:
        last = await uow.lapor.state(LAST_PULL)
    minutes = getattr(ctx.settings, "lapor_poll_minutes", 5)
    return last is None or datetime.fromisoformat(last) + timedelta(minutes=minutes) <= now


async def _run(ctx: JobContext, upstream, now: datetime, result: JobResult) -> None:
    region = await ctx.region()
    async with ctx.db.unit_of_work() as uow:
        mapping = lapor_map(await uow.region.region())

    async def refused(uow, number: str, kind: str, error: str) -> int:
        n = 0
        for person in await uow.users.users_with_role(Role.COORDINATOR):
            t = ctx.notifier.translator_for(person)
            text = t(REFUSED, what=t(CALLS.get(kind, kind)), number=number, error=error)
            n += ctx.notify(uow.outbox, person, Reply(text=text, purpose="notification"), now)
        result.add("messages", n)
        return n

    pushed = await drain(ctx.db, upstream, mapping, now, on_refused=refused)
    for key, n in pushed.counts.items():
        result.add(key, n)
    if pushed.paused_until is not None:
        result.note = f"SP4N-LAPOR! paused until {pushed.paused_until.isoformat()}" + (
            f": {pushed.error}" if pushed.error else ""
        )
        return
    if not await _pull_due(ctx, now):
        return

    async def announce(uow, complaint, tracking: str) -> int:
        n = _announce(ctx, region, uow, complaint, tracking, now, await _handlers(uow, complaint))
        result.add("messages", n)
        return n

    pulled = await pull(ctx.db, upstream, region, mapping, now, announce)
    for key, n in pulled.counts.items():
        result.add(f"pulled_{key}", n)
    if pulled.error:
        result.note = f"pull: {pulled.error}"


async def _handlers(uow, complaint):
    if complaint.opd_code is None:
        return await uow.users.users_with_role(Role.COORDINATOR)
    return await uow.users.users_with_role(Role.OFFICER, complaint.opd_code)


def _announce(ctx: JobContext, region, uow, c, tracking: str, now: datetime, people) -> int:
    """Tell the complaint's handlers (the OPD's officers, or the coordinators) it came in."""
    sent = 0
    for person in people:
        t = ctx.notifier.translator_for(person)
        queue = region.opd_names.get(c.opd_code, c.opd_code) if c.opd_code else t(TRIAGE_QUEUE)
        text = " ".join(c.text.split())
        lines = [
            t(NEW_FROM_LAPOR, queue=queue, number=c.number, tracking=tracking),
            "",
            text[:300] + ("…" if len(text) > 300 else ""),
            "",
            t(SEE_OPD, number=c.number) if c.opd_code else t(SEE_TRIAGE),
        ]
        sent += ctx.notify(uow.outbox, person, Reply(text="\n".join(lines), purpose="notification"), now)
    return sent
