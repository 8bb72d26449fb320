"""SLA performance per OPD as people read it: the ``/kinerja`` command
(``handlers.complaints.complaint_performance``) and the section of the coordinators' daily digest
(``bot.services.digest``) say the same thing, built here. The arithmetic is
:mod:`bot.domain.sla_performance`; the queries :class:`storage.sla_repo.SlaRepo`'s
``performance_window`` / ``performance_open``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from babel.numbers import format_percent

from bot.domain.i18n import N_, Translator
from bot.domain.sla_performance import LateComplaint, OpdPerformance, late_list, performance

if TYPE_CHECKING:
    from storage.db import UnitOfWork

RegionContext = Any  # bot.engine.region_context.RegionContext
MAX_LINES = 20
MAX_LATE = 15

HEADING = N_(
    "⏱ Kinerja SLA per OPD, laporan masuk {days} hari terakhir (tepat waktu: tanggapan pertama · penyelesaian):"
)
FLAG_NOTE = N_("🚩 = ada laporan {days} hari kerja atau lebih tanpa tanggapan pertama.")
LINE = N_("{flag}{opd}: tanggapan {response} · selesai {resolution} · {open} terbuka, {late} terlambat")


@dataclass
class PerformanceData:
    now: datetime
    window_days: int
    flag_days: int
    rows: list[OpdPerformance]
    late: list[LateComplaint] = field(default_factory=list)  # one OPD's drill-down


async def collect_performance(
    uow: UnitOfWork, ctx: RegionContext, now: datetime, opd: str | None = None
) -> PerformanceData:
    """The figures as of ``now``, for every OPD or for ``opd`` (then with its late complaints)."""
    days, flag = ctx.sla.kinerja_window_days, ctx.sla.kinerja_flag_days
    window = await uow.sla.performance_window(now - timedelta(days=days), now, opd)
    open_now = await uow.sla.performance_open(opd)
    codes = [opd] if opd is not None else []
    rows = performance(window, open_now, now, ctx.calendar, flag, codes)
    data = PerformanceData(now, days, flag, rows)
    if opd is not None:
        data.late = late_list(open_now, now, ctx.calendar, flag)
    return data


def share(t: Translator, on_time: int, decided: int) -> str:
    """ "75% (3/4)"; "-" when nothing is decided yet."""
    if not decided:
        return "-"
    return f"{format_percent(on_time / decided, '#0%', locale=t.lang)} ({on_time}/{decided})"


def opd_line(t: Translator, p: OpdPerformance) -> str:
    return t(
        LINE,
        flag="🚩 " if p.red else "",
        opd=p.opd,
        response=share(t, p.response_on_time, p.response_decided),
        resolution=share(t, p.resolution_on_time, p.resolution_decided),
        open=p.open,
        late=p.late,
    )


def performance_lines(t: Translator, data: PerformanceData, *, limit: int = MAX_LINES) -> list[str]:
    """The heading, one line per OPD with anything to say (worst first), the red flag's meaning."""
    rows = [p for p in data.rows if p.received or p.open]
    lines = [t(HEADING, days=data.window_days)]
    if not rows:
        lines.append(t("• Belum ada laporan yang ditangani OPD."))
    lines += ["• " + opd_line(t, p) for p in rows[:limit]]
    if len(rows) > limit:
        lines.append(t("… dan {n} OPD lainnya.", n=len(rows) - limit))
    if any(p.red for p in rows):
        lines.append(t(FLAG_NOTE, days=data.flag_days))
    return lines


def late_lines(t: Translator, data: PerformanceData, *, limit: int = MAX_LATE) -> list[str]:
    if not data.late:
        return [t("Tidak ada laporan terlambat. 👍")]
    lines = [t("Laporan terlambat, terlama dulu ({n}):", n=len(data.late))]
    for c in data.late[:limit]:
        state = t("belum ditanggapi") if c.unanswered else t("lewat batas penyelesaian")
        lines.append(
            t(
                "• {flag}{number} · menunggu {days} hari kerja · {state}",
                flag="🚩 " if c.flagged else "",
                number=c.number,
                days=c.waiting_days,
                state=state,
            )
        )
    if len(data.late) > limit:
        lines.append(t("… dan {n} lainnya.", n=len(data.late) - limit))
    return lines
