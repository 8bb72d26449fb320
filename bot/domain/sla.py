"""SLA rules of the scheduled jobs: reminders and escalation, auto-close, retention, digest days.

Pure functions of instants, the region's :class:`bot.domain.workdays.WorkCalendar` and its SLA
settings (no clock, no I/O), tested without sleeping; the jobs in ``scheduler/`` apply them.

SLA reminders (the rules, with d = the local date of a stage's deadline):

* Stages: **triage** while ``state = triase`` (``triage_due_at``, the coordinators' queue);
  **response** while the complaint is with an OPD and nobody answered yet (``response_due_at``);
  **completion** while it is with an OPD (``completion_due_at``). Reminders go to the stage's
  handlers: the coordinators for triage, the officers of the complaint's current OPD otherwise.
* Reminders are sent only in **office hours**: on a working day, from 08:00 to 16:00 local
  (``OFFICE_START``/``OFFICE_END``); a sweep outside them does nothing (not even a query).
* ``before``: from 08:00 of the ``sla.reminder_before_days``-th working day before d ("H-1"),
  until d; once per deadline. ``due``: on d itself ("hari ini batas"); once per deadline.
* ``overdue``: on every working day after d, once that day (the ``seq`` counts working days
  overdue), never on a weekend or holiday.
* ``escalation``: to the coordinators once the complaint is overdue by
  ``sla.escalation_margin_days`` working days (at least 1) — **once per stage deadline**; after
  that the officers keep their daily overdue reminder and the coordinators see the OPD in every
  daily digest. Triage has no escalation (it already is the coordinators' own queue).
* A missed window is not sent late (a sweep that did not run on H-1 sends no ``before`` on d);
  a missed escalation is caught up on the next working day.
* ``reminders_sent`` (complaint, stage, kind, seq) is the idempotency key, with
  ``seq = days(d since 2000-01-01) × 1000 (+ working days overdue, capped at 999)``: unique per
  deadline, so a deadline that moves (reopened, returned to triage, reclassified) is reminded
  afresh.
* Deadlines are ends of local days, so which complaints are overdue (and late enough to escalate)
  changes only at midnight: the ``overdue``/``escalation`` ranges are unbounded, the ``before``/
  ``due`` ones (``DAILY_KINDS``) are bounded (see ``scheduler.job_sla``).

Auto-close, retention and digest rules are on their functions.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from bot.domain.i18n import N_
from bot.domain.region_config import SlaConfig
from bot.domain.workdays import WorkCalendar

STAGES = ("triage", "response", "completion")
KINDS = ("before", "due", "overdue", "escalation")
OFFICE_START = time(8, 0)
OFFICE_END = time(16, 0)
SEQ_EPOCH = date(2000, 1, 1)
MAX_OVERDUE_SEQ = 999
HANDLING = ("disposisi", "tindak_lanjut")
DAILY_KINDS = ("before", "due")  # the kinds whose scan ranges are bounded (see the docstring)

STAGE_LABELS = {
    "triage": N_("pemeriksaan awal"),
    "response": N_("tanggapan pertama"),
    "completion": N_("penyelesaian"),
}


@dataclass(frozen=True)
class SlaPolicy:
    before_days: int = 1
    escalation_margin: int = 2
    office_start: time = OFFICE_START
    office_end: time = OFFICE_END

    @classmethod
    def from_sla(cls, sla: SlaConfig, *, office_start: time = OFFICE_START, office_end: time = OFFICE_END) -> SlaPolicy:
        return cls(sla.reminder_before_days, sla.escalation_margin_days, office_start, office_end)

    @property
    def margin(self) -> int:
        return max(self.escalation_margin, 1)


@dataclass(frozen=True)
class Due:
    """A reminder that should exist now: its kind, idempotency seq and working days overdue."""

    kind: str
    seq: int
    overdue_days: int = 0


@dataclass(frozen=True, slots=True)
class ScanWindow:
    """Complaints of ``stage`` whose stage deadline lies in [due_from, due_before) and that have no
    ``kind`` reminder yet — "yet" meaning one with this ``seq`` (once per deadline), one sent at or
    after ``sent_since`` (once per day), or one sent after the deadline (``after_deadline``)."""

    stage: str  # triage | response | completion
    kind: str  # before | due | overdue | escalation
    due_from: datetime | None = None
    due_before: datetime | None = None
    seq: int | None = None
    sent_since: datetime | None = None
    after_deadline: bool = False


@dataclass(frozen=True, slots=True)
class ReminderKey:
    """The idempotency key of one reminder (a ``reminders_sent`` row)."""

    complaint_id: int
    stage: str
    kind: str
    seq: int


@dataclass(frozen=True)
class ReminderItem:
    """One reminder to announce: the complaint (read in the chunk's transaction), stage and what is due."""

    complaint: Any  # storage.models.Complaint
    stage: str
    due: Due

    @property
    def key(self) -> ReminderKey:
        return ReminderKey(self.complaint.id, self.stage, self.due.kind, self.due.seq)


def day_number(d: date) -> int:
    return (d - SEQ_EPOCH).days


def in_office_hours(now: datetime, cal: WorkCalendar, policy: SlaPolicy) -> bool:
    local = now.astimezone(cal.tz)
    return cal.is_working_day(local.date()) and policy.office_start <= local.time() < policy.office_end


def stage_active(stage: str, state: str, first_response_at: datetime | None) -> bool:
    if stage == "triage":
        return state == "triase"
    if stage == "response":
        return state in HANDLING and first_response_at is None
    if stage == "completion":
        return state in HANDLING
    raise ValueError(f"unknown stage {stage!r}")


def reminders_due(
    stage: str, deadline: datetime | None, now: datetime, cal: WorkCalendar, policy: SlaPolicy
) -> list[Due]:
    """The reminders of one stage deadline that should exist at ``now`` (module docstring)."""
    if deadline is None or not in_office_hours(now, cal, policy):
        return []
    today = cal.local_date(now)
    d = cal.local_date(deadline)
    base = day_number(d) * 1000
    if today < d:
        if policy.before_days > 0 and now >= cal.subtract_working_days(
            deadline, policy.before_days, at=policy.office_start
        ):
            return [Due("before", base)]
        return []
    if today == d:
        return [Due("due", base)]
    n = cal.working_days_between(deadline, now)  # ≥ 1: today is a working day after d
    out = [Due("overdue", base + min(n, MAX_OVERDUE_SEQ), n)]
    if stage != "triage" and n >= policy.margin:
        out.append(Due("escalation", base, n))
    return out


def _before_dates(today: date, cal: WorkCalendar, policy: SlaPolicy) -> list[date]:
    """The deadline dates d for which today is within the ``before`` window (today < d ≤ H-k's end)."""
    if policy.before_days <= 0:
        return []
    last = cal.working_day_after(today, policy.before_days)  # H-k is today ⇔ today < d ≤ this
    one = timedelta(days=1)
    out: list[date] = []
    d = today + one
    while d <= last:
        out.append(d)
        d += one
    return out


def sweep_windows(now: datetime, cal: WorkCalendar, policy: SlaPolicy) -> list[ScanWindow]:
    """The deadline ranges a sweep at ``now`` must look at: exactly the deadlines for which
    :func:`reminders_due` is not empty, per stage and kind, with what "already sent" means."""
    if not in_office_hours(now, cal, policy):
        return []
    today = cal.local_date(now)
    one = timedelta(days=1)
    before_dates = _before_dates(today, cal, policy)
    esc_day = today if policy.margin == 1 else cal.working_day_after(today, -(policy.margin - 1))
    today_start = cal.start_of_day(today)
    out: list[ScanWindow] = []
    for stage in STAGES:
        for d in before_dates:
            out.append(
                ScanWindow(
                    stage,
                    "before",
                    due_from=cal.start_of_day(d),
                    due_before=cal.start_of_day(d + one),
                    seq=day_number(d) * 1000,
                )
            )
        out.append(
            ScanWindow(
                stage,
                "due",
                due_from=today_start,
                due_before=cal.start_of_day(today + one),
                seq=day_number(today) * 1000,
            )
        )
        out.append(ScanWindow(stage, "overdue", due_before=today_start, sent_since=today_start))
        if stage != "triage":
            out.append(ScanWindow(stage, "escalation", due_before=cal.start_of_day(esc_day), after_deadline=True))
    return out


def stage_deadline(stage: str, c: Any) -> datetime | None:
    return {"triage": c.triage_due_at, "response": c.response_due_at, "completion": c.completion_due_at}[stage]


def recipients(item: ReminderItem, officers_by_opd: dict[str, list], coordinators: list) -> list:
    """Who hears of a reminder: coordinators for triage and escalations, else the OPD's officers."""
    if item.due.kind == "escalation" or item.stage == "triage":
        return coordinators
    return officers_by_opd.get(item.complaint.opd_code or "", [])


Flagged = dict[int, dict[str, set[str]]]  # complaint id → stage → kinds


def split_audiences(found: Iterable[tuple[int, str, str]]) -> tuple[Flagged, Flagged, int]:
    """Group the scan's (complaint, stage, kind) rows by who hears of them, so that each person
    gets few messages however many reminders are due: what the coordinators hear of (triage,
    escalations) and what officers hear of, by complaint; and how many complaints were found."""
    flagged: dict[tuple[int, str], set[str]] = defaultdict(set)
    for cid, stage, kind in found:
        flagged[(cid, stage)].add(kind)
    to_coordinators: Flagged = defaultdict(dict)
    to_officers: Flagged = defaultdict(dict)
    for (cid, stage), kinds in flagged.items():
        if stage == "triage":
            to_coordinators[cid][stage] = kinds
            continue
        if "escalation" in kinds:
            to_coordinators[cid][stage] = {"escalation"}
        if kinds - {"escalation"}:
            to_officers[cid][stage] = kinds - {"escalation"}
    return to_coordinators, to_officers, len({cid for cid, _ in flagged})


def autoclose_deadline(resolved_at: datetime, cal: WorkCalendar, days: int, working: bool) -> datetime:
    """End of the citizen's confirmation window (end of the local day, like every deadline)."""
    return cal.add_days(resolved_at, days, working=working)


def autoclose_due(resolved_at: datetime, now: datetime, cal: WorkCalendar, days: int, working: bool) -> bool:
    return now > autoclose_deadline(resolved_at, cal, days, working)


def autoclose_bound(now: datetime, cal: WorkCalendar, days: int, working: bool) -> datetime:
    """The scan's exact range: ``autoclose_due(r, now) ⇔ r < autoclose_bound(now)``."""
    today = cal.local_date(now)
    if not working:
        return cal.start_of_day(today - timedelta(days=days))
    if days == 0:  # due once a working day lies in [local(r), today)
        return cal.start_of_day(cal.working_day_after(today, -1) + timedelta(days=1))
    return cal.start_of_day(cal.working_day_after(today, -days))


def retention_bound(now: datetime, retention_days: int) -> datetime:
    """Closed before this instant → anonymise (calendar days, ``KANAL_RETENTION_DAYS``)."""
    return now - timedelta(days=retention_days)


def digest_day(now: datetime, cal: WorkCalendar) -> date | None:
    """The local day a scheduled digest at ``now`` belongs to; None on a non-working day
    (no digest on weekends and holidays)."""
    d = cal.local_date(now)
    return d if cal.is_working_day(d) else None


def digest_window_start(now: datetime, cal: WorkCalendar, at: time) -> datetime:
    """ "New since": the digest time of the previous working day (Monday's covers the weekend)."""
    return cal.start_of_day(cal.previous_working_day(cal.local_date(now)), at)


def parse_clock_time(raw: str) -> time:
    hh, _, mm = raw.strip().partition(":")
    value = time(int(hh), int(mm or 0))
    return value
