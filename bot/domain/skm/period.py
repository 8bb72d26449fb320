"""Report periods (month, quarter, semester, year, custom dates): their keys and labels, the
period containing a date, and reading a period as a coordinator types it (``2026-Q4``,
``semester-ini``, ``2026-01-01..2026-03-31``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

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

_EXAMPLE_WORDS_EN = (
    ("bulan-ini", "this-month"),
    ("kuartal-ini", "this-quarter"),
    ("semester-ini", "this-semester"),
    ("tahun-ini", "this-year"),
)


class PeriodError(ValueError):
    """A period that cannot be read. ``str()`` is bilingual; ``text_id``/``text_en`` separately."""

    def __init__(self, given: str, reason_id: str = "", reason_en: str = "") -> None:
        self.given = given
        self.text_id = (
            f"Periode tidak dikenali: {given!r}.{' ' + reason_id if reason_id else ''} Contoh: {PERIOD_EXAMPLES}."
        )
        examples_en = PERIOD_EXAMPLES
        for word_id, word_en in _EXAMPLE_WORDS_EN:
            examples_en = examples_en.replace(word_id, word_en)
        self.text_en = f"Unknown period {given!r}.{' ' + reason_en if reason_en else ''} Examples: {examples_en}."
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
