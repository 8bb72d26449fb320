"""SKM results for a period as an XLSX workbook or a CSV summary.

The database adds up (``storage.skm_repo.SkmRepo``), ``bot.domain.skm`` computes; this module only gathers
and lays out. One entry point for the report itself (:func:`collect_skm_report`, also usable by
``/ikm``) and two renderers:

* :func:`build_skm_workbook` — sheets *Ringkasan* (units × IKM, mutu, n, minimum sample, sample
  status; then per service, per OPD and for the whole region), one tabulation sheet per unit with responses
  (respondents × U1..U9, then jumlah nilai, jumlah jawaban, NRR, bobot, NRR tertimbang, IKM unit,
  IKM konversi, mutu, kinerja), *Profil* (respondent profile and channel counts per unit),
  *Saran* and *Kualitas* (quality figures and flags per unit, then per unit and channel / profile value);
* :func:`build_skm_csv` — the summary rows (units, services, OPDs, region), UTF-8 with a BOM so Excel opens it as UTF-8.

The workbook is written with openpyxl's write-only mode and the tabulation rows are streamed
from the database, so a period with a million questionnaires does not sit in memory as objects.
Texts in the files are Indonesian: they are official documents (the tabulation follows the
PermenPANRB 14/2017 annex).
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import functools
import io
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.domain import skm
from bot.domain.export_safety import safe_cell, safe_row
from bot.domain.region_config import SkmConfig
from bot.domain.skm import (
    ELEMENT_BY_CODE,
    ELEMENT_CODES,
    PROFILE_FIELDS,
    IkmResult,
    Period,
    QualityReport,
    SampleStatus,
)
from storage.region_repo import RegionRepo
from storage.skm_repo import SkmRepo, sum_totals
from storage.unit_state import read_cache_of

if TYPE_CHECKING:
    from openpyxl.cell import WriteOnlyCell

DEFAULT_TZ = "Asia/Jakarta"


# ---------------------------------------------------------------------------------------------
# The report (shared by the workbook, the CSV and /ikm)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupIkm:
    level: str  # "service" | "opd" | "region"
    code: str
    name: str
    responses: int
    ikm: IkmResult | None
    unit_code: str = ""  # services: their unit


@dataclass(frozen=True)
class SegmentQuality:
    """The quality report of one segment of a unit: one channel or one value of a profile field."""

    split: str  # "channel" | "umur" | "jenis_kelamin" | "pendidikan" | "pekerjaan"
    value: str | None  # None: not given
    quality: QualityReport


@dataclass(frozen=True)
class UnitReport:
    unit_code: str
    unit_name: str
    opd_code: str
    population: int | None  # for the period (coordinator's figure, else the region file's, prorated)
    responses: int  # complete questionnaires in the period
    ikm: IkmResult | None  # None without any complete questionnaire
    quality: QualityReport
    services: list[GroupIkm] = field(
        default_factory=list
    )  # IKM per service of the unit (service None = "Layanan lain")
    segments: list[SegmentQuality] = field(default_factory=list)  # quality split by channel and profile (when asked)

    @property
    def sample(self) -> SampleStatus:
        return self.quality.sample


@dataclass(frozen=True)
class SkmReport:
    period: Period
    region_name: str
    timezone: str
    weight: str
    units: list[UnitReport]  # every active unit in scope (and any other unit with answers), by OPD then code
    opds: list[GroupIkm] = field(default_factory=list)
    region: GroupIkm | None = None  # whole region (or the whole OPD when scoped to one)

    def ranked(self) -> list[UnitReport]:
        """Units with an IKM, best first (ties by code); units without answers are left out."""
        return sorted((u for u in self.units if u.ikm is not None), key=lambda u: (-u.ikm.ikm, u.unit_code))

    def unit(self, code: str) -> UnitReport | None:
        return next((u for u in self.units if u.unit_code == code), None)


def _is_database(source: Any) -> bool:
    return hasattr(source, "unit_of_work") and hasattr(source, "engine")


@contextlib.asynccontextmanager
async def _repos(source: Any, repo: Any = None) -> AsyncIterator[tuple[Any, Any]]:
    """(SkmRepo, RegionRepo) from a ``Database`` (own read-only unit of work) or an ``SkmRepo``."""
    if _is_database(source):
        async with source.unit_of_work() as uow:
            yield uow.skm, uow.region
        return
    skm_repo = source if isinstance(source, SkmRepo) else SkmRepo(source)
    yield skm_repo, (repo if repo is not None else RegionRepo(skm_repo.session, read_cache_of(skm_repo.session)))


async def _region_defaults(
    repo: Any, timezone: str | None, weight: str | None, missing: str | None
) -> tuple[str, str, str, str, str]:
    region = await repo.region()
    config = (region.config or {}) if region is not None else {}
    skm_conf = SkmConfig.parse(config.get("skm"))
    return (
        timezone or (region.timezone if region is not None else DEFAULT_TZ),
        weight or skm_conf.weight,
        missing or skm_conf.missing,
        region.name if region is not None else "",
        skm_conf.population_basis,
    )


#: the splits of the quality report (channel, then the respondent profile fields)
SPLITS = ("channel", *PROFILE_FIELDS)


async def _collect(
    skm_repo: Any,
    repo: Any,
    period: Period,
    *,
    timezone: str | None,
    weight: str | None,
    opd_code: str | None,
    unit_code: str | None,
    missing: str | None,
    quality_options: dict[str, Any] | None,
    splits: tuple[str, ...] = (),
) -> SkmReport:
    tz, weight, missing, region_name, basis = await _region_defaults(repo, timezone, weight, missing)
    options = dict(quality_options or {})
    start, end = period.utc_range(tz)
    units = {u.code: u for u in await repo.units(opd_code)}
    if unit_code is not None:
        units = {k: v for k, v in units.items() if k == unit_code}
    opd_names = {o.code: o.name for o in await repo.opds(active_only=False)}
    # one pass gives the element totals per (unit, OPD, service) and the quality moments per unit
    moments = {
        m.unit_code: m for m in await skm_repo.quality_moments(start, end, unit_code=unit_code, opd_code=opd_code)
    }
    pops = await skm_repo.populations(period.key, opd_code)
    codes = set(units) | set(moments)
    for code in codes - set(units):  # answers for a unit no longer active: still reported
        units[code] = await repo.get_unit(code)
        if code not in pops:
            pops[code] = await skm_repo.population(code, period.key)
    service_names = await skm_repo.service_names(sorted(codes))
    rows = []
    for code in codes:
        m = moments.get(code)
        population = skm.population_for_period(*pops.get(code, (None, None)), period, basis)
        rows.append(_unit_report(code, units.get(code), m, population, weight, missing, options, service_names))
    rows.sort(key=lambda r: (r.opd_code, r.unit_code))
    if splits:
        found = await _segments(skm_repo, rows, splits, start, end, unit_code, opd_code, options)
        rows = [dataclasses.replace(r, segments=found.get(r.unit_code, [])) for r in rows]
    groups: list[GroupIkm] = []
    region = None
    if unit_code is None:
        by_opd: dict[str, list] = {}
        for m in moments.values():
            for (opd, _svc), part in m.groups.items():
                by_opd.setdefault(opd, []).append(part)
        groups = _opd_groups(by_opd, opd_names, weight, missing)
        whole = sum_totals("region", [part for parts in by_opd.values() for part in parts])
        if whole.responses:
            name = opd_names.get(opd_code, opd_code) if opd_code else (region_name or "Wilayah")
            region = GroupIkm(
                "region",
                opd_code or "",
                name,
                whole.responses,
                skm.compute_ikm(whole.totals, whole.responses, weight, missing=missing),
            )
    return SkmReport(period, region_name, tz, weight, rows, groups, region)


def _unit_report(
    code: str,
    u: Any,
    m: Any,
    population: int | None,
    weight: str,
    missing: str,
    options: dict[str, Any],
    service_names: dict[str, str],
) -> UnitReport:
    """One unit's row: its IKM, quality report and the IKM per service."""
    g = m.totals() if m is not None and m.n_complete else None
    result = skm.compute_ikm(g.totals, g.responses, weight, missing=missing) if g else None
    quality = skm.quality_from_moments(m or skm.Moments(), population=population, **options)
    services = []
    if m is not None:
        by_service: dict[str | None, list] = {}
        for (_opd, svc), part in m.groups.items():
            by_service.setdefault(svc, []).append(part)
        for svc in sorted(by_service, key=lambda c: (c is None, c or "")):
            t = sum_totals(svc or "", by_service[svc])
            services.append(
                GroupIkm(
                    "service",
                    svc or "",
                    service_names.get(svc, svc) if svc else "Layanan lain",
                    t.responses,
                    skm.compute_ikm(t.totals, t.responses, weight, missing=missing),
                    unit_code=code,
                )
            )
    return UnitReport(
        code,
        u.name if u else code,
        u.opd_code if u else "",
        population,
        g.responses if g else 0,
        result,
        quality,
        services,
    )


async def _segments(
    skm_repo: Any,
    rows: list[UnitReport],
    splits: tuple[str, ...],
    start: datetime,
    end: datetime,
    unit_code: str | None,
    opd_code: str | None,
    options: dict[str, Any],
) -> dict[str, list[SegmentQuality]]:
    """Each unit's quality report per channel and profile value (one pass per split)."""
    fraction = options.get("speeder_fraction", Fraction(1, 3))
    limits = {r.unit_code: skm.speeder_limit(r.quality.median_seconds, fraction) for r in rows}
    medians = {r.unit_code: r.quality.median_seconds for r in rows}
    found: dict[str, list[SegmentQuality]] = {}
    for split in splits:
        for m in await skm_repo.quality_moments(
            start, end, unit_code=unit_code, opd_code=opd_code, split=split, speeder_limits=limits
        ):
            q = skm.quality_from_moments(m, check_sample=False, unit_median=medians.get(m.unit_code), **options)
            found.setdefault(m.unit_code, []).append(SegmentQuality(split, m.value, q))
    return found


def _opd_groups(by_opd: dict[str, list], opd_names: dict[str, str], weight: str, missing: str) -> list[GroupIkm]:
    groups = []
    for opd in sorted(by_opd):
        t = sum_totals(opd, by_opd[opd])
        if t.responses:
            groups.append(
                GroupIkm(
                    "opd",
                    opd,
                    opd_names.get(opd, opd),
                    t.responses,
                    skm.compute_ikm(t.totals, t.responses, weight, missing=missing),
                )
            )
    return groups


async def collect_skm_report(
    source: Any,
    repo: Any = None,
    *,
    period: Period,
    timezone: str | None = None,
    weight: str | None = None,
    opd_code: str | None = None,
    unit_code: str | None = None,
    missing: str | None = None,
    quality_options: dict[str, Any] | None = None,
    splits: tuple[str, ...] = (),
) -> SkmReport:
    """IKM, sample status and quality report per unit (plus per OPD and the whole scope) for a period.

    ``source``: a ``storage.Database`` (a read-only unit of work is opened), an ``SkmRepo`` or an
    ``AsyncSession`` (then ``repo`` may be the turn's ``uow.region``). ``timezone``/``weight``/``missing``
    default to the loaded region's (``Asia/Jakarta``, ``exact``, ``drop``). ``opd_code`` limits the
    report to one OPD (officers); ``quality_options`` go to ``bot.domain.skm.quality_from_moments``;
    ``splits`` (e.g. :data:`SPLITS`) adds each unit's quality report per channel and per profile
    value (one more pass over the questionnaires per split).
    """
    async with _repos(source, repo) as (skm_repo, base):
        return await _collect(
            skm_repo,
            base,
            period,
            timezone=timezone,
            weight=weight,
            opd_code=opd_code,
            unit_code=unit_code,
            missing=missing,
            quality_options=quality_options,
            splits=tuple(splits),
        )


# ---------------------------------------------------------------------------------------------
# Workbook
# ---------------------------------------------------------------------------------------------

# cell styles by name (openpyxl is imported on first use: only the workbook needs it)
BOLD, TITLE, HEADER_FILL, FOOT_FILL = "bold", "title", "header", "foot"
NUM2, NUM3, NUM4 = "0.00", "0.000", "0.0000"
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
WEIGHT_TEXT = {"exact": "bobot 1/9 per unsur (tepat)", "annex": "bobot 0,111 per unsur (seperti contoh lampiran)"}


def sheet_title(base: str, used: set[str]) -> str:
    """A valid, unique sheet name: no []:*?/\\, at most 31 characters (Excel's limit)."""
    name = _BAD_SHEET_CHARS.sub("-", base).strip("'") or "Sheet"
    name = name[:31]
    candidate, i = name, 2
    while candidate.lower() in {u.lower() for u in used}:
        suffix = f" ({i})"
        candidate = name[: 31 - len(suffix)] + suffix
        i += 1
    used.add(candidate)
    return candidate


class _SafeSheet:
    """A write-only worksheet whose ``append`` neutralises formula-like texts (``bot.domain.export_safety``);
    cells made by :func:`_cell` are already safe."""

    def __init__(self, ws: Any) -> None:
        self._ws = ws

    def append(self, row: list[Any]) -> None:
        self._ws.append(safe_row(row))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ws, name)


@functools.cache
def _openpyxl() -> SimpleNamespace:
    """openpyxl's pieces and the styles named above, on first use."""
    from openpyxl import Workbook  # noqa: PLC0415 - heavy, only the XLSX export needs it (not `kanal --help`)
    from openpyxl.cell import WriteOnlyCell  # noqa: PLC0415 - as above
    from openpyxl.styles import Alignment, Font, PatternFill  # noqa: PLC0415 - as above
    from openpyxl.utils import get_column_letter  # noqa: PLC0415 - as above

    return SimpleNamespace(
        Workbook=Workbook,
        WriteOnlyCell=WriteOnlyCell,
        get_column_letter=get_column_letter,
        wrap=Alignment(wrap_text=True, vertical="top"),
        styles={
            BOLD: Font(bold=True),
            TITLE: Font(bold=True, size=13),
            HEADER_FILL: PatternFill("solid", fgColor="DDEBF7"),
            FOOT_FILL: PatternFill("solid", fgColor="F2F2F2"),
        },
    )


def _cell(
    ws,
    value: Any,
    *,
    font: str | None = None,
    fmt: str | None = None,
    fill: str | None = None,
    wrap: bool = False,
) -> WriteOnlyCell:
    if isinstance(value, Decimal):
        value = float(value)
    xl = _openpyxl()
    c = xl.WriteOnlyCell(ws, value=safe_cell(value))
    if font is not None:
        c.font = xl.styles[font]
    if fmt is not None:
        c.number_format = fmt
    if fill is not None:
        c.fill = xl.styles[fill]
    if wrap:
        c.alignment = xl.wrap
    return c


def _header(ws, labels: list[str]) -> list[WriteOnlyCell]:
    return [_cell(ws, v, font=BOLD, fill=HEADER_FILL, wrap=True) for v in labels]


def _widths(ws, widths: list[float]) -> None:
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[_openpyxl().get_column_letter(i)].width = w


def _local(at: datetime | None, zone: ZoneInfo) -> datetime | None:
    """Excel has no time zones: the region's local time, naive."""
    return at.astimezone(zone).replace(tzinfo=None) if at is not None else None


def _share(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def _num(x: float | None, places: int = 4) -> float | None:
    return None if x is None else round(x, places)


def _sample_text(s: SampleStatus) -> str:
    if s.adequate is None:
        return "populasi belum diketahui"
    return "memadai" if s.adequate else "belum memadai"


def _period_text(report: SkmReport) -> str:
    p = report.period
    return f"Periode: {p.label_id} ({p.start.isoformat()} s.d. {p.last_day.isoformat()}, zona waktu {report.timezone})"


SUMMARY_HEADER = [
    "No",
    "Kode OPD",
    "Kode unit",
    "Unit layanan",
    "Responden (n)",
    "Populasi",
    "Sampel minimum (Krejcie-Morgan)",
    "Status sampel",
    "IKM unit (1-4)",
    "IKM (25-100)",
    "Mutu",
    "Kinerja",
    "Unsur terendah",
]


def _weakest_text(result: IkmResult | None) -> str:
    if result is None:
        return ""
    return ", ".join(
        f"{code} {ELEMENT_BY_CODE[code].name} ({nrr:.2f})".replace(".", ",") for code, nrr in result.weakest()[:3]
    )


def _group_header(ws, code_label: str, unit_label: str, name_label: str) -> list[WriteOnlyCell]:
    return _header(
        ws,
        [
            "",
            code_label,
            unit_label,
            name_label,
            "Responden (n)",
            "",
            "",
            "",
            "IKM unit (1-4)",
            "IKM (25-100)",
            "Mutu",
            "Kinerja",
            "",
        ],
    )


def _group_row(ws, opd: str, unit: str, label: str, g: GroupIkm) -> list[Any]:
    r = g.ikm
    return [
        "",
        opd,
        unit,
        label,
        g.responses,
        None,
        None,
        None,
        _cell(ws, r.ikm_unit if r else None, fmt=NUM4),
        _cell(ws, r.ikm if r else None, fmt=NUM2),
        r.mutu if r else None,
        r.kinerja if r else None,
        "",
    ]


def _write_summary(ws, report: SkmReport) -> None:
    _widths(ws, [5, 12, 14, 40, 12, 11, 14, 22, 11, 11, 7, 13, 60])
    scope = report.region_name or "Wilayah"
    ws.append([_cell(ws, f"Indeks Kepuasan Masyarakat (IKM) — {scope}", font=TITLE)])
    ws.append([_period_text(report)])
    ws.append(
        [
            f"Dihitung menurut PermenPANRB No. 14 Tahun 2017, {WEIGHT_TEXT.get(report.weight, report.weight)}; "
            "IKM dibulatkan dua desimal (setengah ke atas), mutu dibaca dari nilai dua desimal itu."
        ]
    )
    ws.append([])
    ws.append(_header(ws, SUMMARY_HEADER))
    for i, u in enumerate(report.units, start=1):
        r = u.ikm
        ws.append(
            [
                i,
                u.opd_code,
                u.unit_code,
                u.unit_name,
                u.responses,
                u.population,
                u.sample.required,
                _sample_text(u.sample),
                _cell(ws, r.ikm_unit if r else None, fmt=NUM4),
                _cell(ws, r.ikm if r else None, fmt=NUM2),
                r.mutu if r else None,
                r.kinerja if r else None,
                _weakest_text(r),
            ]
        )
    services = [g for u in report.units for g in u.services]
    if services:
        ws.append([])
        ws.append(_group_header(ws, "Kode OPD", "Kode unit", "Layanan (kode)"))
        opd_of = {u.unit_code: u.opd_code for u in report.units}
        for g in services:
            label = f"{g.name} ({g.code})" if g.code else g.name
            ws.append(_group_row(ws, opd_of.get(g.unit_code, ""), g.unit_code, label, g))
    if report.opds or report.region:
        ws.append([])
        ws.append(_group_header(ws, "Kode OPD", "", "OPD / wilayah"))
        for g in report.opds + ([report.region] if report.region else []):
            label = g.name if g.level == "opd" else f"Seluruh unit: {g.name}"
            ws.append(_group_row(ws, g.code if g.level == "opd" else "", "", label, g))
    _write_legend(ws)


def _write_legend(ws) -> None:
    """The elements and the grade intervals under the summary."""
    ws.append([])
    ws.append([_cell(ws, "Unsur pelayanan", font=BOLD)])
    for e in skm.ELEMENTS:
        ws.append(["", e.code, "", e.name])
    ws.append([])
    ws.append([_cell(ws, "Mutu pelayanan (nilai interval konversi)", font=BOLD)])
    for lo, hi, mutu in (
        ("25,00", "64,99", "D"),
        ("65,00", "76,60", "C"),
        ("76,61", "88,30", "B"),
        ("88,31", "100,00", "A"),
    ):
        ws.append(["", mutu, "", f"{lo} – {hi}: {skm.KINERJA[mutu]}"])


TAB_HEADER = [
    "No",
    "ID",
    "Selesai (waktu lokal)",
    "Kanal",
    *ELEMENT_CODES,
    "Umur",
    "Jenis kelamin",
    "Pendidikan",
    "Pekerjaan",
]
FIRST_U = 4  # 0-based column of U1 in TAB_HEADER


def _profile_text(key: str, code: Any) -> Any:
    if code is None:
        return None
    return PROFILE_FIELDS[key].label(code) or code


async def _write_tabulation(
    ws, skm_repo: Any, report: SkmReport, unit: UnitReport, zone: ZoneInfo, start: datetime, end: datetime
) -> IkmResult | None:
    _widths(ws, [6, 10, 19, 10] + [6] * 9 + [12, 13, 12, 18])
    ws.freeze_panes = "E5"
    ws.append([_cell(ws, f"Tabulasi SKM — {unit.unit_name} ({unit.unit_code})", font=TITLE)])
    ws.append([_period_text(report)])
    ws.append([" · ".join(f"{e.code} {e.name}" for e in skm.ELEMENTS)])
    ws.append(_header(ws, TAB_HEADER))
    sums, counts = [0] * 9, [0] * 9
    n = 0
    async for row in skm_repo.tabulation(unit.unit_code, start, end):
        n += 1
        values = [getattr(row, f"u{i}") for i in range(1, 10)]
        for i, v in enumerate(values):
            if v is not None:
                sums[i] += v
                counts[i] += 1
        profile = row.profile or {}
        ws.append(
            [
                n,
                row.id,
                _cell(ws, _local(row.finished_at, zone), fmt="yyyy-mm-dd hh:mm"),
                row.channel,
                *values,
                *(_profile_text(k, profile.get(k)) for k in PROFILE_FIELDS),
            ]
        )
    # the footer is computed from the rows above, so the sheet always adds up by itself
    result = (
        skm.compute_ikm({c: (sums[i], counts[i]) for i, c in enumerate(ELEMENT_CODES)}, n, report.weight) if n else None
    )
    pad = [""] * (FIRST_U - 1)

    def foot(label: str, values: list[Any], fmt: str | None = None) -> None:
        ws.append(
            [
                *pad,
                _cell(ws, label, font=BOLD, fill=FOOT_FILL),
                *(_cell(ws, v, fmt=fmt, fill=FOOT_FILL) for v in values),
            ]
        )

    ws.append([])
    foot("Jumlah nilai", sums)
    foot("Jumlah jawaban", counts)
    if result is not None:
        foot("NRR", [_num(result.nrr.get(c), 6) for c in ELEMENT_CODES], NUM3)
        foot("Bobot", [_num(result.weights.get(c), 6) for c in ELEMENT_CODES], NUM3)
        foot("NRR tertimbang", [_num(result.nrr_weighted.get(c), 6) for c in ELEMENT_CODES], NUM3)
        foot("IKM unit", [result.ikm_unit], NUM4)
        foot("IKM konversi", [result.ikm], NUM2)
        foot("Mutu", [result.mutu])
        foot("Kinerja", [result.kinerja])
        if result.dropped:
            foot("Tidak terisi", [", ".join(result.dropped)])
    return result


def _write_profile(ws, report: SkmReport) -> None:
    channels = sorted({ch for u in report.units for ch in u.quality.by_channel})
    groups: list[tuple[str, str, list[tuple[Any, str]]]] = [("channel", "Kanal", [(c, c) for c in channels])]
    for key, f in PROFILE_FIELDS.items():
        seen = {v for u in report.units for v in u.quality.by_profile.get(key, {}) if v is not None}
        known = [(o.code, o.label) for o in f.options]
        other = [(v, str(v)) for v in sorted(seen - set(f.codes))]  # values outside the list (older data)
        groups.append((key, f.name, known + other + [(None, "(tidak diisi)")]))
    top: list[Any] = ["", "", "Responden (n)"]
    sub: list[Any] = ["Kode unit", "Unit layanan", ""]
    for _key, name, values in groups:
        for i, (_code, label) in enumerate(values):
            top.append(name if i == 0 else "")
            sub.append(label)
    _widths(ws, [14, 36, 12] + [11] * (len(sub) - 3))
    ws.append([_cell(ws, "Profil responden per unit (kuesioner selesai)", font=TITLE)])
    ws.append([_period_text(report)])
    ws.append(_header(ws, top))
    ws.append(_header(ws, sub))
    for u in report.units:
        line: list[Any] = [u.unit_code, u.unit_name, u.responses]
        for key, _name, values in groups:
            counts = u.quality.by_channel if key == "channel" else u.quality.by_profile.get(key, {})
            line += [counts.get(code, 0) for code, _label in values]
        ws.append(line)


async def _write_suggestions(
    ws,
    skm_repo: Any,
    report: SkmReport,
    zone: ZoneInfo,
    start: datetime,
    end: datetime,
    opd_code: str | None,
    unit_code: str | None,
) -> None:
    names = {u.unit_code: u.unit_name for u in report.units}
    _widths(ws, [6, 14, 36, 19, 100])
    ws.append([_cell(ws, "Saran responden", font=TITLE)])
    ws.append([_period_text(report)])
    ws.append(_header(ws, ["No", "Kode unit", "Unit layanan", "Tanggal (waktu lokal)", "Saran"]))
    for i, (code, finished, text) in enumerate(
        await skm_repo.suggestions(start, end, unit_code=unit_code, opd_code=opd_code), start=1
    ):
        ws.append(
            [
                i,
                code,
                names.get(code, code),
                _cell(ws, _local(finished, zone), fmt="yyyy-mm-dd hh:mm"),
                _cell(ws, text, wrap=True),
            ]
        )


QUALITY_HEADER = [
    "Kode unit",
    "Unit layanan",
    "Selesai (n)",
    "Tidak selesai",
    "% tidak selesai",
    "Jawaban seragam",
    "% jawaban seragam",
    "Median waktu (detik)",
    "Terlalu cepat",
    "% terlalu cepat",
    "Duplikat (orang)",
    "Alfa Cronbach",
    *(f"r item-total {c}" for c in ELEMENT_CODES),
    "Status sampel",
    "Catatan",
]


SPLIT_NAMES = {"channel": "Kanal", **{k: f.name for k, f in PROFILE_FIELDS.items()}}
SEGMENT_HEADER = [
    "Kode unit",
    "Unit layanan",
    "Menurut",
    "Nilai",
    "Selesai (n)",
    "Tidak selesai",
    "% tidak selesai",
    "Jawaban seragam",
    "% jawaban seragam",
    "Terlalu cepat",
    "% terlalu cepat",
    "Duplikat (orang)",
    "Alfa Cronbach",
    *(f"r item-total {c}" for c in ELEMENT_CODES),
    "Catatan",
]


def _segment_value(split: str, value: str | None) -> str:
    if value is None:
        return "(tidak diisi)"
    if split == "channel":
        return value
    return PROFILE_FIELDS[split].label(value) or value


def _write_quality(ws, report: SkmReport) -> None:
    _widths(ws, [14, 36] + [11] * (len(QUALITY_HEADER) - 4) + [22, 70])
    ws.append([_cell(ws, "Kualitas data survei per unit", font=TITLE)])
    ws.append([_period_text(report)])
    ws.append(
        [
            "Terlalu cepat: waktu pengisian di bawah 1/3 median unit. Jawaban seragam: sembilan jawaban sama. "
            "Duplikat: orang yang mengisi lebih dari sekali untuk unit yang sama dalam periode ini, "
            "atau memulai berulang kali. "
            "Alfa Cronbach dan korelasi item-total dari kuesioner yang kesembilan unsurnya terisi."
        ]
    )
    ws.append(_header(ws, QUALITY_HEADER))
    for u in report.units:
        q = u.quality
        ws.append(
            [
                u.unit_code,
                u.unit_name,
                q.n,
                q.n_incomplete,
                _cell(ws, _share(q.incomplete_share), fmt="0%"),
                q.straightline,
                _cell(ws, _share(q.straightline_share), fmt="0%"),
                q.median_seconds,
                q.speeders,
                _cell(ws, _share(q.speeder_share), fmt="0%"),
                q.duplicates,
                _cell(ws, _num(q.cronbach_alpha), fmt=NUM2),
                *(_cell(ws, _num(q.item_total.get(c)), fmt=NUM2) for c in ELEMENT_CODES),
                _sample_text(q.sample)
                + (f" ({q.n} dari {q.sample.required})" if q.sample.required is not None else ""),
                _cell(ws, "; ".join(q.flags), wrap=True),
            ]
        )
    if any(u.segments for u in report.units):
        ws.append([])
        ws.append([_cell(ws, "Kualitas data per kanal dan profil responden", font=TITLE)])
        ws.append(
            [
                "Terlalu cepat dibandingkan dengan median unit. "
                "Duplikat: orang yang mengisi lebih dari sekali dalam segmen yang sama."
            ]
        )
        ws.append(_header(ws, SEGMENT_HEADER))
        for u in report.units:
            for seg in u.segments:
                q = seg.quality
                ws.append(
                    [
                        u.unit_code,
                        u.unit_name,
                        SPLIT_NAMES.get(seg.split, seg.split),
                        _segment_value(seg.split, seg.value),
                        q.n,
                        q.n_incomplete,
                        _cell(ws, _share(q.incomplete_share), fmt="0%"),
                        q.straightline,
                        _cell(ws, _share(q.straightline_share), fmt="0%"),
                        q.speeders,
                        _cell(ws, _share(q.speeder_share), fmt="0%"),
                        q.duplicates,
                        _cell(ws, _num(q.cronbach_alpha), fmt=NUM2),
                        *(_cell(ws, _num(q.item_total.get(c)), fmt=NUM2) for c in ELEMENT_CODES),
                        _cell(ws, "; ".join(q.flags), wrap=True),
                    ]
                )


async def build_skm_workbook(
    source: Any,
    repo: Any = None,
    *,
    period: Period,
    timezone: str | None = None,
    weight: str | None = None,
    opd_code: str | None = None,
    unit_code: str | None = None,
    missing: str | None = None,
    quality_options: dict[str, Any] | None = None,
) -> bytes:
    """The XLSX file (bytes) for ``period``: Ringkasan, one tabulation sheet per unit with answers,
    Profil, Saran, Kualitas. Arguments as :func:`collect_skm_report`."""
    async with _repos(source, repo) as (skm_repo, base):
        report = await _collect(
            skm_repo,
            base,
            period,
            timezone=timezone,
            weight=weight,
            opd_code=opd_code,
            unit_code=unit_code,
            missing=missing,
            quality_options=quality_options,
            splits=SPLITS,
        )
        zone = ZoneInfo(report.timezone)
        start, end = period.utc_range(report.timezone)
        wb = _openpyxl().Workbook(write_only=True)
        used: set[str] = {"Ringkasan", "Profil", "Saran", "Kualitas"}
        summary = _SafeSheet(wb.create_sheet("Ringkasan"))
        _write_summary(summary, report)
        for u in report.units:
            if u.responses:
                ws = _SafeSheet(wb.create_sheet(sheet_title(f"Tab {u.unit_code}", used)))
                await _write_tabulation(ws, skm_repo, report, u, zone, start, end)
        _write_profile(_SafeSheet(wb.create_sheet("Profil")), report)
        await _write_suggestions(
            _SafeSheet(wb.create_sheet("Saran")), skm_repo, report, zone, start, end, opd_code, unit_code
        )
        _write_quality(_SafeSheet(wb.create_sheet("Kualitas")), report)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


CSV_HEADER = [
    "periode",
    "tingkat",
    "kode_opd",
    "kode_unit",
    "nama",
    "responden",
    "populasi",
    "sampel_minimum",
    "status_sampel",
    "ikm_unit",
    "ikm",
    "mutu",
    "kinerja",
    *(f"nrr_{c.lower()}" for c in ELEMENT_CODES),
    "catatan_kualitas",
]


def _csv_num(x: Any, places: int) -> str:
    if x is None:
        return ""
    return f"{Decimal(str(x)).quantize(Decimal(1).scaleb(-places))}" if not isinstance(x, Decimal) else str(x)


async def build_skm_csv(
    source: Any,
    repo: Any = None,
    *,
    period: Period,
    timezone: str | None = None,
    weight: str | None = None,
    opd_code: str | None = None,
    unit_code: str | None = None,
    missing: str | None = None,
    quality_options: dict[str, Any] | None = None,
    delimiter: str = ",",
) -> bytes:
    """The summary as CSV (bytes, UTF-8 with BOM): one row per unit, then per OPD and the whole
    scope (``tingkat`` = unit | layanan | opd | wilayah). Decimal point ".", IKM with two decimals, NRR with four."""
    report = await collect_skm_report(
        source,
        repo,
        period=period,
        timezone=timezone,
        weight=weight,
        opd_code=opd_code,
        unit_code=unit_code,
        missing=missing,
        quality_options=quality_options,
    )
    text = io.StringIO()
    _write_csv(_SafeCsv(csv.writer(text, delimiter=delimiter, lineterminator="\r\n")), report, period, opd_code)
    return "\ufeff".encode() + text.getvalue().encode("utf-8")


class _SafeCsv:
    """A csv writer whose rows go through ``bot.domain.export_safety.safe_row``."""

    def __init__(self, writer: Any) -> None:
        self._writer = writer

    def writerow(self, row: list[Any]) -> None:
        self._writer.writerow(safe_row(row))


def _csv_ikm_cols(r: IkmResult | None) -> list[str]:
    if r is None:
        return ["", "", "", ""] + [""] * 9
    return [str(r.ikm_unit), str(r.ikm), r.mutu, r.kinerja, *(_csv_num(r.nrr.get(c), 4) for c in ELEMENT_CODES)]


def _write_csv(w: Any, report: SkmReport, period: Period, opd_code: str | None) -> None:
    ikm_cols = _csv_ikm_cols
    w.writerow(CSV_HEADER)
    for u in report.units:
        s = u.sample
        w.writerow(
            [
                period.key,
                "unit",
                u.opd_code,
                u.unit_code,
                u.unit_name,
                u.responses,
                "" if u.population is None else u.population,
                "" if s.required is None else s.required,
                _sample_text(s),
                *ikm_cols(u.ikm),
                "; ".join(u.quality.flags),
            ]
        )
    for u in report.units:
        for g in u.services:
            w.writerow(
                [
                    period.key,
                    "layanan",
                    u.opd_code,
                    u.unit_code,
                    f"{g.name} ({g.code})" if g.code else g.name,
                    g.responses,
                    "",
                    "",
                    "",
                    *ikm_cols(g.ikm),
                    "",
                ]
            )
    for g in report.opds + ([report.region] if report.region else []):
        w.writerow(
            [
                period.key,
                "opd" if g.level == "opd" else "wilayah",
                g.code if g.level == "opd" else (opd_code or ""),
                "",
                g.name,
                g.responses,
                "",
                "",
                "",
                *ikm_cols(g.ikm),
                "",
            ]
        )
