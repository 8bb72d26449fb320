"""The working-day calendar (hari kerja) behind every complaint deadline.

A working day is Monday–Friday in the region's time zone, minus Indonesian national holidays
(the ``holidays`` package, names in Indonesian) and the region file's ``[[holiday]]`` days
(cuti bersama per year, local holidays). Pure: no clock, no SQL; callers pass the instants.

Rules (all instants are aware datetimes; results are aware datetimes in UTC):

* The **local date** of an instant is its calendar date in the region's time zone. A complaint
  filed at 23:30 WIT on Monday is filed on Monday even though it is still Monday 14:30 UTC, and a
  complaint filed at 00:30 WIT on Monday (Sunday 15:30 UTC) is filed on Monday too.
* ``add_working_days(start, n)`` with ``n > 0`` is due at the **end** (local 23:59:59.999999) of
  the n-th working day strictly after the start's local date, whether or not that date is itself
  a working day and whatever the time of day: filed Friday 16:00 with 3 working days → due at the
  end of Wednesday; filed Saturday with 1 working day → due at the end of Monday.
  ``n == 0`` → the end of the start's local date if it is a working day, else the end of the next
  working day. ``n < 0`` → the end of the |n|-th working day strictly before the local date.
  The result's local date is always a working day.
* ``working_days_between(a, b)`` counts the working days d with ``local(a) < d <= local(b)``
  (negative when b is earlier). So ``working_days_between(s, add_working_days(s, n)) == n`` for
  every n > 0, and for every n when s falls on a working day.
* ``subtract_working_days(deadline, n)`` is the **start** (local 00:00, or the local time ``at``)
  of the n-th working day before the deadline's local date: "remind one working day before"
  a deadline at the end of Wednesday → from Tuesday 00:00; before a Monday deadline → from
  Friday 00:00 (so the reminder arrives on a working day, "H-1").
* Calendar-day mode (``working=False`` or a region with ``sla.working_days = false``) uses the
  same end-of-local-day rule with every day counted: filed Friday + 10 days → end of Monday
  week after, holidays included.

The ``holidays`` package's Indonesian "government" category carries the package's idea of cuti
bersama. It is OFF by default: cuti bersama are decided every year by an SKB of three ministers,
so the region file is the authority (``include_government=True`` turns the package's list on).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holidays_pkg

__all__ = ["WorkCalendar", "national_holidays"]

_ONE_DAY = timedelta(days=1)
_TICK = timedelta(microseconds=1)


@lru_cache(maxsize=256)
def national_holidays(year: int, include_government: bool = False, language: str = "id") -> dict[date, str]:
    """Indonesian holidays of ``year`` from the ``holidays`` package (cached per year)."""
    categories: tuple[str, ...] = ("public", "government") if include_government else ("public",)
    try:
        found = holidays_pkg.country_holidays("ID", years=year, categories=categories, language=language)
    except (NotImplementedError, ValueError):  # an old package without the category or language
        found = holidays_pkg.country_holidays("ID", years=year)
    return {d: name for d, name in found.items() if d.year == year}


@dataclass(frozen=True)
class _Year:
    first: date
    cum: list[int]  # cum[i] = working days among the year's days 0..i
    closed: dict[date, str]  # holidays of the year (national + extra), with their names

    @property
    def total(self) -> int:
        return self.cum[-1]


class WorkCalendar:
    """Working days of one region. Cheap to query: one table per year, built on first use."""

    def __init__(
        self,
        timezone: str,
        extra_days: Mapping[date, str] | Iterable[tuple[date, str]] = (),
        *,
        working_days: bool = True,
        include_national: bool = True,
        include_government: bool = False,
    ) -> None:
        try:
            self.tz = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {timezone!r}") from None
        self.timezone = timezone
        items = extra_days.items() if isinstance(extra_days, Mapping) else extra_days
        self.extra_days: dict[date, str] = {}
        for d, name in items:
            if isinstance(d, datetime) or not isinstance(d, date):
                raise TypeError(f"extra day {d!r} is not a date")
            self.extra_days[d] = name
        self.working_days = working_days  # the default mode of add_days/subtract_days/days_between
        self.include_national = include_national
        self.include_government = include_government
        self._years: dict[int, _Year] = {}

    @classmethod
    def from_region(cls, region: Any, *, timezone: str | None = None, **kwargs: Any) -> WorkCalendar:
        """From a :class:`bot.domain.region.Region`, or from its stored form (``Region.config()``, the
        ``region.config`` column) plus ``timezone=`` (or a ``"timezone"`` key). Raw TOML with a
        ``[[holiday]]`` list and ``[region] timezone`` works as well."""
        if not isinstance(region, Mapping):
            sla = getattr(region, "sla", None) or {}
            return cls(
                timezone or region.timezone,
                dict(region.holidays),
                working_days=bool(sla.get("working_days", True)),
                **kwargs,
            )
        tz = timezone or region.get("timezone") or (region.get("region") or {}).get("timezone") or "Asia/Jakarta"
        extra: dict[date, str] = {}
        for h in region.get("holidays") or region.get("holiday") or []:
            d = h["date"]
            extra[d if isinstance(d, date) else date.fromisoformat(d)] = h.get("name") or "Libur daerah"
        sla = region.get("sla") or {}
        return cls(tz, extra, working_days=bool(sla.get("working_days", True)), **kwargs)

    # ---- dates -------------------------------------------------------------------------------

    def _year(self, year: int) -> _Year:
        info = self._years.get(year)
        if info is None:
            closed: dict[date, str] = {}
            if self.include_national:
                closed.update(national_holidays(year, self.include_government))
            for d, name in self.extra_days.items():
                if d.year == year:
                    closed[d] = name  # the region file's wording wins
            first = date(year, 1, 1)
            days = (date(year + 1, 1, 1) - first).days if year < 9999 else 365
            cum: list[int] = []
            count = 0
            d = first
            for _ in range(days):
                if d.weekday() < 5 and d not in closed:
                    count += 1
                cum.append(count)
                d += _ONE_DAY
            info = self._years[year] = _Year(first, cum, closed)
        return info

    def _upto(self, d: date) -> int:
        """Working days from 1 January of d's year up to and including d."""
        info = self._year(d.year)
        return info.cum[(d - info.first).days]

    def is_working_day(self, d: date) -> bool:
        if isinstance(d, datetime):
            raise TypeError("is_working_day takes a date; use local_date(instant) first")
        return d.weekday() < 5 and d not in self._year(d.year).closed

    def holiday_name(self, d: date) -> str | None:
        """The holiday's name (Indonesian; the region file's wording for its own days), or None.
        Plain weekends have no name."""
        return self._year(d.year).closed.get(d)

    def holidays_in(self, year: int) -> dict[date, str]:
        """The holidays of ``year`` (national and the region's extra days) with their names."""
        return dict(sorted(self._year(year).closed.items()))

    def _count(self, a: date, b: date) -> int:
        """Working days d with a < d <= b (a <= b)."""
        if a.year == b.year:
            return self._upto(b) - self._upto(a)
        total = self._year(a.year).total - self._upto(a)
        for y in range(a.year + 1, b.year):
            total += self._year(y).total
        return total + self._upto(b)

    def _nth_with_rank(self, year: int, need: int) -> date:
        """The working day whose in-year rank (1-based) is ``need``, carrying across years."""
        while need < 1:
            year -= 1
            need += self._year(year).total
        while True:
            info = self._year(year)
            if need <= info.total:
                return info.first + timedelta(days=bisect_left(info.cum, need))
            need -= info.total
            year += 1

    def working_day_after(self, d: date, n: int = 1) -> date:
        """The n-th working day strictly after ``d`` (n ≥ 1); n ≤ -1 counts strictly before."""
        if n == 0:
            raise ValueError("n must not be 0")
        if n > 0:
            return self._nth_with_rank(d.year, self._upto(d) + n)
        before = self._upto(d) - (1 if self.is_working_day(d) else 0)
        return self._nth_with_rank(d.year, before + n + 1)

    def next_working_day(self, d: date, *, inclusive: bool = False) -> date:
        """The first working day after ``d`` (or ``d`` itself when ``inclusive`` and it works)."""
        if inclusive and self.is_working_day(d):
            return d
        return self.working_day_after(d, 1)

    def previous_working_day(self, d: date, *, inclusive: bool = False) -> date:
        if inclusive and self.is_working_day(d):
            return d
        return self.working_day_after(d, -1)

    # ---- instants ----------------------------------------------------------------------------

    def local_date(self, instant: datetime) -> date:
        if instant.tzinfo is None or instant.utcoffset() is None:
            raise ValueError("the calendar needs aware datetimes (use the injected clock)")
        return instant.astimezone(self.tz).date()

    def start_of_day(self, d: date, at: time = time(0)) -> datetime:
        """Local ``at`` (default 00:00) on ``d``, as an aware UTC datetime."""
        return datetime.combine(d, at, tzinfo=self.tz).astimezone(UTC)

    def end_of_day(self, d: date) -> datetime:
        """The last microsecond of local day ``d`` (local 23:59:59.999999), in UTC."""
        return self.start_of_day(d + _ONE_DAY) - _TICK

    def add_working_days(self, start: datetime, n: int) -> datetime:
        """Deadline n working days after ``start`` (see the module docstring for the rule)."""
        local = self.local_date(start)
        if n == 0:
            return self.end_of_day(self.next_working_day(local, inclusive=True))
        return self.end_of_day(self.working_day_after(local, n))

    def add_calendar_days(self, start: datetime, n: int) -> datetime:
        """End of the local day n calendar days after ``start``'s local date."""
        return self.end_of_day(self.local_date(start) + timedelta(days=n))

    def add_days(self, start: datetime, n: int, working: bool | None = None) -> datetime:
        """Working or calendar days; ``working=None`` follows the region's ``sla.working_days``."""
        if self.working_days if working is None else working:
            return self.add_working_days(start, n)
        return self.add_calendar_days(start, n)

    def working_days_between(self, a: datetime, b: datetime) -> int:
        """Signed count of working days d with local(a) < d <= local(b)."""
        la, lb = self.local_date(a), self.local_date(b)
        return self._count(la, lb) if la <= lb else -self._count(lb, la)

    def days_between(self, a: datetime, b: datetime, working: bool | None = None) -> int:
        """Working days (as above) or calendar days between the local dates of a and b."""
        if self.working_days if working is None else working:
            return self.working_days_between(a, b)
        return (self.local_date(b) - self.local_date(a)).days

    def subtract_working_days(self, deadline: datetime, n: int, *, at: time = time(0)) -> datetime:
        """Start (local ``at``) of the n-th working day before the deadline's local date;
        n == 0 → that time on the deadline's own day (or the previous working day if it rests)."""
        local = self.local_date(deadline)
        if n < 0:
            raise ValueError("n must be ≥ 0")
        day = self.previous_working_day(local, inclusive=True) if n == 0 else self.working_day_after(local, -n)
        return self.start_of_day(day, at)

    def subtract_days(self, deadline: datetime, n: int, working: bool | None = None, *, at: time = time(0)) -> datetime:
        if self.working_days if working is None else working:
            return self.subtract_working_days(deadline, n, at=at)
        if n < 0:
            raise ValueError("n must be ≥ 0")
        return self.start_of_day(self.local_date(deadline) - timedelta(days=n), at)

    def __repr__(self) -> str:
        return f"WorkCalendar({self.timezone!r}, {len(self.extra_days)} extra days, working_days={self.working_days})"
