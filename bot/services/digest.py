"""The daily digest (ringkasan harian): what coordinators and OPD officers need to act on today.

A service (no router, no turn): built here once for both the scheduled job
(``scheduler.job_digest``) and the ``/ringkasan`` (``/digest``) command
(``handlers.digest_command``), so both say the same thing. It reads through the repositories of
a unit of work and writes texts with the reader's translator:

* **new complaints** in the window, by OPD (not yet routed: "triase");
* **open and overdue** complaints by OPD, worst first — overdue meaning past the deadline of the
  stage the complaint is in (triage, first response or completion);
* **average first response** over complaints first answered in the last 30 days, in **working
  days** from filing (0 = answered on the day it was filed), counted with the region's calendar;
* **SKM**: complete questionnaires in the current period (the region's ``skm.period``) and in the
  window, IKM per OPD with the movement against the previous period;
* **units with too small a sample** in the current period (Krejcie–Morgan, known population);
* **upcoming forums** in the next 7 days with their registrations (``SlaRepo.upcoming_forums``);
* **SLA performance** per OPD (coordinators): % on time (first response, resolution) over the last
  ``sla.kinerja_window_days`` days, open and late counts, 🚩 on an OPD with a complaint
  ``sla.kinerja_flag_days`` working days without a first response (``bot.services.sla_report``);
* **routing last month**, on the month's first working day: the share of complaints routed straight
  to an OPD, the share given back or passed on by the OPD they reached (the real-world wrong-route
  rate) per OPD, and those closed as not the Pemda's business (``bot.domain.routing_figures``).

Coordinators get all of it plus one PNG chart (overdue complaints and IKM by OPD). An officer's
digest covers their OPD only: open/overdue counts, the oldest overdue complaints, their average
first response and IKM; the scheduled one is sent only when the OPD has overdue complaints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal, format_percent

from bot.domain import skm as skm_rules
from bot.domain.i18n import N_, Translator
from bot.domain.messages import Attachment, Choice, Reply
from bot.domain.routing_figures import RoutingMonth, routing_month
from bot.services.digest_chart import ChartLabels, render_chart_async
from bot.services.sla_report import PerformanceData, collect_performance, performance_lines
from bot.services.sms_cost import SmsMonth, cost_line, sms_month

if TYPE_CHECKING:
    from storage.db import UnitOfWork
    from storage.models import Complaint

#: the region's ``bot.engine.region_context.RegionContext`` (tz, calendar, SKM settings, OPD names),
#: passed in by the caller
RegionContext = Any
RESPONSE_WINDOW = timedelta(days=30)
MAX_OPD_LINES = 12
MAX_SMALL_SAMPLES = 8
MAX_OVERDUE_LINES = 10
FORUM_DAYS = 7
RESPONSE_AVERAGE = N_(
    "⏱ Rata-rata tanggapan pertama (30 hari terakhir): {avg} hari kerja sejak laporan masuk, dari {n} laporan."
)


@dataclass
class OpdIkm:
    opd: str
    responses: int
    ikm: Decimal | None
    previous: Decimal | None

    @property
    def movement(self) -> Decimal | None:
        return None if self.ikm is None or self.previous is None else self.ikm - self.previous


@dataclass
class SmallSample:
    unit_code: str
    unit_name: str
    responses: int
    required: int


@dataclass
class DigestData:
    now: datetime
    start: datetime  # "new since"
    opd: str | None  # None: the whole region
    new_by_opd: dict[str | None, int]
    open_by_opd: list[tuple[str | None, int, int]]
    response_days: list[int]  # working days to first response, one per complaint
    period: Any  # bot.domain.skm.Period
    previous_period: Any
    skm_responses: int  # complete questionnaires in the current period
    skm_new: int  # … finished since ``start``
    ikm: list[OpdIkm]
    small_samples: list[SmallSample]
    forums: list[Any] = field(default_factory=list)
    overdue: list[Complaint] = field(default_factory=list)  # officer digest: the oldest overdue
    routing: RoutingMonth | None = None  # coordinators, first working day of a month: last month's routing
    routing_month: date | None = None  # … its first day
    performance: PerformanceData | None = None  # coordinators: SLA performance per OPD
    sms: SmsMonth | None = None  # coordinators, SMS on: this month's SMS and their estimated cost

    @property
    def new_total(self) -> int:
        return sum(self.new_by_opd.values())

    @property
    def open_total(self) -> int:
        return sum(n for _, n, _ in self.open_by_opd)

    @property
    def overdue_total(self) -> int:
        return sum(late for _, _, late in self.open_by_opd)

    @property
    def response_average(self) -> float | None:
        return sum(self.response_days) / len(self.response_days) if self.response_days else None


def _ikm_of(g, weight: str) -> Decimal | None:
    result = skm_rules.compute_ikm(g.totals, g.responses, weight=weight) if g is not None else None
    return result.ikm if result is not None else None


async def _ikm_by_opd(
    uow: UnitOfWork, ctx: RegionContext, period, previous, opd: str | None
) -> tuple[list[OpdIkm], int]:
    """IKM per OPD in ``period`` against ``previous`` (lowest first), and the period's responses."""
    weight = ctx.skm.weight
    p_start, p_end = period.utc_range(ctx.tz.key)
    q_start, q_end = previous.utc_range(ctx.tz.key)
    totals = uow.skm.element_totals
    current = {g.key: g for g in await totals(start=p_start, end=p_end, group_by="opd", opd_code=opd)}
    before = {g.key: g for g in await totals(start=q_start, end=q_end, group_by="opd", opd_code=opd)}
    ikm = [
        OpdIkm(
            code,
            current[code].responses if code in current else 0,
            _ikm_of(current.get(code), weight),
            _ikm_of(before.get(code), weight),
        )
        for code in sorted(set(current) | set(before))
    ]
    ikm.sort(key=lambda o: (o.ikm is None, o.ikm if o.ikm is not None else Decimal(0), o.opd))
    return ikm, sum(g.responses for g in current.values())


async def _small_samples(uow: UnitOfWork, ctx: RegionContext, period, opd: str | None) -> list[SmallSample]:
    """Units whose sample in ``period`` is too small (Krejcie–Morgan), smallest share first."""
    p_start, p_end = period.utc_range(ctx.tz.key)
    unit_totals = {
        g.key: g.responses
        for g in await uow.skm.element_totals(start=p_start, end=p_end, group_by="unit", opd_code=opd)
    }
    populations = await uow.skm.populations(period.key, opd)
    basis = ctx.skm.population_basis
    names = {u.code: u.name for u in await uow.region.units(opd)}
    small = []
    for code, known in populations.items():
        # (coordinator's figure for the period, region file's yearly one) → N for this period
        population = skm_rules.population_for_period(*known, period, basis) if isinstance(known, tuple) else known
        status = skm_rules.sample_status(unit_totals.get(code, 0), population)
        if status.adequate is False:
            small.append(SmallSample(code, names.get(code, code), status.n, int(status.required or 0)))
    small.sort(key=lambda s: (s.responses / s.required if s.required else 1.0, s.unit_code))
    return small


async def collect_digest(
    uow: UnitOfWork,
    ctx: RegionContext,
    now: datetime,
    start: datetime,
    *,
    opd: str | None = None,
    sms_price: float | None = None,
) -> DigestData:
    """Everything a digest says, read through ``uow``'s repositories (aggregated in SQL), as of ``now``;
    with ``sms_price`` (SMS on) the region's digest also says what SMS cost this month."""
    sla = uow.sla
    new = await sla.new_by_opd(start, now)
    if opd is not None:
        new = {k: v for k, v in new.items() if k == opd}
    open_rows = await sla.open_by_opd(now, opd)
    pairs = await sla.first_responses(now - RESPONSE_WINDOW, now, opd)
    response_days = [max(0, ctx.calendar.working_days_between(filed, first)) for _, filed, first in pairs]

    period = skm_rules.period_containing(now.astimezone(ctx.tz).date(), ctx.skm.period)
    previous = period.previous()
    ikm, skm_total = await _ikm_by_opd(uow, ctx, period, previous, opd)
    fresh = await uow.skm.element_totals(start=start, end=now, group_by="region", opd_code=opd)
    data = DigestData(
        now=now,
        start=start,
        opd=opd,
        new_by_opd=new,
        open_by_opd=open_rows,
        response_days=response_days,
        period=period,
        previous_period=previous,
        skm_responses=skm_total,
        skm_new=fresh[0].responses if fresh else 0,
        ikm=ikm,
        small_samples=await _small_samples(uow, ctx, period, opd),
        forums=await sla.upcoming_forums(now, FORUM_DAYS, opd),
    )
    if opd is not None:
        data.overdue = list(await sla.overdue_list(opd, now, MAX_OVERDUE_LINES))
        return data
    data.performance = await collect_performance(uow, ctx, now)
    if sms_price is not None:
        data.sms = await sms_month(uow, ctx, now, sms_price)
    if (month := _month_to_report(ctx, now)) is not None:
        following = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
        start_end = ctx.calendar.start_of_day(month), ctx.calendar.start_of_day(following)
        data.routing = routing_month(await sla.routing_events(*start_end))
        data.routing_month = month
    return data


def _month_to_report(ctx: RegionContext, now: datetime) -> date | None:
    """Last month's first day when ``now`` is the first working day of a month, else None."""
    today = now.astimezone(ctx.tz).date()
    if ctx.calendar.next_working_day(today.replace(day=1), inclusive=True) != today:
        return None
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


# ---- formatting ------------------------------------------------------------------------------
def _num(lang: str, value, pattern: str = "0.00") -> str:
    return format_decimal(value, pattern, locale=lang)


def _when(lang: str, ctx: RegionContext, at: datetime) -> str:
    return format_datetime(at.astimezone(ctx.tz), "EEE, d MMM yyyy HH:mm", locale=lang, tzinfo=ctx.tz)


def _day(lang: str, ctx: RegionContext, at: datetime | date) -> str:
    d = at.astimezone(ctx.tz).date() if isinstance(at, datetime) else at
    return format_date(d, "EEE, d MMM yyyy", locale=lang)


def opd_label(t: Translator, opd: str | None) -> str:
    return opd if opd else t("Belum diarahkan")


def _movement(t: Translator, lang: str, o: OpdIkm) -> str:
    m = o.movement
    if m is None:
        return t("(periode lalu: -)")
    if m > 0:
        return f"(▲ {_num(lang, m)})"
    if m < 0:
        return f"(▼ {_num(lang, -m)})"
    return "(=)"


def _short(text: str, n: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _skm_lines(t: Translator, ctx: RegionContext, data: DigestData) -> list[str]:
    """The coordinator's SKM part: responses, IKM per OPD, units with too small a sample."""
    lang = t.lang
    lines: list[str] = []
    lines += [
        "",
        t(
            "📊 SKM {period}: {n} responden, {new} baru sejak {start}.",
            period=data.period.label(lang),
            n=data.skm_responses,
            new=data.skm_new,
            start=_when(lang, ctx, data.start),
        ),
    ]
    for o in data.ikm[:MAX_OPD_LINES]:
        if o.ikm is None:
            lines.append(
                t(
                    "• {opd}: belum ada survei periode ini (periode lalu {previous})",
                    opd=o.opd,
                    previous=_num(lang, o.previous),
                )
            )
        else:
            lines.append(
                t(
                    "• {opd}: IKM {ikm} {movement} · {n} responden",
                    opd=o.opd,
                    ikm=_num(lang, o.ikm),
                    movement=_movement(t, lang, o),
                    n=o.responses,
                )
            )
    if data.small_samples:
        lines += ["", t("⚠️ Sampel SKM belum memadai ({n} unit):", n=len(data.small_samples))]
        for s in data.small_samples[:MAX_SMALL_SAMPLES]:
            lines.append(
                t("• {unit}: {n} dari {required} responden", unit=s.unit_name, n=s.responses, required=s.required)
            )
        if len(data.small_samples) > MAX_SMALL_SAMPLES:
            lines.append(t("… dan {n} unit lainnya.", n=len(data.small_samples) - MAX_SMALL_SAMPLES))
    return lines


def _forum_lines(t: Translator, ctx: RegionContext, data: DigestData) -> list[str]:
    """The coordinator's upcoming forums."""
    lang = t.lang
    lines: list[str] = []
    if data.forums:
        lines += ["", t("🗓 Forum konsultasi publik mendatang:")]
        for f in data.forums:
            lines.append(
                t(
                    "• {when} · {opd} · {title} ({registered}/{capacity} terdaftar)",
                    when=_when(lang, ctx, f.starts_at),
                    opd=getattr(f, "opd_code", "") or "",
                    title=f.title,
                    registered=getattr(f, "registered", 0),
                    capacity=getattr(f, "capacity", 0) or "-",
                )
            )
    return lines


def coordinator_text(t: Translator, ctx: RegionContext, data: DigestData) -> str:
    lang = t.lang
    lines = [t("📥 Pengaduan baru sejak {start}: {n}", start=_when(lang, ctx, data.start), n=data.new_total)]
    if data.new_total:
        parts = sorted(data.new_by_opd.items(), key=lambda kv: (-kv[1], kv[0] or ""))
        lines.append("   " + " · ".join(f"{opd_label(t, opd)} {n}" for opd, n in parts))
    lines += [
        "",
        t(
            "📂 Terbuka / lewat batas per OPD, terburuk dulu ({open} terbuka, {late} lewat batas):",
            open=data.open_total,
            late=data.overdue_total,
        ),
    ]
    if not data.open_by_opd:
        lines.append(t("• Tidak ada pengaduan terbuka. 👍"))
    for opd, n, late in data.open_by_opd[:MAX_OPD_LINES]:
        lines.append(t("• {opd}: {open} terbuka, {late} lewat batas", opd=opd_label(t, opd), open=n, late=late))
    if len(data.open_by_opd) > MAX_OPD_LINES:
        lines.append(t("… dan {n} OPD lainnya.", n=len(data.open_by_opd) - MAX_OPD_LINES))
    lines.append("")
    avg = data.response_average
    if avg is None:
        lines.append(t("⏱ Belum ada tanggapan pertama dalam 30 hari terakhir."))
    else:
        lines.append(
            t(
                RESPONSE_AVERAGE,
                avg=_num(lang, avg, "0.0"),
                n=len(data.response_days),
            )
        )
    if data.performance is not None:
        lines += ["", *performance_lines(t, data.performance, limit=MAX_OPD_LINES)]
    if data.sms is not None:
        lines += ["", cost_line(t, data.sms)]
    lines += _skm_lines(t, ctx, data)
    lines += _forum_lines(t, ctx, data)
    lines += _routing_lines(t, data)
    return "\n".join(lines)


def _pct(lang: str, share: float) -> str:
    return format_percent(share, "#0%", locale=lang)


def _routing_lines(t: Translator, data: DigestData) -> list[str]:
    """Last month's routing: straight to an OPD, given back or passed on, not the Pemda's business."""
    r, month = data.routing, data.routing_month
    if r is None or month is None:
        return []
    lang = t.lang
    lines = [
        "",
        t("🧭 Pengarahan laporan {month}:", month=format_date(month, "MMMM yyyy", locale=lang)),
        t(
            "• langsung ke OPD oleh sistem: {n} dari {filed} laporan ({pct})",
            n=r.straight,
            filed=r.filed,
            pct=_pct(lang, r.straight_share),
        ),
        t(
            "• dikembalikan atau diteruskan lagi oleh OPD: {n} dari {assigned} ({pct})",
            n=r.rerouted,
            assigned=r.assigned,
            pct=_pct(lang, r.rerouted_share),
        ),
        t("• bukan urusan Pemda, diteruskan ke instansi lain: {n}", n=r.outside),
    ]
    for o in [o for o in r.per_opd if o.rerouted][:MAX_OPD_LINES]:
        lines.append(
            t(
                "   {opd}: {n} dari {assigned} salah alamat ({pct})",
                opd=o.opd,
                n=o.rerouted,
                assigned=o.assigned,
                pct=_pct(lang, o.rerouted_share),
            )
        )
    return lines


def officer_text(t: Translator, ctx: RegionContext, data: DigestData) -> str:
    lang = t.lang
    name = ctx.opd_names.get(data.opd or "", data.opd or "")
    lines = [
        t(
            "📂 {opd}: {open} pengaduan terbuka, {late} lewat batas.",
            opd=name,
            open=data.open_total,
            late=data.overdue_total,
        )
    ]
    if data.overdue:
        lines += ["", t("Lewat batas, terlama dulu:")]
        for c in data.overdue:
            due = c.completion_due_at
            if c.first_response_at is None and c.response_due_at is not None and c.response_due_at < data.now:
                due = min(due, c.response_due_at) if due is not None else c.response_due_at
            days = max(1, ctx.calendar.working_days_between(due, data.now)) if due is not None else 0
            lines.append(
                t(
                    "• {number} · batas {date} · lewat {n} hari kerja",
                    number=c.number,
                    date=_day(lang, ctx, due),
                    n=days,
                )
                + f"\n  {_short(c.text, 70)}"
            )
    avg = data.response_average
    if avg is not None:
        lines += [
            "",
            t(
                RESPONSE_AVERAGE,
                avg=_num(lang, avg, "0.0"),
                n=len(data.response_days),
            ),
        ]
    mine = next((o for o in data.ikm if o.opd == data.opd and o.ikm is not None), None)
    if mine is not None:
        lines += [
            "",
            t(
                "📊 IKM {period}: {ikm} {movement} · {n} responden",
                period=data.period.label(lang),
                ikm=_num(lang, mine.ikm),
                movement=_movement(t, lang, mine),
                n=mine.responses,
            ),
        ]
    if data.small_samples:
        lines.append(
            t(
                "⚠️ Sampel SKM belum memadai: {units}",
                units=", ".join(s.unit_name for s in data.small_samples[:MAX_SMALL_SAMPLES]),
            )
        )
    lines += ["", t("Buka /antrian untuk menanganinya.")]
    return "\n".join(lines)


def chart_labels(t: Translator, ctx: RegionContext, data: DigestData) -> ChartLabels:
    return ChartLabels(
        title=t("Ringkasan {region} · {date}", region=ctx.name, date=_day(t.lang, ctx, data.now)),
        complaints_title=t("Pengaduan terbuka per OPD"),
        open_label=t("terbuka"),
        overdue_label=t("lewat batas"),
        ikm_title=t("IKM per OPD · {period}", period=data.period.label(t.lang)),
        ikm_label=t("periode ini"),
        previous_label=t("periode lalu"),
        no_complaints=t("Tidak ada pengaduan terbuka"),
        no_ikm=t("Belum ada survei selesai"),
        decimal=_num(t.lang, 0.5, "0.0")[1],
    )


async def chart_png(t: Translator, ctx: RegionContext, data: DigestData) -> bytes:
    complaints = [(opd_label(t, opd), n, late) for opd, n, late in data.open_by_opd]
    ikm = [
        (o.opd, float(o.ikm) if o.ikm is not None else None, float(o.previous) if o.previous is not None else None)
        for o in sorted(data.ikm, key=lambda o: (o.ikm is None, -(o.ikm or 0), o.opd))
    ]
    return await render_chart_async(complaints, ikm, chart_labels(t, ctx, data))


def coordinator_reply(t: Translator, ctx: RegionContext, data: DigestData, png: bytes | None) -> Reply:
    image = (
        Attachment(
            filename=f"ringkasan-{data.now.astimezone(ctx.tz).date().isoformat()}.png", mime_type="image/png", data=png
        )
        if png
        else None
    )
    return Reply(
        text=coordinator_text(t, ctx, data),
        title=t("Ringkasan harian {date}", date=_day(t.lang, ctx, data.now)),
        image=image,
        choices=(Choice(t("📥 Belum diarahkan"), "/triase"), Choice(t("⏱ Kinerja OPD"), "/kinerja")),
    )


def officer_reply(t: Translator, ctx: RegionContext, data: DigestData) -> Reply:
    choices = tuple(Choice(c.number, f"/lihat {c.number}") for c in data.overdue[:5]) + (
        Choice(t("📂 Antrean"), "/antrian"),
    )
    return Reply(
        text=officer_text(t, ctx, data),
        title=t("Ringkasan harian {date}", date=_day(t.lang, ctx, data.now)),
        choices=choices,
    )
