"""The daily digest (at ``KANAL_DIGEST_TIME``, default 07:00 local), built by :mod:`bot.services.digest`.

To every coordinator (with the chart) and to every officer whose OPD has overdue complaints, once
per person and local day (``digests_sent``, :meth:`storage.sla_repo.SlaRepo.record_digest`).
Working days only; "new since" = the previous working day's digest time
(:func:`bot.domain.sla.digest_window_start`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from bot.domain.complaint_rules import Role
from bot.domain.i18n import Translator
from bot.domain.sla import digest_day, digest_window_start, parse_clock_time
from bot.services.digest import DigestData, chart_png, collect_digest, coordinator_reply, officer_reply
from scheduler.job_context import JobContext, JobResult, chunks

RECIPIENT_CHUNK = 100


def digest_time(settings: Any) -> time:
    """The local time of the scheduled digest (``settings.digest_time``, "HH:MM")."""
    return parse_clock_time(getattr(settings, "digest_time", "07:00") or "07:00")


@dataclass
class _Plan:
    """What one digest run sends: the day, the region's digest, each late OPD's, the charts per
    language and the recipients with their kind of digest."""

    day: date
    data: DigestData
    per_opd: dict[str, DigestData]
    recipients: list[tuple[Any, str]]
    charts: dict[str, bytes] = field(default_factory=dict)


async def _collect(ctx: JobContext, region: Any, day: date, now: datetime, start: datetime) -> _Plan:
    """The region's digest to the coordinators, each late OPD's to its officers, and the charts."""
    async with ctx.db.unit_of_work() as uow:
        staff = await uow.sla.staff()
        coordinators = [u for u in staff if u.role == Role.COORDINATOR]
        price = ctx.settings.sms_segment_price if ctx.settings.sms_transport else None
        data = await collect_digest(uow, region, now, start, sms_price=price)
        late_opds = {opd for opd, _n, late in data.open_by_opd if opd and late}
        officers = [u for u in staff if u.role == Role.OFFICER and u.opd_code in late_opds]
        per_opd = {
            opd: await collect_digest(uow, region, now, start, opd=opd)
            for opd in sorted({u.opd_code for u in officers})
        }
    plan = _Plan(
        day, data, per_opd, [(u, Role.COORDINATOR) for u in coordinators] + [(u, Role.OFFICER) for u in officers]
    )
    for lang in sorted({ctx.notifier.language_for(u) for u in coordinators}):
        plan.charts[lang] = await chart_png(Translator(lang), region, data)
    return plan


async def _send(ctx: JobContext, plan: _Plan, region: Any, now: datetime, result: JobResult) -> None:
    for chunk in chunks(plan.recipients, RECIPIENT_CHUNK):
        async with ctx.db.unit_of_work() as uow:
            for person, kind in chunk:
                if not await uow.sla.record_digest(person.id, plan.day, kind, now):
                    result.add("already_sent")
                    continue
                t = ctx.notifier.translator_for(person)
                if kind == Role.COORDINATOR:
                    reply = coordinator_reply(t, region, plan.data, plan.charts[t.lang])
                else:
                    reply = officer_reply(t, region, plan.per_opd[person.opd_code])
                result.add(kind)
                result.add("messages", ctx.notify(uow.outbox, person, reply, now))
            await uow.commit()
        ctx.woke()


async def digest(ctx: JobContext) -> JobResult:
    """The daily digest as of ``ctx.now()`` (see the module docstring)."""
    now = ctx.now()
    result = JobResult("digest", now)
    region = await ctx.region()
    day = digest_day(now, region.calendar)
    if day is None:
        result.skipped = "not a working day"
        return result
    start = digest_window_start(now, region.calendar, digest_time(ctx.settings))
    await _send(ctx, await _collect(ctx, region, day, now, start), region, now, result)
    return result
