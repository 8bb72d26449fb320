"""SKM rules (PermenPANRB No. 14/2017): the nine elements and their answer labels, the respondent
profile options, IKM and grades, Krejcie–Morgan sample sizes, report periods, and the data-quality
report computed from aggregated moments.

Pure: no SQL, no platform types, no clock. The database only adds up (``storage/skm.py``); every
division, rounding and judgement happens here, so the same numbers come out of the chat, the CLI
and the XLSX export.

Choices where the regulation leaves room (documented, configurable):

* weight: ``"exact"`` = 1/9 per element (default) or ``"annex"`` = 0,111 as in the annex's worked
  example (so an all-4 unit scores 99,90 and an all-1 unit 24,98 under "annex").
* an element with no answers at all in a unit ("tidak terisi") drops out of that unit's IKM and
  the weight is spread over the answered elements (``missing="drop"``, UNCONFIRMED default);
  ``missing="require"`` gives no IKM until every element has answers.
* the IKM is computed exactly (fractions) and rounded half-up to two decimals once, at the end;
  the grade is read from that two-decimal value (64,99 → D, 65,00 → C, 76,60 → C, 76,61 → B,
  88,30 → B, 88,31 → A).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from bot.domain.i18n import N_

# ---------------------------------------------------------------------------------------------
# Elements (unsur) and answer labels
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Element:
    """One SKM element. ``labels`` are the official answers for the values 1, 2, 3, 4 (in that
    order). Texts are Indonesian msgids: show them with ``t(...)``."""

    code: str  # "U1".."U9": the identity, stored as column u1..u9 whatever the asking order
    name: str
    question: str
    labels: tuple[str, str, str, str]

    @property
    def column(self) -> str:
        return self.code.lower()

    def label(self, value: int) -> str:
        return self.labels[value - 1]


ELEMENTS: tuple[Element, ...] = (
    Element(
        "U1",
        N_("Persyaratan"),
        N_("Bagaimana pendapat Anda tentang kesesuaian persyaratan pelayanan dengan jenis pelayanannya?"),
        (N_("Tidak sesuai"), N_("Kurang sesuai"), N_("Sesuai"), N_("Sangat sesuai")),
    ),
    Element(
        "U2",
        N_("Sistem, Mekanisme, dan Prosedur"),
        N_("Bagaimana pendapat Anda tentang kemudahan prosedur pelayanan?"),
        (N_("Tidak mudah"), N_("Kurang mudah"), N_("Mudah"), N_("Sangat mudah")),
    ),
    Element(
        "U3",
        N_("Waktu Penyelesaian"),
        N_("Bagaimana pendapat Anda tentang kecepatan waktu pelayanan?"),
        (N_("Tidak cepat"), N_("Kurang cepat"), N_("Cepat"), N_("Sangat cepat")),
    ),
    Element(
        "U4",
        N_("Biaya/Tarif"),
        N_("Bagaimana pendapat Anda tentang kewajaran biaya/tarif dalam pelayanan?"),
        (N_("Sangat mahal"), N_("Cukup mahal"), N_("Murah"), N_("Gratis")),
    ),
    Element(
        "U5",
        N_("Produk Spesifikasi Jenis Pelayanan"),
        N_("Bagaimana pendapat Anda tentang kesesuaian produk pelayanan dengan standar pelayanan?"),
        (N_("Tidak sesuai"), N_("Kurang sesuai"), N_("Sesuai"), N_("Sangat sesuai")),
    ),
    Element(
        "U6",
        N_("Kompetensi Pelaksana"),
        N_("Bagaimana pendapat Anda tentang kompetensi/kemampuan petugas dalam pelayanan?"),
        (N_("Tidak kompeten"), N_("Kurang kompeten"), N_("Kompeten"), N_("Sangat kompeten")),
    ),
    Element(
        "U7",
        N_("Perilaku Pelaksana"),
        N_("Bagaimana pendapat Anda tentang kesopanan dan keramahan petugas dalam memberikan pelayanan?"),
        (
            N_("Tidak sopan dan ramah"),
            N_("Kurang sopan dan ramah"),
            N_("Sopan dan ramah"),
            N_("Sangat sopan dan ramah"),
        ),
    ),
    Element(
        "U8",
        N_("Sarana dan Prasarana"),
        N_("Bagaimana pendapat Anda tentang kualitas sarana dan prasarana?"),
        (N_("Buruk"), N_("Cukup"), N_("Baik"), N_("Sangat baik")),
    ),
    Element(
        "U9",
        N_("Penanganan Pengaduan, Saran dan Masukan"),
        N_("Bagaimana pendapat Anda tentang penanganan pengaduan pengguna layanan?"),
        (
            N_("Tidak ada"),
            N_("Ada tetapi tidak berfungsi"),
            N_("Berfungsi kurang maksimal"),
            N_("Dikelola dengan baik"),
        ),
    ),
)
ELEMENT_BY_CODE: dict[str, Element] = {e.code: e for e in ELEMENTS}
ELEMENT_CODES: tuple[str, ...] = tuple(e.code for e in ELEMENTS)

# ---------------------------------------------------------------------------------------------
# Respondent profile (every answer optional; stored as the short code)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProfileOption:
    code: str  # stored value, ≤ 20 characters
    label: str  # msgid


@dataclass(frozen=True, slots=True)
class ProfileField:
    key: str  # "umur" | "jenis_kelamin" | "pendidikan" | "pekerjaan"
    name: str  # msgid
    question: str  # msgid
    options: tuple[ProfileOption, ...]

    def label(self, code: str | None) -> str | None:
        for o in self.options:
            if o.code == code:
                return o.label
        return None

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(o.code for o in self.options)


PROFILE_FIELDS: dict[str, ProfileField] = {
    f.key: f
    for f in (
        ProfileField(
            "umur",
            N_("Umur"),
            N_("Berapa umur Anda?"),
            (
                ProfileOption("<20", N_("< 20 tahun")),
                ProfileOption("20-29", N_("20–29 tahun")),
                ProfileOption("30-39", N_("30–39 tahun")),
                ProfileOption("40-49", N_("40–49 tahun")),
                ProfileOption("50-59", N_("50–59 tahun")),
                ProfileOption("60+", N_("≥ 60 tahun")),
            ),
        ),
        ProfileField(
            "jenis_kelamin",
            N_("Jenis kelamin"),
            N_("Apa jenis kelamin Anda?"),
            (
                ProfileOption("L", N_("Laki-laki")),
                ProfileOption("P", N_("Perempuan")),
            ),
        ),
        ProfileField(
            "pendidikan",
            N_("Pendidikan"),
            N_("Apa pendidikan terakhir Anda?"),
            (
                ProfileOption("SD", N_("SD")),
                ProfileOption("SMP", N_("SMP")),
                ProfileOption("SMA", N_("SMA")),
                ProfileOption("D1-D3", N_("D1–D3")),
                ProfileOption("D4/S1", N_("D4/S1")),
                ProfileOption("S2", N_("S2")),
                ProfileOption("S3", N_("S3")),
            ),
        ),
        ProfileField(
            "pekerjaan",
            N_("Pekerjaan"),
            N_("Apa pekerjaan Anda?"),
            (
                ProfileOption("PNS", N_("PNS")),
                ProfileOption("TNI", N_("TNI")),
                ProfileOption("POLRI", N_("POLRI")),
                ProfileOption("SWASTA", N_("Swasta")),
                ProfileOption("WIRAUSAHA", N_("Wirausaha")),
                ProfileOption("PELAJAR", N_("Pelajar/Mahasiswa")),
                ProfileOption("LAINNYA", N_("Lainnya")),
            ),
        ),
    )
}

# ---------------------------------------------------------------------------------------------
# IKM and grades
# ---------------------------------------------------------------------------------------------

WEIGHTS = ("exact", "annex")
KINERJA = {"A": N_("Sangat baik"), "B": N_("Baik"), "C": N_("Kurang baik"), "D": N_("Tidak baik")}
# lower bounds of the nilai interval konversi (two decimals), best first
GRADE_TABLE: tuple[tuple[Decimal, str], ...] = (
    (Decimal("88.31"), "A"),
    (Decimal("76.61"), "B"),
    (Decimal("65.00"), "C"),
    (Decimal("25.00"), "D"),
)
TWO = Decimal("0.01")


def round_half_up(value: Fraction | Decimal | int | float | str, places: int = 2) -> Decimal:
    """Round half away from zero to ``places`` decimals, exactly (floats via their shortest repr)."""
    if isinstance(value, float):
        value = Decimal(repr(value))
    x = Fraction(value)
    scale = 10**places
    n = math.floor(abs(x) * scale + Fraction(1, 2))
    return (Decimal(-n if x < 0 else n) / scale).quantize(Decimal(1).scaleb(-places))


def grade_for(value: Fraction | Decimal | int | float | str) -> tuple[str, str]:
    """(mutu, kinerja msgid) for an IKM on the 25–100 scale, read at two decimals (half-up)."""
    v = round_half_up(value, 2)
    for lower, mutu in GRADE_TABLE:
        if v >= lower:
            return mutu, KINERJA[mutu]
    return "D", KINERJA["D"]  # below 25 only happens with the annex weight (24,98)


def element_weight(weight: str, answered: int) -> Fraction:
    """Weight of each answered element: 1/k exactly, or 1/k rounded to three decimals as the
    annex writes it (0,111 for nine elements)."""
    if weight == "exact":
        return Fraction(1, answered)
    if weight == "annex":
        return Fraction(round_half_up(Fraction(1, answered), 3))
    raise ValueError(f"weight must be one of {WEIGHTS}, got {weight!r}")


@dataclass(frozen=True)
class IkmResult:
    responses: int  # complete questionnaires
    weight: str  # "exact" | "annex"
    totals: dict[str, tuple[int, int]]  # per element code: (sum of answers, number of answers)
    nrr: dict[str, float]  # nilai rata-rata per answered element
    weights: dict[str, float]  # weight per answered element
    nrr_weighted: dict[str, float]  # NRR tertimbang = NRR × weight
    ikm_unit_exact: Fraction  # Σ NRR tertimbang, scale 1–4, unrounded
    ikm_unit: Decimal  # the same, 4 decimals half-up (for display)
    ikm: Decimal  # converted 25–100, 2 decimals half-up: the published figure
    mutu: str  # A | B | C | D
    kinerja: str  # msgid: Sangat baik | Baik | Kurang baik | Tidak baik
    dropped: tuple[str, ...] = ()  # elements without any answer ("tidak terisi")

    def weakest(self) -> list[tuple[str, float]]:
        """(code, NRR) of the answered elements, lowest NRR first (ties by element order)."""
        order = {c: i for i, c in enumerate(ELEMENT_CODES)}
        return sorted(self.nrr.items(), key=lambda kv: (kv[1], order.get(kv[0], 99)))


def compute_ikm(
    totals: Mapping[str, tuple[int, int]], responses: int, weight: str = "exact", *, missing: str = "drop"
) -> IkmResult | None:
    """IKM of one group from per-element ``(sum, count)`` (as ``SkmRepo.element_totals`` returns).

    None when there is no complete questionnaire or no answered element, and with
    ``missing="require"`` when some element has no answer at all.
    """
    if weight not in WEIGHTS:
        raise ValueError(f"weight must be one of {WEIGHTS}, got {weight!r}")
    if missing not in ("drop", "require"):
        raise ValueError(f"missing must be 'drop' or 'require', got {missing!r}")
    if responses <= 0:
        return None
    clean = {code: (int(totals.get(code, (0, 0))[0]), int(totals.get(code, (0, 0))[1])) for code in ELEMENT_CODES}
    answered = [c for c in ELEMENT_CODES if clean[c][1] > 0]
    dropped = tuple(c for c in ELEMENT_CODES if clean[c][1] <= 0)
    if not answered or (dropped and missing == "require"):
        return None
    w = element_weight(weight, len(answered))
    nrr = {c: Fraction(clean[c][0], clean[c][1]) for c in answered}
    weighted = {c: nrr[c] * w for c in answered}
    ikm_unit = sum(weighted.values(), Fraction(0))
    ikm = round_half_up(ikm_unit * 25, 2)
    mutu, kinerja = grade_for(ikm)
    return IkmResult(
        responses=responses,
        weight=weight,
        totals=clean,
        nrr={c: float(v) for c, v in nrr.items()},
        weights={c: float(w) for c in answered},
        nrr_weighted={c: float(v) for c, v in weighted.items()},
        ikm_unit_exact=ikm_unit,
        ikm_unit=round_half_up(ikm_unit, 4),
        ikm=ikm,
        mutu=mutu,
        kinerja=kinerja,
        dropped=dropped,
    )


# ---------------------------------------------------------------------------------------------
# Sample size (Krejcie & Morgan 1970)
# ---------------------------------------------------------------------------------------------

KM_CHI2 = Fraction("3.841")
KM_P = Fraction(1, 2)
KM_D = Fraction(5, 100)
KM_LARGE_N = 100_000
KM_LARGE_SAMPLE = 384


def krejcie_morgan(population: int) -> int:
    """Required sample for a population of ``population`` service users.

    n = χ²·N·P(1−P) / (d²·(N−1) + χ²·P(1−P)), χ² = 3,841, P = 0,5, d = 0,05, rounded to the nearest
    whole respondent (half up) as the published table does — rounding up would give 45 for N = 50,
    218 for 500 and 323 for 2 000 where the table says 44, 217 and 322. From N = 100 000 the
    table's 384 is used (the formula's 382,6 at 100 000 approaches 384,1 only as N grows; the
    table rounds these up). Never more than N.
    """
    if population <= 0:
        return 0
    if population >= KM_LARGE_N:
        return KM_LARGE_SAMPLE
    pq = KM_P * (1 - KM_P)
    n = KM_CHI2 * population * pq / (KM_D**2 * (population - 1) + KM_CHI2 * pq)
    return min(population, math.floor(n + Fraction(1, 2)))


@dataclass(frozen=True, slots=True)
class SampleStatus:
    required: int | None  # None when the population is unknown
    n: int
    adequate: bool | None  # None when the population is unknown

    @property
    def label(self) -> str:
        """msgid: "sampel memadai" / "sampel belum memadai" / "populasi belum diketahui"."""
        if self.adequate is None:
            return N_("populasi belum diketahui")
        return N_("sampel memadai") if self.adequate else N_("sampel belum memadai")


def sample_status(n: int, population: int | None) -> SampleStatus:
    if population is None:
        return SampleStatus(None, n, None)
    required = krejcie_morgan(population)
    return SampleStatus(required, n, n >= required)


POPULATION_BASES = ("year", "period")
_PERIOD_SHARE = {"month": Fraction(1, 12), "quarter": Fraction(1, 4), "semester": Fraction(1, 2), "year": Fraction(1)}


def population_for_period(override: int | None, yearly: int | None, period: Period, basis: str = "year") -> int | None:
    """The population N of service users for ``period`` (the N of Krejcie–Morgan).

    ``override`` is what a coordinator set for exactly this period (``/populasi``): used as is.
    Otherwise the region file's unit ``population``: with ``basis="year"`` (default, UNCONFIRMED:
    the demo region documents it as service users per year) it is prorated to the period — a
    twelfth for a month, a quarter, a half, the whole for a year, days/365 for custom dates —
    rounded half up, at least 1; with ``basis="period"`` it is taken as the figure for any period.
    None when neither is known.
    """
    if basis not in POPULATION_BASES:
        raise ValueError(f"population basis must be one of {POPULATION_BASES}, got {basis!r}")
    if override is not None:
        return int(override)
    if yearly is None:
        return None
    if basis == "period" or yearly <= 0:
        return int(yearly)
    share = _PERIOD_SHARE.get(period.kind) or Fraction((period.end - period.start).days, 365)
    return max(1, math.floor(yearly * share + Fraction(1, 2)))


# ---------------------------------------------------------------------------------------------
# Periods
# ---------------------------------------------------------------------------------------------

PERIOD_KINDS = ("month", "quarter", "semester", "year")
MONTHS_ID = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)
MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
ROMAN = ("I", "II", "III", "IV")
MIN_YEAR, MAX_YEAR = 1970, 9998
PERIOD_EXAMPLES = (
    "2026-11, 2026-Q4, 2026-S2, 2026, 2026-01-01..2026-03-31, bulan-ini, kuartal-ini, semester-ini, tahun-ini"
)


class PeriodError(ValueError):
    """A period that cannot be read. ``str()`` is bilingual; ``text_id``/``text_en`` separately."""

    def __init__(self, given: str, reason_id: str = "", reason_en: str = "") -> None:
        self.given = given
        self.text_id = (
            f"Periode tidak dikenali: {given!r}.{' ' + reason_id if reason_id else ''} Contoh: {PERIOD_EXAMPLES}."
        )
        self.text_en = f"Unknown period {given!r}.{' ' + reason_en if reason_en else ''} Examples: {PERIOD_EXAMPLES.replace('bulan-ini', 'this-month').replace('kuartal-ini', 'this-quarter').replace('semester-ini', 'this-semester').replace('tahun-ini', 'this-year')}."
        super().__init__(f"{self.text_id} / {self.text_en}")


def _fmt_day(d: date, months: tuple[str, ...]) -> str:
    return f"{d.day} {months[d.month - 1]} {d.year}"


@dataclass(frozen=True, slots=True)
class Period:
    kind: str  # month | quarter | semester | year | custom
    key: str  # "2026-11", "2026-Q4", "2026-S2", "2026", "2026-01-01..2026-03-31"
    start: date  # first day
    end: date  # first day after (exclusive)
    label_id: (
        str  # "November 2026", "Triwulan IV 2026", "Semester II 2026", "Tahun 2026", "1 Januari 2026 – 31 Maret 2026"
    )

    @property
    def label_en(self) -> str:
        y = self.start.year
        if self.kind == "month":
            return f"{MONTHS_EN[self.start.month - 1]} {y}"
        if self.kind == "quarter":
            return f"Q{(self.start.month - 1) // 3 + 1} {y}"
        if self.kind == "semester":
            return f"Semester {(self.start.month - 1) // 6 + 1} {y}"
        if self.kind == "year":
            return f"Year {y}"
        return f"{_fmt_day(self.start, MONTHS_EN)} – {_fmt_day(self.end - timedelta(days=1), MONTHS_EN)}"

    def label(self, lang: str = "id") -> str:
        return self.label_en if lang == "en" else self.label_id

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    def contains(self, d: date) -> bool:
        return self.start <= d < self.end

    def utc_range(self, tz: str) -> tuple[datetime, datetime]:
        """[start, end) as aware UTC datetimes: local midnights in the region's time zone."""
        zone = ZoneInfo(tz)
        lo = datetime.combine(self.start, time(0), tzinfo=zone).astimezone(UTC)
        hi = datetime.combine(self.end, time(0), tzinfo=zone).astimezone(UTC)
        return lo, hi

    def previous(self) -> Period:
        if self.kind == "custom":
            length = self.end - self.start
            return custom_period(self.start - length, self.start - timedelta(days=1))
        return period_containing(self.start - timedelta(days=1), self.kind)


def _check_year(year: int, given: str) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise PeriodError(
            given,
            f"Tahun harus antara {MIN_YEAR} dan {MAX_YEAR}.",
            f"The year must be between {MIN_YEAR} and {MAX_YEAR}.",
        )


def _month_start(year: int, month: int) -> date:
    return date(year + (month - 1) // 12, (month - 1) % 12 + 1, 1)


def make_period(kind: str, year: int, index: int = 1) -> Period:
    """``index``: month 1–12, quarter 1–4, semester 1–2; ignored for a year."""
    if kind == "month":
        start = date(year, index, 1)
        return Period(
            kind, f"{year}-{index:02d}", start, _month_start(year, index + 1), f"{MONTHS_ID[index - 1]} {year}"
        )
    if kind == "quarter":
        start = date(year, 3 * index - 2, 1)
        return Period(
            kind, f"{year}-Q{index}", start, _month_start(year, 3 * index + 1), f"Triwulan {ROMAN[index - 1]} {year}"
        )
    if kind == "semester":
        start = date(year, 6 * index - 5, 1)
        return Period(
            kind, f"{year}-S{index}", start, _month_start(year, 6 * index + 1), f"Semester {ROMAN[index - 1]} {year}"
        )
    if kind == "year":
        return Period(kind, f"{year}", date(year, 1, 1), date(year + 1, 1, 1), f"Tahun {year}")
    raise ValueError(f"period kind must be one of {PERIOD_KINDS}, got {kind!r}")


def custom_period(first: date, last: date) -> Period:
    """Custom dates, both inclusive."""
    return Period(
        "custom",
        f"{first.isoformat()}..{last.isoformat()}",
        first,
        last + timedelta(days=1),
        f"{_fmt_day(first, MONTHS_ID)} – {_fmt_day(last, MONTHS_ID)}",
    )


def period_containing(d: date, kind: str) -> Period:
    if isinstance(d, datetime):
        d = d.date()
    if kind == "month":
        return make_period(kind, d.year, d.month)
    if kind == "quarter":
        return make_period(kind, d.year, (d.month - 1) // 3 + 1)
    if kind == "semester":
        return make_period(kind, d.year, (d.month - 1) // 6 + 1)
    if kind == "year":
        return make_period(kind, d.year)
    raise ValueError(f"period kind must be one of {PERIOD_KINDS}, got {kind!r}")


def local_date(at: datetime, tz: str) -> date:
    """The calendar date of an aware instant in the region's time zone (for ``period_containing``)."""
    return at.astimezone(ZoneInfo(tz)).date()


WORDS = {
    "bulan-ini": ("month", 0),
    "this-month": ("month", 0),
    "bulan-lalu": ("month", 1),
    "last-month": ("month", 1),
    "kuartal-ini": ("quarter", 0),
    "triwulan-ini": ("quarter", 0),
    "this-quarter": ("quarter", 0),
    "kuartal-lalu": ("quarter", 1),
    "triwulan-lalu": ("quarter", 1),
    "last-quarter": ("quarter", 1),
    "semester-ini": ("semester", 0),
    "this-semester": ("semester", 0),
    "semester-lalu": ("semester", 1),
    "last-semester": ("semester", 1),
    "tahun-ini": ("year", 0),
    "this-year": ("year", 0),
    "tahun-lalu": ("year", 1),
    "last-year": ("year", 1),
}
_RE_YEAR = re.compile(r"^(\d{4})$")
_RE_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_RE_PART = re.compile(r"^(\d{4})-([qs])(\d)$")
_RE_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")


def parse_period(text: str, today: date) -> Period:
    """Read a period as a coordinator types it; ``today`` is the region's local date (for the words).

    Accepts ``2026-11``, ``2026-Q4``, ``2026-S2``, ``2026``, ``2026-01-01..2026-03-31`` (both days
    inclusive) and ``bulan-ini``, ``kuartal-ini`` (``triwulan-ini``), ``semester-ini``, ``tahun-ini``,
    their ``-lalu`` forms and the English ``this-month`` … ``last-year``. Raises :class:`PeriodError`.
    """
    given = text if isinstance(text, str) else str(text)
    raw = given.strip().lower()
    if not raw:
        raise PeriodError(given, "Periode kosong.", "The period is empty.")
    word = re.sub(r"[\s_]+", "-", raw)
    if word in WORDS:
        kind, back = WORDS[word]
        p = period_containing(today, kind)
        for _ in range(back):
            p = p.previous()
        return p
    s = re.sub(r"\s+", "", raw)
    if m := _RE_YEAR.match(s):
        year = int(m.group(1))
        _check_year(year, given)
        return make_period("year", year)
    if m := _RE_MONTH.match(s):
        year, month = int(m.group(1)), int(m.group(2))
        _check_year(year, given)
        if not 1 <= month <= 12:
            raise PeriodError(given, "Bulan harus 01–12.", "The month must be 01–12.")
        return make_period("month", year, month)
    if m := _RE_PART.match(s):
        year, part, index = int(m.group(1)), m.group(2), int(m.group(3))
        _check_year(year, given)
        if part == "q" and not 1 <= index <= 4:
            raise PeriodError(given, "Triwulan/kuartal harus Q1–Q4.", "The quarter must be Q1–Q4.")
        if part == "s" and not 1 <= index <= 2:
            raise PeriodError(given, "Semester harus S1 atau S2.", "The semester must be S1 or S2.")
        return make_period("quarter" if part == "q" else "semester", year, index)
    if m := _RE_RANGE.match(s):
        try:
            first, last = date.fromisoformat(m.group(1)), date.fromisoformat(m.group(2))
        except ValueError:
            raise PeriodError(given, "Tanggal tidak ada di kalender.", "A date does not exist.") from None
        _check_year(first.year, given)
        _check_year(last.year, given)
        if last < first:
            raise PeriodError(given, "Tanggal akhir sebelum tanggal awal.", "The end date is before the start date.")
        return custom_period(first, last)
    raise PeriodError(given)


# ---------------------------------------------------------------------------------------------
# Data quality from moments
# ---------------------------------------------------------------------------------------------


class MomentsLike(Protocol):
    """What ``quality_from_moments`` reads (``storage.skm_repo.UnitMoments`` has these attributes).

    The alpha moments cover the complete questionnaires with all nine elements answered, with
    T = u1 + … + u9 the total score."""

    n_complete: int  # complete questionnaires in the period
    n_incomplete: int  # abandoned + in progress
    n_full: int  # complete ones with all nine elements answered (used for alpha)
    straightline: int  # complete, all nine answered and all equal
    sums: tuple[int, ...]  # Σ u_i over the full rows, 9 values
    squares: tuple[int, ...]  # Σ u_i²
    cross: tuple[int, ...]  # Σ u_i·T
    t_sum: int  # Σ T
    t_squares: int  # Σ T²
    durations: Mapping[int, int]  # completion time in whole seconds → complete questionnaires
    duplicate_users: int  # people with more than one complete questionnaire for the unit
    repeat_start_users: int  # people who started more than once (at most one complete)
    by_channel: Mapping[str, int]  # complete questionnaires per channel
    by_profile: Mapping[str, Mapping[str | None, int]]  # field → value (None = not given) → count
    # optional (segments of a unit): ``timed`` and ``speeders`` counted against the unit's limit
    # instead of a histogram of their own


@dataclass(frozen=True)
class Moments:
    """Plain moments (tests, and what :func:`moments_from_rows` returns)."""

    n_complete: int = 0
    n_incomplete: int = 0
    n_full: int = 0
    straightline: int = 0
    sums: tuple[int, ...] = (0,) * 9
    squares: tuple[int, ...] = (0,) * 9
    cross: tuple[int, ...] = (0,) * 9
    t_sum: int = 0
    t_squares: int = 0
    durations: Mapping[int, int] = field(default_factory=dict)
    duplicate_users: int = 0
    repeat_start_users: int = 0
    by_channel: Mapping[str, int] = field(default_factory=dict)
    by_profile: Mapping[str, Mapping[str | None, int]] = field(default_factory=dict)
    timed: int | None = None
    speeders: int | None = None


def moments_from_rows(rows: Iterable[Mapping[str, Any]]) -> Moments:
    """Moments of one unit from plain rows, in Python (reference for the SQL, and small data).

    Row keys: ``status`` ("complete" | "in_progress" | "abandoned"), ``answers`` (nine values or
    None, in element order U1..U9), ``seconds`` (completion time), ``channel``, ``profile`` (dict),
    ``user_id``.
    """
    n_complete = n_incomplete = n_full = straight = 0
    sums, squares, cross = [0] * 9, [0] * 9, [0] * 9
    t_sum = t_squares = 0
    durations: dict[int, int] = {}
    by_channel: dict[str, int] = {}
    by_profile: dict[str, dict[str | None, int]] = {k: {} for k in PROFILE_FIELDS}
    per_user: dict[Any, list[int]] = {}
    for r in rows:
        started = per_user.setdefault(r.get("user_id"), [0, 0])
        started[0] += 1
        if r["status"] != "complete":
            n_incomplete += 1
            continue
        started[1] += 1
        n_complete += 1
        a = list(r["answers"])
        if all(v is not None for v in a):
            n_full += 1
            if len(set(a)) == 1:
                straight += 1
            t = sum(a)
            t_sum += t
            t_squares += t * t
            for i in range(9):
                sums[i] += a[i]
                squares[i] += a[i] * a[i]
                cross[i] += a[i] * t
        if r.get("seconds") is not None:
            s = int(math.floor(r["seconds"] + 0.5))
            durations[s] = durations.get(s, 0) + 1
        ch = r.get("channel") or ""
        by_channel[ch] = by_channel.get(ch, 0) + 1
        prof = r.get("profile") or {}
        for k in PROFILE_FIELDS:
            v = prof.get(k)
            by_profile[k][v] = by_profile[k].get(v, 0) + 1
    dup = sum(1 for s, c in per_user.values() if c > 1)
    rep = sum(1 for s, c in per_user.values() if s > 1 and c <= 1)
    return Moments(
        n_complete,
        n_incomplete,
        n_full,
        straight,
        tuple(sums),
        tuple(squares),
        tuple(cross),
        t_sum,
        t_squares,
        durations,
        dup,
        rep,
        by_channel,
        by_profile,
    )


def histogram_median(hist: Mapping[int, int]) -> float | None:
    """Median of values given as value → count (mean of the two middle values when even)."""
    total = sum(c for c in hist.values() if c > 0)
    if total == 0:
        return None
    lo_rank, hi_rank = (total - 1) // 2, total // 2  # 0-based ranks of the middle value(s)
    lo = hi = None
    seen = 0
    for value in sorted(hist):
        c = hist[value]
        if c <= 0:
            continue
        if lo is None and seen + c > lo_rank:
            lo = value
        if seen + c > hi_rank:
            hi = value
            break
        seen += c
    return (lo + hi) / 2


def cronbach_from_moments(
    n: int, sums: tuple[int, ...], squares: tuple[int, ...], cross: tuple[int, ...], t_sum: int, t_squares: int
) -> tuple[float | None, dict[str, float | None]]:
    """Cronbach's alpha and corrected item–total correlations from n, Σx_i, Σx_i², Σx_i·T, ΣT, ΣT²
    (T = Σx_i, the total score).

    Works on n(n−1) × the sample (co)variances, exact integers: item variances
    V_i = nΣx_i² − (Σx_i)², item–total covariances C_i = nΣx_i·T − Σx_i·ΣT, total variance
    W = nΣT² − (ΣT)²; every ratio below is scale-free. The corrected item–total correlation is
    corr(x_i, T − x_i) = (C_i − V_i) / √(V_i · (W − 2C_i + V_i)). Alpha is None with fewer than two
    rows or a total without variance; an item's correlation is None when the item or the rest has
    no variance.
    """
    k = len(sums)
    codes = ELEMENT_CODES[:k]
    if n < 2 or k < 2:
        return None, dict.fromkeys(codes)
    var = [n * squares[i] - sums[i] * sums[i] for i in range(k)]
    cov = [n * cross[i] - sums[i] * t_sum for i in range(k)]
    total = n * t_squares - t_sum * t_sum
    alpha = None if total <= 0 else float(Fraction(k, k - 1) * (1 - Fraction(sum(var), total)))
    item_total: dict[str, float | None] = {}
    for i, code in enumerate(codes):
        rest_var = total - 2 * cov[i] + var[i]
        denom = var[i] * rest_var
        item_total[code] = None if denom <= 0 else (cov[i] - var[i]) / math.sqrt(denom)
    return alpha, item_total


def speeder_limit(median_seconds: float | None, fraction: float | Fraction = Fraction(1, 3)) -> int | None:
    """The completion time in whole seconds under which a questionnaire is a speeder: a time s
    (whole seconds) is one when s < fraction × median, i.e. when s < this limit (the ceiling)."""
    if median_seconds is None:
        return None
    return math.ceil(Fraction(fraction) * Fraction(median_seconds))


def _pct(x: float) -> str:
    return str(round_half_up(x * 100, 0))


def _dec(x: float, places: int = 2) -> str:
    return str(round_half_up(x, places)).replace(".", ",")


@dataclass(frozen=True)
class QualityReport:
    n: int  # complete questionnaires
    incomplete_share: float | None  # incomplete / (complete + incomplete)
    straightline_share: float | None  # of complete
    speeders: int
    speeder_share: float | None  # of complete with a known duration
    median_seconds: float | None
    duplicates: int  # duplicate_users + repeat_start_users
    cronbach_alpha: float | None
    item_total: dict[str, float | None]  # corrected item–total correlation per element
    by_channel: dict[str, int]
    by_profile: dict[str, dict[str | None, int]]
    sample: SampleStatus
    flags: list[str]  # short Indonesian texts
    flag_items: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (msgid, values) for t()
    duplicate_users: int = 0
    repeat_start_users: int = 0
    n_incomplete: int = 0
    straightline: int = 0

    def flags_in(self, t) -> list[str]:
        """The flags in another language: ``t`` is a ``Translator`` (``t(msgid, **values)``)."""
        return [t(msgid, **values) for msgid, values in self.flag_items]


def quality_from_moments(
    m: MomentsLike,
    *,
    population: int | None = None,
    speeder_fraction: float | Fraction = Fraction(1, 3),
    min_n: int = 10,
    straightline_max: float = 0.20,
    speeder_max: float = 0.10,
    incomplete_max: float = 0.30,
    alpha_min: float = 0.70,
    item_total_min: float = 0.30,
    profile_dominance_max: float = 0.90,
    check_sample: bool = True,
    unit_median: float | None = None,
) -> QualityReport:
    """The quality report of one unit and period.

    Defaults (configurable): a speeder finished in less than ``speeder_fraction`` (1/3) of the
    unit's median time; flags are raised for straight-lining above 20 %, speeders above 10 %,
    incomplete questionnaires above 30 %, alpha below 0,70, corrected item–total correlation below
    0,30, one profile value above 90 % of the answers for that field, any duplicate, and an
    inadequate sample. Share, alpha and profile flags wait for ``min_n`` (10) observations.

    A segment of a unit (one channel, one profile value: ``storage.skm_repo.UnitMoments`` with
    ``speeders`` set) has its speeders counted in SQL against the unit's limit
    (:func:`speeder_limit` of the unit's median, given as ``unit_median`` for the report);
    ``check_sample=False`` leaves the sample-size flags out (the population is the unit's).
    """
    n = m.n_complete
    flags: list[tuple[str, dict[str, Any]]] = []
    sample = sample_status(n, population)
    if not check_sample:
        pass
    elif sample.adequate is None:
        flags.append((N_("populasi belum diketahui"), {}))
    elif not sample.adequate:
        flags.append((N_("sampel belum memadai ({n} dari {required})"), {"n": n, "required": sample.required}))

    started = n + m.n_incomplete
    incomplete_share = m.n_incomplete / started if started else None
    if incomplete_share is not None and started >= min_n and incomplete_share > incomplete_max:
        flags.append((N_("tidak selesai {pct}%"), {"pct": _pct(incomplete_share)}))

    straight_share = m.straightline / n if n else None
    if straight_share is not None and n >= min_n and straight_share > straightline_max:
        flags.append((N_("straight-lining {pct}%"), {"pct": _pct(straight_share)}))

    if getattr(m, "speeders", None) is not None:  # a segment: counted against the unit's limit
        timed, speeders, median = int(getattr(m, "timed", None) or 0), int(m.speeders), unit_median
    else:
        hist = {int(k): int(v) for k, v in m.durations.items() if v}
        timed = sum(hist.values())
        median = histogram_median(hist)
        speeders = 0
        if median is not None:
            limit = speeder_limit(median, speeder_fraction)
            speeders = sum(c for s, c in hist.items() if s < limit)
    speeder_share = speeders / timed if timed else None
    if speeder_share is not None and timed >= min_n and speeder_share > speeder_max:
        flags.append((N_("terlalu cepat {pct}%"), {"pct": _pct(speeder_share)}))

    duplicates = m.duplicate_users + m.repeat_start_users
    if duplicates:
        flags.append((N_("duplikat {count} orang"), {"count": duplicates}))

    alpha, item_total = cronbach_from_moments(
        m.n_full, tuple(m.sums), tuple(m.squares), tuple(m.cross), m.t_sum, m.t_squares
    )
    if m.n_full >= min_n:
        if alpha is not None and alpha < alpha_min:
            flags.append((N_("alpha rendah {alpha}"), {"alpha": _dec(alpha)}))
        low = [f"{c} {_dec(r)}" for c, r in item_total.items() if r is not None and r < item_total_min]
        if low:
            flags.append((N_("korelasi item-total rendah: {items}"), {"items": ", ".join(low)}))

    by_profile = {k: dict(v) for k, v in m.by_profile.items()}
    for key in PROFILE_FIELDS:
        counts = {v: c for v, c in by_profile.get(key, {}).items() if v is not None and c > 0}
        answered = sum(counts.values())
        if answered >= min_n:
            top, top_n = max(counts.items(), key=lambda kv: kv[1])
            if top_n / answered > profile_dominance_max:
                flags.append(
                    (
                        N_("profil timpang: {field} {value} {pct}%"),
                        {"field": key, "value": top, "pct": _pct(top_n / answered)},
                    )
                )

    return QualityReport(
        n=n,
        incomplete_share=incomplete_share,
        straightline_share=straight_share,
        speeders=speeders,
        speeder_share=speeder_share,
        median_seconds=median,
        duplicates=duplicates,
        cronbach_alpha=alpha,
        item_total=item_total,
        by_channel=dict(m.by_channel),
        by_profile=by_profile,
        sample=sample,
        flags=[msgid.format(**values) for msgid, values in flags],
        flag_items=flags,
        duplicate_users=m.duplicate_users,
        repeat_start_users=m.repeat_start_users,
        n_incomplete=m.n_incomplete,
        straightline=m.straightline,
    )


#: the name the chat flow looks up
quality_report = quality_from_moments
