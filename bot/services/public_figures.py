"""The figures of the public transparency page (``/publik``, ``/publik.json``, ``/publik.csv``,
``/publik/skm/<unit>``), gathered through the storage repositories.

* complaints per OPD over the last 12 full months (``uow.public``; arithmetic and k-anonymity in
  :mod:`bot.domain.public_rules`);
* per unit, the SKM of the last completed period (the region's ``skm.period``) and the trend over
  the four periods before it: :func:`bot.services.skm_export.collect_skm_report`, the same report as
  ``/ikm`` and the SKM export (an IKM of fewer than k questionnaires is not published);
* upcoming forums (FKP) and published berita acara (``uow.public``).

Nothing personal is gathered: no complaint text, no names, phones or chat ids (the repository
selects timestamps, OPD codes and counts). :func:`as_json` is the stable JSON shape
(``schema`` 1) and :func:`as_csv` the CSV (every cell through :mod:`bot.domain.export_safety`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain import public_rules as rules
from bot.domain.export_safety import safe_row
from bot.domain.i18n import gettext
from bot.domain.public_rules import Cell, OpdFigures
from bot.domain.skm import ELEMENT_BY_CODE, ELEMENT_CODES, MONTHS_EN, MONTHS_ID, Period, period_containing
from bot.domain.workdays import WorkCalendar
from bot.services.skm_export import UnitReport, collect_skm_report

SCHEMA = 1
TREND_PERIODS = 4  # the last completed period and the three before it


@dataclass(frozen=True)
class OpdRow:
    code: str
    name: str
    figures: OpdFigures


@dataclass(frozen=True)
class TrendPoint:
    key: str
    label_id: str
    label_en: str
    responses: Cell
    ikm: float | None
    mutu: str | None


@dataclass(frozen=True)
class UnitSkm:
    code: str
    name: str
    opd_code: str
    opd_name: str
    period_key: str
    period_id: str
    period_en: str
    responses: Cell
    ikm: float | None  # None: no questionnaire, or fewer than k
    mutu: str | None
    kinerja: str | None  # msgid
    sample: str  # msgid: sampel memadai | sampel belum memadai | populasi belum diketahui
    required: int | None
    adequate: bool | None
    nrr: dict[str, float] = field(default_factory=dict)
    trend: list[TrendPoint] = field(default_factory=list)


@dataclass(frozen=True)
class ForumItem:
    opd_name: str
    title: str
    topic: str
    when: str  # local date and time, Indonesian
    place: str | None
    online_url: str | None
    result: str | None = None


@dataclass(frozen=True)
class PublicFigures:
    region_name: str
    timezone: str
    generated_at: datetime
    k: int
    period_from: date
    period_to: date  # last day (inclusive)
    opds: list[OpdRow]
    total: OpdFigures
    units: list[UnitSkm]
    upcoming: list[ForumItem]
    results: list[ForumItem]

    def unit(self, code: str) -> UnitSkm | None:
        return next((u for u in self.units if u.code == code), None)


def day_text(d: date, lang: str = "id") -> str:
    return f"{d.day} {(MONTHS_EN if lang == 'en' else MONTHS_ID)[d.month - 1]} {d.year}"


async def collect_public_figures(db: Any, now: datetime) -> PublicFigures:
    """Everything the page shows, read in one unit of work."""
    async with db.unit_of_work() as uow:
        region = await uow.region.region()
        if region is None:
            raise LookupError("no region loaded")
        config = region.config or {}
        k = int((config.get("public") or {}).get("publik_k") or rules.DEFAULT_K)
        tz = ZoneInfo(region.timezone)
        calendar = WorkCalendar.from_region({"timezone": region.timezone, **config})
        opd_names = {o.code: o.name for o in await uow.region.opds(active_only=False)}
        first, end = rules.twelve_full_months(now.astimezone(tz).date())
        start_at = datetime.combine(first, datetime.min.time(), tzinfo=tz)
        end_at = datetime.combine(end, datetime.min.time(), tzinfo=tz)
        facts = await uow.public.complaint_facts(start_at, end_at)
        active = {o.code for o in await uow.region.opds()}
        opds = [
            OpdRow(code, opd_names.get(code, code), _opd(code, facts, calendar, k, now))
            for code in sorted(active | {f.opd_code for f in facts if f.opd_code}, key=lambda c: opd_names.get(c, c))
        ]
        total = rules.opd_figures("", facts, calendar, k, now)
        kind = (config.get("skm") or {}).get("period") or "semester"
        units = await _units(uow, now.astimezone(tz).date(), kind, region.timezone, opd_names, k)
        upcoming = [_forum(f, opd_names, tz) for f in await uow.public.upcoming_forums(now)]
        results = [_forum(f, opd_names, tz, result=True) for f in await uow.public.published_results()]
    return PublicFigures(
        region_name=region.name,
        timezone=region.timezone,
        generated_at=now,
        k=k,
        period_from=first,
        period_to=end - timedelta(days=1),
        opds=opds,
        total=total,
        units=units,
        upcoming=upcoming,
        results=results,
    )


def _opd(code: str, facts: Sequence[rules.ComplaintFacts], calendar: WorkCalendar, k: int, now: datetime):
    return rules.opd_figures(code, (f for f in facts if f.opd_code == code), calendar, k, now)


async def _units(uow: Any, today: date, kind: str, tz: str, opd_names: dict[str, str], k: int) -> list[UnitSkm]:
    """Each active unit's SKM of the last completed period, with the trend (oldest first)."""
    periods: list[Period] = [period_containing(today, kind).previous()]
    while len(periods) < TREND_PERIODS:
        periods.append(periods[-1].previous())
    reports = [await collect_skm_report(uow.skm, uow.region, period=p, timezone=tz) for p in periods]
    active = [u.code for u in await uow.region.units()]
    found: list[UnitSkm] = []
    for code in active:
        rows = [r.unit(code) for r in reports]
        last = rows[0]
        if last is None:
            continue
        trend = [_point(p, r, k) for p, r in zip(reversed(periods), reversed(rows), strict=True)]
        found.append(_unit(last, periods[0], opd_names, k, trend))
    return found


def _point(p: Period, r: UnitReport | None, k: int) -> TrendPoint:
    n = r.responses if r is not None else 0
    shown = r is not None and r.ikm is not None and rules.ikm_publishable(n, k)
    return TrendPoint(
        p.key,
        p.label_id,
        p.label_en,
        rules.count_cell(n, k),
        float(r.ikm.ikm) if shown else None,
        r.ikm.mutu if shown else None,
    )


def _unit(u: UnitReport, p: Period, opd_names: dict[str, str], k: int, trend: list[TrendPoint]) -> UnitSkm:
    shown = u.ikm is not None and rules.ikm_publishable(u.responses, k)
    sample = u.sample
    return UnitSkm(
        code=u.unit_code,
        name=u.unit_name,
        opd_code=u.opd_code,
        opd_name=opd_names.get(u.opd_code, u.opd_code),
        period_key=p.key,
        period_id=p.label_id,
        period_en=p.label_en,
        responses=rules.count_cell(u.responses, k),
        ikm=float(u.ikm.ikm) if shown else None,
        mutu=u.ikm.mutu if shown else None,
        kinerja=u.ikm.kinerja if shown else None,
        sample=sample.label,
        required=sample.required,
        adequate=sample.adequate,
        nrr={c: round(v, 2) for c, v in u.ikm.nrr.items()} if shown else {},
        trend=trend,
    )


def _forum(f: Any, opd_names: dict[str, str], tz: ZoneInfo, *, result: bool = False) -> ForumItem:
    at = f.starts_at.astimezone(tz)
    return ForumItem(
        opd_name=opd_names.get(f.opd_code, f.opd_code),
        title=f.title,
        topic=f.topic,
        when=f"{day_text(at.date())} {at:%H.%M}",
        place=f.place,
        online_url=f.online_url,
        result=f.result_text if result else None,
    )


# ---------------------------------------------------------------------------------------------
# JSON and CSV
# ---------------------------------------------------------------------------------------------

FIGURES = (
    "received",
    "answered_on_time",
    "resolved_on_time",
    "median_response_days",
    "median_resolution_days",
    "reopened_share",
    "satisfaction",
)


def cell_json(c: Cell) -> dict[str, Any]:
    return {"value": c.value, "suppressed": c.suppressed}


def _figures_json(f: OpdFigures) -> dict[str, Any]:
    out = {name: cell_json(getattr(f, name)) for name in FIGURES}
    out["bases"] = {name: cell_json(c) for name, c in f.bases.items()}
    return out


def as_json(fig: PublicFigures) -> dict[str, Any]:
    """The stable JSON shape (``schema`` 1): add keys, never rename or remove them."""
    return {
        "schema": SCHEMA,
        "region": fig.region_name,
        "generated_at": fig.generated_at.isoformat(),
        "k": fig.k,
        "suppression_note": f"Cells behind fewer than {fig.k} complaints, ratings or questionnaires are "
        "null with suppressed=true (k-anonymity).",
        "complaints": {
            "period": {"from": fig.period_from.isoformat(), "to": fig.period_to.isoformat()},
            "days": "working days (hari kerja)",
            "opds": [{"code": o.code, "name": o.name, **_figures_json(o.figures)} for o in fig.opds],
            "total": _figures_json(fig.total),
        },
        "skm": [_unit_json(u) for u in fig.units],
        "forums": {
            "upcoming": [_forum_json(f) for f in fig.upcoming],
            "results": [_forum_json(f) for f in fig.results],
        },
    }


def _unit_json(u: UnitSkm) -> dict[str, Any]:
    return {
        "code": u.code,
        "name": u.name,
        "opd_code": u.opd_code,
        "opd": u.opd_name,
        "period": {"key": u.period_key, "label": u.period_id, "label_en": u.period_en},
        "responses": cell_json(u.responses),
        "ikm": u.ikm,
        "mutu": u.mutu,
        "kinerja": u.kinerja,
        "sample": {"status": u.sample, "required": u.required, "adequate": u.adequate},
        "nrr": u.nrr,
        "trend": [
            {"period": p.key, "label": p.label_id, "responses": cell_json(p.responses), "ikm": p.ikm, "mutu": p.mutu}
            for p in u.trend
        ],
    }


def _forum_json(f: ForumItem) -> dict[str, Any]:
    out = {
        "opd": f.opd_name,
        "title": f.title,
        "topic": f.topic,
        "when": f.when,
        "place": f.place,
        "online_url": f.online_url,
    }
    if f.result is not None:
        out["berita_acara"] = f.result
    return out


CSV_OPD_HEADER = [
    "bagian/section",
    "kode/code",
    "nama/name",
    "periode/period",
    "diterima/received",
    "dijawab tepat waktu/answered on time %",
    "selesai tepat waktu/resolved on time %",
    "median hari kerja ke jawaban pertama/median working days to first response",
    "median hari kerja ke selesai/median working days to resolution",
    "dibuka lagi/reopened %",
    "puas/satisfied %",
]
CSV_SKM_HEADER = [
    "bagian/section",
    "kode/code",
    "nama/name",
    "periode/period",
    "responden/respondents",
    "IKM",
    "mutu/grade",
    "sampel/sample",
    "sampel minimal/required sample",
    *ELEMENT_CODES,
]


def as_csv(fig: PublicFigures) -> str:
    """Two tables (complaints per OPD, SKM per unit), each with its header; suppressed cells ``<k``."""
    out = io.StringIO()
    w = csv.writer(out)
    period = f"{fig.period_from.isoformat()}..{fig.period_to.isoformat()}"
    w.writerow(safe_row(CSV_OPD_HEADER))
    rows = [(o.code, o.name, o.figures) for o in fig.opds] + [("", "Total", fig.total)]
    for code, name, f in rows:
        w.writerow(safe_row(["pengaduan", code, name, period, *[getattr(f, n).shown(fig.k) for n in FIGURES]]))
    w.writerow([])
    w.writerow(safe_row(CSV_SKM_HEADER))
    for u in fig.units:
        ikm = f"{u.ikm:.2f}".replace(".", ",") if u.ikm is not None else "–"
        nrr = [f"{u.nrr[c]:.2f}".replace(".", ",") if c in u.nrr else "–" for c in ELEMENT_CODES]
        sample = [u.sample, u.required if u.required is not None else "–"]
        w.writerow(
            safe_row(["skm", u.code, u.name, u.period_key, u.responses.shown(fig.k), ikm, u.mutu or "–", *sample, *nrr])
        )
    w.writerow([])
    w.writerow(
        safe_row([f"Catatan/Note: <{fig.k} = kurang dari {fig.k}, tidak ditampilkan / fewer than {fig.k}, not shown"])
    )
    return "\ufeff" + out.getvalue()


def element_name(code: str, lang: str = "id") -> str:
    name = ELEMENT_BY_CODE[code].name
    return gettext(lang, name) if lang != "id" else name
