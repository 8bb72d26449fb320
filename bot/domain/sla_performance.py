"""SLA performance per OPD (pure arithmetic): the figures of ``/kinerja`` and of the coordinators'
daily digest.

Over a window (``sla.kinerja_window_days`` calendar days, complaints *filed* in it and routed to an
OPD — the OPD that holds them now):

* **response on time**: first response at or before ``response_due_at``. Counted once decided: a
  first response exists, or the deadline passed without one (late). Not yet due and unanswered:
  left out.
* **resolution on time**: ``resolved_at`` at or before ``completion_due_at``, decided likewise. A
  complaint reopened (not satisfied, not fixed) has a new deadline and no ``resolved_at``: it
  counts again once decided.

Now, whatever the window:

* **open**: complaints the OPD holds (``disposisi``, ``tindak_lanjut``).
* **late**: open and past the response deadline without a first response, or past the completion
  deadline. **waiting**: working days since the complaint reached the OPD (``routed_at``).
* **red flag** (🚩): an OPD holding a complaint without a first response for
  ``sla.kinerja_flag_days`` working days or more (default 6).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.domain.workdays import WorkCalendar

HANDLING = ("disposisi", "tindak_lanjut")


@dataclass(frozen=True, slots=True)
class ComplaintTimes:
    """What the figures need of one complaint (read by ``storage.sla_repo``)."""

    number: str
    opd_code: str
    state: str
    filed_at: datetime
    routed_at: datetime | None
    response_due_at: datetime | None
    first_response_at: datetime | None
    completion_due_at: datetime | None
    resolved_at: datetime | None

    @property
    def reached_opd_at(self) -> datetime:
        return self.routed_at or self.filed_at


@dataclass(frozen=True, slots=True)
class LateComplaint:
    number: str
    waiting_days: int  # working days since it reached the OPD
    unanswered: bool  # no first response yet
    flagged: bool


@dataclass
class OpdPerformance:
    opd: str
    received: int = 0  # filed in the window
    response_decided: int = 0
    response_on_time: int = 0
    resolution_decided: int = 0
    resolution_on_time: int = 0
    open: int = 0
    late: int = 0
    flagged: int = 0  # open complaints past the red-flag threshold

    @property
    def response_share(self) -> float | None:
        return self.response_on_time / self.response_decided if self.response_decided else None

    @property
    def resolution_share(self) -> float | None:
        return self.resolution_on_time / self.resolution_decided if self.resolution_decided else None

    @property
    def red(self) -> bool:
        return self.flagged > 0


def on_time(done: datetime | None, due: datetime | None, now: datetime) -> bool | None:
    """True: done by the deadline; False: done late, or not done and the deadline passed; None:
    not decided yet (no deadline, or not done and not due)."""
    if due is None:
        return None
    if done is not None:
        return done <= due
    return False if now > due else None


def waiting_days(c: ComplaintTimes, now: datetime, cal: WorkCalendar) -> int:
    return max(0, cal.working_days_between(c.reached_opd_at, now))


def is_late(c: ComplaintTimes, now: datetime) -> bool:
    if c.state not in HANDLING:
        return False
    unanswered_late = c.first_response_at is None and c.response_due_at is not None and now > c.response_due_at
    return unanswered_late or (c.completion_due_at is not None and now > c.completion_due_at)


def red_flagged(c: ComplaintTimes, now: datetime, cal: WorkCalendar, flag_days: int) -> bool:
    return c.state in HANDLING and c.first_response_at is None and waiting_days(c, now, cal) >= max(1, flag_days)


def performance(
    window: Iterable[ComplaintTimes],
    open_now: Iterable[ComplaintTimes],
    now: datetime,
    cal: WorkCalendar,
    flag_days: int,
    opds: Sequence[str] = (),
) -> list[OpdPerformance]:
    """Per OPD: the window's on-time counts (``window``: complaints filed in it) and the open, late
    and flagged counts (``open_now``); every OPD of ``opds`` listed even without complaints.
    Worst first: red-flagged, then most late, then the lowest on-time shares, then by code."""
    by_opd: dict[str, OpdPerformance] = {code: OpdPerformance(code) for code in opds}
    for c in window:
        p = by_opd.setdefault(c.opd_code, OpdPerformance(c.opd_code))
        p.received += 1
        response = on_time(c.first_response_at, c.response_due_at, now)
        if response is not None:
            p.response_decided += 1
            p.response_on_time += int(response)
        resolution = on_time(c.resolved_at, c.completion_due_at, now)
        if resolution is not None:
            p.resolution_decided += 1
            p.resolution_on_time += int(resolution)
    for c in open_now:
        if c.state not in HANDLING:
            continue
        p = by_opd.setdefault(c.opd_code, OpdPerformance(c.opd_code))
        p.open += 1
        p.late += int(is_late(c, now))
        p.flagged += int(red_flagged(c, now, cal, flag_days))
    return sorted(by_opd.values(), key=_worst_first)


def _worst_first(p: OpdPerformance) -> tuple:
    shares = [s for s in (p.response_share, p.resolution_share) if s is not None]
    return (not p.red, -p.late, min(shares) if shares else 2.0, p.opd)


def late_list(
    open_now: Iterable[ComplaintTimes], now: datetime, cal: WorkCalendar, flag_days: int
) -> list[LateComplaint]:
    """The late (or red-flagged) open complaints, longest waiting first."""
    out: dict[str, LateComplaint] = {}
    for c in open_now:
        flagged = red_flagged(c, now, cal, flag_days)
        if is_late(c, now) or flagged:
            out[c.number] = LateComplaint(c.number, waiting_days(c, now, cal), c.first_response_at is None, flagged)
    return sorted(out.values(), key=lambda x: (-x.waiting_days, x.number))


def totals(rows: Sequence[OpdPerformance]) -> OpdPerformance:
    """The region's sums (``opd`` empty)."""
    total = OpdPerformance("")
    for p in rows:
        for name in ("received", "response_decided", "response_on_time", "resolution_decided", "resolution_on_time"):
            setattr(total, name, getattr(total, name) + getattr(p, name))
        total.open += p.open
        total.late += p.late
        total.flagged += p.flagged
    return total


def group_by_opd(rows: Iterable[ComplaintTimes]) -> dict[str, list[ComplaintTimes]]:
    out: dict[str, list[ComplaintTimes]] = defaultdict(list)
    for c in rows:
        out[c.opd_code].append(c)
    return out
