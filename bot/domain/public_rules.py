"""The arithmetic of the public transparency page (``/publik``): pure, no clock, no SQL.

Definitions (the page says them too):

* **period** — the last 12 full calendar months before the current month, in the region's time zone
  (:func:`twelve_full_months`); a complaint belongs to it by its ``filed_at``.
* **received** — complaints filed in the period and held by the OPD (whatever their privacy:
  anonim and rahasia complaints are complaints; only their count is used).
* **answered on time** — among complaints whose first-response deadline has passed or which have
  been answered, the share answered (``first_response_at``) no later than ``response_due_at``.
  Complaints still inside their deadline and unanswered are not counted yet.
* **resolved on time** — the same with ``resolved_at`` and ``completion_due_at``.
* **median working days** — from ``filed_at`` to ``first_response_at`` / ``resolved_at``, counted
  with :meth:`bot.domain.workdays.WorkCalendar.working_days_between` (weekends, national holidays,
  cuti bersama and the region's ``[[holiday]]`` days do not count); the median of an even number of
  values is the mean of the two middle ones.
* **reopened share** — among complaints that were resolved (or reopened), those with a complaint
  event ``rate_bad`` (the citizen was "tidak puas") or ``reopen_not_fixed`` ("sudah beres?" → belum).
* **satisfaction** — ``rate_good`` events / (``rate_good`` + ``rate_bad`` events).

**Small counts are suppressed** (k-anonymity, ``publik_k`` in the region file, default 5): a count
between 1 and k−1 is not shown, and a percentage or median computed over fewer than k complaints
(or ratings) is not shown either. A suppressed :class:`Cell` has ``value=None, suppressed=True``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

__all__ = [
    "DEFAULT_K",
    "Cell",
    "ComplaintFacts",
    "OpdFigures",
    "count_cell",
    "median",
    "median_cell",
    "opd_figures",
    "percent_cell",
    "twelve_full_months",
]

DEFAULT_K = 5
MIN_K, MAX_K = 1, 100
REOPEN_ACTIONS = ("rate_bad", "reopen_not_fixed")


@dataclass(frozen=True)
class Cell:
    """One published figure: its value, or None with ``suppressed`` when fewer than k are behind it
    (None without ``suppressed``: nothing to compute, e.g. no complaint yet)."""

    value: float | int | None
    suppressed: bool = False

    def shown(self, k: int, places: int = 1) -> str:
        """The cell as HTML/CSV text: ``<k`` when suppressed, ``–`` when empty, else the number."""
        if self.suppressed:
            return f"<{k}"
        if self.value is None:
            return "–"
        if isinstance(self.value, int):
            return str(self.value)
        return f"{self.value:.{places}f}".replace(".", ",")


@dataclass(frozen=True)
class ComplaintFacts:
    """What the page may know of one complaint: timestamps and counts, never its text or people."""

    opd_code: str | None
    filed_at: datetime
    first_response_at: datetime | None = None
    response_due_at: datetime | None = None
    resolved_at: datetime | None = None
    completion_due_at: datetime | None = None
    reopened: bool = False  # an event rate_bad or reopen_not_fixed
    rate_good: int = 0
    rate_bad: int = 0


@dataclass(frozen=True)
class OpdFigures:
    code: str
    received: Cell
    answered_on_time: Cell  # %
    resolved_on_time: Cell  # %
    median_response_days: Cell
    median_resolution_days: Cell
    reopened_share: Cell  # %
    satisfaction: Cell  # %
    # the denominators, for the JSON (themselves cells: small ones are suppressed)
    bases: dict[str, Cell] = field(default_factory=dict)


def check_k(value: Any) -> str | None:
    """The problem with a ``publik_k`` value from the region file, or None."""
    if isinstance(value, bool) or not isinstance(value, int) or not MIN_K <= value <= MAX_K:
        return f"expected a whole number {MIN_K}-{MAX_K}, got {value!r}"
    return None


def count_cell(n: int, k: int) -> Cell:
    return Cell(None, True) if 0 < n < k else Cell(n)


def percent_cell(part: int, whole: int, k: int) -> Cell:
    """``part/whole`` in percent, one decimal (half up); suppressed when ``0 < whole < k``."""
    if whole == 0:
        return Cell(None)
    if whole < k:
        return Cell(None, True)
    return Cell(_round1(100 * part / whole))


def median(values: Sequence[float]) -> float | None:
    if not values:
        return None
    s = sorted(values)
    mid = len(s) // 2
    return float(s[mid]) if len(s) % 2 else (s[mid - 1] + s[mid]) / 2


def median_cell(values: Sequence[float], k: int) -> Cell:
    if not values:
        return Cell(None)
    if len(values) < k:
        return Cell(None, True)
    return Cell(_round1(median(values) or 0.0))


def _round1(x: float) -> float:
    return int(x * 10 + 0.5 + 1e-9) / 10


def twelve_full_months(today: date) -> tuple[date, date]:
    """[first day, first day after) of the 12 full months before ``today``'s month."""
    end = date(today.year, today.month, 1)
    return date(end.year - 1, end.month, 1), end


def _on_time(done: datetime | None, due: datetime | None, now: datetime) -> bool | None:
    """True/False once known; None while the deadline runs (or without a deadline)."""
    if due is None:
        return None
    if done is not None:
        return done <= due
    return False if due < now else None


def opd_figures(code: str, facts: Iterable[ComplaintFacts], calendar: Any, k: int, now: datetime) -> OpdFigures:
    """The figures of one OPD (or of the whole region) from its complaints' facts."""
    rows = list(facts)
    answered = [x for x in (_on_time(f.first_response_at, f.response_due_at, now) for f in rows) if x is not None]
    resolved = [x for x in (_on_time(f.resolved_at, f.completion_due_at, now) for f in rows) if x is not None]
    response_days = [
        calendar.working_days_between(f.filed_at, f.first_response_at) for f in rows if f.first_response_at
    ]
    resolution_days = [calendar.working_days_between(f.filed_at, f.resolved_at) for f in rows if f.resolved_at]
    finished = [f for f in rows if f.resolved_at is not None or f.reopened]
    good = sum(f.rate_good for f in rows)
    bad = sum(f.rate_bad for f in rows)
    return OpdFigures(
        code=code,
        received=count_cell(len(rows), k),
        answered_on_time=percent_cell(sum(answered), len(answered), k),
        resolved_on_time=percent_cell(sum(resolved), len(resolved), k),
        median_response_days=median_cell(response_days, k),
        median_resolution_days=median_cell(resolution_days, k),
        reopened_share=percent_cell(sum(f.reopened for f in finished), len(finished), k),
        satisfaction=percent_cell(good, good + bad, k),
        bases={
            "response_known": count_cell(len(answered), k),
            "resolution_known": count_cell(len(resolved), k),
            "resolved_or_reopened": count_cell(len(finished), k),
            "ratings": count_cell(good + bad, k),
        },
    )


def ikm_publishable(responses: int, k: int) -> bool:
    """An IKM of fewer than k questionnaires is not published (it would show their answers)."""
    return responses >= k
