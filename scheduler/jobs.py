"""The scheduled jobs: SLA reminders and escalation, auto-close, daily digest, retention.

Each job is a module-level ``async def job(context) -> JobResult`` run by
:class:`scheduler.runner.JobRunner` on the leader, or once by ``kanal jobs run NAME --at TIME``.
Time comes from ``context.clock``; the decisions are pure functions (top of this module) of the
instants, the region's :class:`bot.domain.workdays.WorkCalendar` and its SLA settings, tested without
sleeping. All SQL is in :mod:`storage.sla_repo`; messages are outbox rows added in the same
transaction as the record that makes them idempotent (:class:`bot.engine.notify.Notifier`).

SLA reminders (every minute; the rules, with d = the local date of a stage's deadline):

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
  afresh. A reminder whose OPD has no officer is still recorded (the digest shows the OPD).
* One message per recipient and chunk (500 complaints per transaction), listing its complaints.
  Triage reminders and escalations (the coordinators') are chunked apart from the officers'
  reminders, which are chunked by OPD: an officer gets one message per 500 of the OPD's due
  complaints, not one per 500 of the whole region's.
* Deadlines are ends of local days, so which complaints are overdue (and late enough to escalate)
  changes only at midnight: a process scans the unbounded ``overdue``/``escalation`` ranges on
  its **first complete sweep of a local day** and afterwards only the narrow ``before``/``due``
  ranges (``JobContext.memo``). The every-minute sweep then costs milliseconds instead of a pass
  over every overdue complaint. A deadline set in the past during the day (a reclassification
  to a shorter class) is reminded on the next working day; a new leader, a restart and
  ``kanal jobs run`` (a fresh context) always scan everything once.

Auto-close, digest and retention rules are on their functions.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

from babel.dates import format_date

from bot.domain import complaint_rules
from bot.domain.clock import Clock, SystemClock
from bot.domain.i18n import N_, Translator
from bot.domain.messages import Choice, Reply
from bot.domain.workdays import WorkCalendar
from bot.engine.notify import Notifier
from storage import Database, Repo
from storage.sla_repo import ReminderKey, ScanWindow, SlaRepo

log = logging.getLogger(__name__)

STAGES = ("triage", "response", "completion")
KINDS = ("before", "due", "overdue", "escalation")
OFFICE_START = time(8, 0)
OFFICE_END = time(16, 0)
SEQ_EPOCH = date(2000, 1, 1)
MAX_OVERDUE_SEQ = 999
CHUNK = 500
RECIPIENT_CHUNK = 100
MAX_REMINDER_LINES = 30
HANDLING = ("disposisi", "tindak_lanjut")
DAILY_KINDS = ("before", "due")  # the kinds whose scan ranges are bounded (see the docstring)

STAGE_LABELS = {
    "triage": N_("verifikasi (triase)"),
    "response": N_("tanggapan pertama"),
    "completion": N_("penyelesaian"),
}


# =============================================================================================
# Pure decisions
# =============================================================================================
@dataclass(frozen=True)
class SlaPolicy:
    before_days: int = 1
    escalation_margin: int = 2
    office_start: time = OFFICE_START
    office_end: time = OFFICE_END

    @classmethod
    def from_sla(
        cls, sla: dict[str, Any], *, office_start: time = OFFICE_START, office_end: time = OFFICE_END
    ) -> SlaPolicy:
        return cls(
            int(sla.get("reminder_before_days", 1)), int(sla.get("escalation_margin_days", 2)), office_start, office_end
        )

    @property
    def margin(self) -> int:
        return max(self.escalation_margin, 1)


@dataclass(frozen=True)
class Due:
    """A reminder that should exist now: its kind, idempotency seq and working days overdue."""

    kind: str
    seq: int
    overdue_days: int = 0


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


def sweep_windows(now: datetime, cal: WorkCalendar, policy: SlaPolicy) -> list[ScanWindow]:
    """The deadline ranges a sweep at ``now`` must look at: exactly the deadlines for which
    :func:`reminders_due` is not empty, per stage and kind, with what "already sent" means."""
    if not in_office_hours(now, cal, policy):
        return []
    today = cal.local_date(now)
    one = timedelta(days=1)
    before_dates: list[date] = []
    if policy.before_days > 0:
        last = cal.working_day_after(today, policy.before_days)  # H-k is today ⇔ today < d ≤ this
        d = today + one
        while d <= last:
            before_dates.append(d)
            d += one
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


# =============================================================================================
# Context and results
# =============================================================================================
@dataclass
class JobContext:
    """What a job gets: database, settings, notifier, clock (the decision instant), and how to
    wake the outbox sender after a commit. ``release_clock`` (``kanal jobs run``): outbox rows
    become due at min(decision instant, its now), so a run ``--at`` a future instant sends now."""

    db: Database
    settings: Any  # bot.settings.Settings
    notifier: Notifier
    clock: Clock = field(default_factory=SystemClock)
    wake: Callable[[], None] | None = None
    release_clock: Clock | None = None
    chunk_size: int = CHUNK
    office_start: time = OFFICE_START
    office_end: time = OFFICE_END
    #: what a job remembers between its runs in this process (the SLA sweep: the local day of its
    #: last complete full scan)
    memo: dict[str, Any] = field(default_factory=dict)

    def now(self) -> datetime:
        return self.clock.now()

    def not_before(self, now: datetime) -> datetime | None:
        if self.release_clock is None:
            return None
        return min(now, self.release_clock.now())

    def woke(self) -> None:
        if self.wake is not None:
            self.wake()

    async def region(self):
        from bot.engine.region_context import region_context

        async with self.db.unit_of_work() as uow:
            return await region_context(uow.core)


class _RepoOnly:
    """``bot.engine.region_context.region_context`` reads only ``turn.repo``."""

    def __init__(self, repo: Repo) -> None:
        self.repo = repo


@dataclass
class JobResult:
    job: str
    at: datetime
    counts: dict[str, int] = field(default_factory=dict)
    skipped: str | None = None
    note: str | None = None

    def add(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n

    def __str__(self) -> str:
        head = f"{self.job} as of {self.at.isoformat()}"
        if self.skipped:
            return f"{head}: skipped ({self.skipped})"
        body = ", ".join(f"{k} {v}" for k, v in self.counts.items()) or "nothing to do"
        return f"{head}: {body}" + (f" ({self.note})" if self.note else "")


def _chunks(items: Sequence, size: int) -> Iterable[Sequence]:
    for i in range(0, len(items), max(1, size)):
        yield items[i : i + size]


def _date(lang: str, cal: WorkCalendar, at: datetime) -> str:
    return _format_day(lang, cal.local_date(at))


@lru_cache(maxsize=4096)
def _format_day(lang: str, day: date) -> str:
    return format_date(day, "EEE, d MMM yyyy", locale=lang)


def _short(text: str, n: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


# =============================================================================================
# SLA sweep
# =============================================================================================
@dataclass(frozen=True)
class ReminderItem:
    complaint: Any  # storage.models.Complaint (read in the chunk's transaction)
    stage: str
    due: Due

    @property
    def key(self) -> ReminderKey:
        return ReminderKey(self.complaint.id, self.stage, self.due.kind, self.due.seq)


def recipients(item: ReminderItem, officers_by_opd: dict[str, list], coordinators: list) -> list:
    """Who hears of a reminder: coordinators for triage and escalations, else the OPD's officers."""
    if item.due.kind == "escalation" or item.stage == "triage":
        return coordinators
    return officers_by_opd.get(item.complaint.opd_code or "", [])


_KIND_ORDER = {"escalation": 0, "overdue": 1, "due": 2, "before": 3}
_HEADINGS = {
    "escalation": N_("🚨 Eskalasi — lewat batas {stage} {days} hari kerja atau lebih:"),
    "overdue": N_("⚠️ Lewat batas {stage}:"),
    "due": N_("⏰ Hari ini batas {stage}:"),
    "before": N_("⏰ Mendekati batas {stage} ({days} hari kerja lagi):"),
}


def reminder_reply(
    t: Translator,
    items: Sequence[ReminderItem],
    cal: WorkCalendar,
    policy: SlaPolicy,
    opd_names: dict[str, str],
    *,
    role: str,
) -> Reply:
    """One message listing a recipient's reminders, escalations first, most overdue first."""
    lang = t.lang
    ordered = sorted(
        items, key=lambda i: (_KIND_ORDER[i.due.kind], STAGES.index(i.stage), -i.due.overdue_days, i.complaint.id)
    )
    lines: list[str] = []
    shown = 0
    group = None
    for item in ordered:
        if shown >= MAX_REMINDER_LINES:
            break
        if (item.due.kind, item.stage) != group:
            group = (item.due.kind, item.stage)
            if lines:
                lines.append("")
            days = policy.margin if item.due.kind == "escalation" else policy.before_days
            lines.append(t(_HEADINGS[item.due.kind], stage=t(STAGE_LABELS[item.stage]), days=days))
        c = item.complaint
        parts = [c.number]
        if item.due.kind == "escalation" or role == "coordinator":
            parts.append(c.opd_code or t("Triase"))
        parts.append(t("batas {date}", date=_date(lang, cal, stage_deadline(item.stage, c))))
        if item.due.overdue_days:
            parts.append(t("lewat {n} hari kerja", n=item.due.overdue_days))
        lines.append("• " + " · ".join(parts) + f"\n  {_short(c.text, 70)}")
        shown += 1
    if len(ordered) > shown:
        lines.append(t("… dan {n} lainnya.", n=len(ordered) - shown))
    lines += [
        "",
        t("Buka /triase atau /lihat <nomor>.") if role == "coordinator" else t("Buka /antrian untuk menindaklanjuti."),
    ]
    numbers = list(dict.fromkeys(i.complaint.number for i in ordered))[:5]
    escalation = any(i.due.kind == "escalation" for i in items)
    return Reply(
        text="\n".join(lines),
        title=t("Eskalasi pengaduan") if escalation else t("Pengingat batas waktu pengaduan"),
        choices=tuple(Choice(n, f"/lihat {n}") for n in numbers),
        purpose="notification",
    )


async def sla_sweep(ctx: JobContext) -> JobResult:
    """Record and send the reminders due at ``ctx.now()`` (see the module docstring)."""
    now = ctx.now()
    result = JobResult("sla", now)
    region = await ctx.region()
    cal = region.calendar
    policy = SlaPolicy.from_sla(region.sla, office_start=ctx.office_start, office_end=ctx.office_end)
    windows = sweep_windows(now, cal, policy)
    if not windows:
        result.skipped = "outside office hours"
        return result
    today = cal.local_date(now)
    full = ctx.memo.get("sla_full_scan_day") != today
    if not full:
        windows = [w for w in windows if w.kind in DAILY_KINDS]
        result.note = "overdue and escalations already swept today"
    async with ctx.db.unit_of_work() as uow:
        repo = SlaRepo(uow.session)
        found = await repo.scan(windows)
        opd_of = await repo.opd_codes({cid for cid, _, _ in found}) if len(found) > ctx.chunk_size else {}
    # two groups, so that each person gets few messages however many reminders are due: what the
    # coordinators hear of (triage, escalations) by complaint, what officers hear of by OPD
    flagged: dict[tuple[int, str], set[str]] = defaultdict(set)
    for cid, stage, kind in found:
        flagged[(cid, stage)].add(kind)
    to_coordinators: dict[int, dict[str, set[str]]] = defaultdict(dict)
    to_officers: dict[int, dict[str, set[str]]] = defaultdict(dict)
    for (cid, stage), kinds in flagged.items():
        if stage == "triage":
            to_coordinators[cid][stage] = kinds
            continue
        if "escalation" in kinds:
            to_coordinators[cid][stage] = {"escalation"}
        if kinds - {"escalation"}:
            to_officers[cid][stage] = kinds - {"escalation"}
    result.add("candidates", len({cid for cid, _ in flagged}))
    chunks = [(chunk, to_coordinators) for chunk in _chunks(sorted(to_coordinators), ctx.chunk_size)]
    by_opd: dict[str, list[int]] = defaultdict(list)
    for cid in sorted(to_officers):
        by_opd[opd_of.get(cid) or ""].append(cid)
    chunks += [(chunk, to_officers) for opd in sorted(by_opd) for chunk in _chunks(by_opd[opd], ctx.chunk_size)]
    for chunk, group in chunks:
        async with ctx.db.unit_of_work() as uow:
            repo = SlaRepo(uow.session)
            planned: list[ReminderItem] = []
            for c in await repo.complaints(chunk):
                for stage, kinds in group[c.id].items():
                    if not stage_active(stage, c.state, c.first_response_at):
                        continue
                    planned += [
                        ReminderItem(c, stage, due)
                        for due in reminders_due(stage, stage_deadline(stage, c), now, cal, policy)
                        if due.kind in kinds
                    ]
            if not planned:
                continue
            won = await repo.record_reminders([p.key for p in planned], now)
            items = [p for p in planned if p.key in won]
            for item in items:
                result.add(item.due.kind)
            staff = await repo.staff()
            coordinators = [u for u in staff if u.role == "coordinator"]
            officers: dict[str, list] = defaultdict(list)
            for u in staff:
                if u.role == "officer" and u.opd_code:
                    officers[u.opd_code].append(u)
            inbox: dict[int, list[ReminderItem]] = defaultdict(list)
            people = {u.id: u for u in staff}
            for item in items:
                targets = recipients(item, officers, coordinators)
                if not targets:
                    result.add("without_recipient")
                for person in targets:
                    inbox[person.id].append(item)
            base = Repo(uow.session)
            for uid, mine in inbox.items():
                person = people[uid]
                reply = reminder_reply(
                    ctx.notifier.translator_for(person), mine, cal, policy, region.opd_names, role=person.role
                )
                result.add("messages", ctx.notifier.to_user(base, person, reply, now, not_before=ctx.not_before(now)))
            await uow.commit()
        ctx.woke()
    if full:
        ctx.memo["sla_full_scan_day"] = today
    return result


# =============================================================================================
# Auto-close
# =============================================================================================
AUTOCLOSE_TEXT = N_(
    "🔒 Laporan {number} ditutup otomatis karena tidak ada konfirmasi dalam {days} hari sejak dinyatakan selesai. "
    "Terima kasih telah melapor. Jika masalahnya muncul lagi, buat laporan baru dengan /lapor."
)


async def autoclose(ctx: JobContext) -> JobResult:
    """Close complaints left in ``selesai`` past the confirmation window: ``sla.confirmation_days``
    (working or calendar days per ``sla.working_days``) after ``resolved_at``, ending at the end
    of that local day. State ``ditutup``, ``closed_at``, a history event "autoclose" by the
    system, an audit event, and the citizen is told. A citizen's rating that lands first wins
    (the close is a conditional UPDATE on ``state = 'selesai'``)."""
    now = ctx.now()
    result = JobResult("autoclose", now)
    region = await ctx.region()
    days = region.sla.confirmation_days
    working = region.sla.working_days
    bound = autoclose_bound(now, region.calendar, days, working)
    assert complaint_rules.next_state("autoclose", "selesai") == "ditutup"
    async with ctx.db.unit_of_work() as uow:
        ids = await SlaRepo(uow.session).autoclose_candidates(bound)
    for chunk in _chunks(ids, ctx.chunk_size):
        async with ctx.db.unit_of_work() as uow:
            repo = SlaRepo(uow.session)
            closed = await repo.autoclose(chunk, resolved_before=bound, now=now)
            result.add("closed", len(closed))
            citizens = await repo.users(u for _, _, u, _ in closed if u is not None)
            base = Repo(uow.session)
            for _cid, number, uid, _opd in closed:
                person = citizens.get(uid) if uid is not None else None
                if person is None:
                    continue
                t = ctx.notifier.translator_for(person)
                reply = Reply(text=t(AUTOCLOSE_TEXT, number=number, days=days), purpose="notification")
                result.add("messages", ctx.notifier.to_user(base, person, reply, now, not_before=ctx.not_before(now)))
            await uow.commit()
        ctx.woke()
    return result


# =============================================================================================
# Retention
# =============================================================================================
async def retention(ctx: JobContext) -> JobResult:
    """Anonymise complaints closed more than ``KANAL_RETENTION_DAYS`` calendar days ago.

    Decision on the text: **scrubbed**. Free text (the complaint, answers, reasons) routinely
    carries names, phone numbers and addresses, so it is removed with the identifiers; what is
    kept is what the statistics need — number, OPD, topic, class, privacy, state, dates, rating,
    reopen count, the roles in the history and the reminder records (``storage.sla_repo.anonymise``).
    """
    now = ctx.now()
    result = JobResult("retention", now)
    bound = retention_bound(now, int(ctx.settings.retention_days))
    async with ctx.db.unit_of_work() as uow:
        ids = await SlaRepo(uow.session).retention_candidates(bound)
    for chunk in _chunks(ids, ctx.chunk_size):
        async with ctx.db.unit_of_work() as uow:
            done = await SlaRepo(uow.session).anonymise(chunk, closed_before=bound, now=now)
            await uow.commit()
        result.add("anonymised", len(done))
    return result


# =============================================================================================
# Daily digest
# =============================================================================================
async def digest(ctx: JobContext) -> JobResult:
    """The daily digest as of ``ctx.now()``: to every coordinator (with the chart) and to every
    officer whose OPD has overdue complaints, once per person and local day (``digests_sent``).
    Working days only; "new since" = the previous working day's digest time."""
    from bot.services.digest import chart_png, collect_digest, coordinator_reply, officer_reply

    now = ctx.now()
    result = JobResult("digest", now)
    region = await ctx.region()
    cal = region.calendar
    day = digest_day(now, cal)
    if day is None:
        result.skipped = "not a working day"
        return result
    start = digest_window_start(now, cal, parse_clock_time(getattr(ctx.settings, "digest_time", "07:00") or "07:00"))
    async with ctx.db.unit_of_work() as uow:
        session = uow.session
        staff = await SlaRepo(session).staff()
        coordinators = [u for u in staff if u.role == "coordinator"]
        data = await collect_digest(session, region, now, start)
        late_opds = {opd for opd, _n, late in data.open_by_opd if opd and late}
        officers = [u for u in staff if u.role == "officer" and u.opd_code in late_opds]
        per_opd = {
            opd: await collect_digest(session, region, now, start, opd=opd)
            for opd in sorted({u.opd_code for u in officers})
        }
    charts: dict[str, bytes] = {}
    for lang in sorted({ctx.notifier.language_for(u) for u in coordinators}):
        charts[lang] = await chart_png(Translator(lang), region, data)
    plan = [(u, "coordinator") for u in coordinators] + [(u, "officer") for u in officers]
    for chunk in _chunks(plan, RECIPIENT_CHUNK):
        async with ctx.db.unit_of_work() as uow:
            repo = SlaRepo(uow.session)
            base = Repo(uow.session)
            for person, kind in chunk:
                if not await repo.record_digest(person.id, day, kind, now):
                    result.add("already_sent")
                    continue
                t = ctx.notifier.translator_for(person)
                if kind == "coordinator":
                    reply = coordinator_reply(t, region, data, charts[t.lang])
                else:
                    reply = officer_reply(t, region, per_opd[person.opd_code])
                result.add(kind)
                result.add("messages", ctx.notifier.to_user(base, person, reply, now, not_before=ctx.not_before(now)))
            await uow.commit()
        ctx.woke()
    return result


# =============================================================================================
# Schedule
# =============================================================================================
JOBS: dict[str, Callable] = {"sla": sla_sweep, "autoclose": autoclose, "digest": digest, "retention": retention}
SLA_INTERVAL = 60
AUTOCLOSE_AT = time(8, 5)  # citizens are told in the morning, not at midnight
RETENTION_AT = time(2, 30)
#: one line per job for ``kanal jobs list`` / ``--help`` (extensions may add ``DESCRIPTIONS``)
DESCRIPTIONS = {
    "sla": "SLA sweep: reminders to officers (H-1, due day, daily while overdue), escalation to coordinators",
    "autoclose": "close complaints left 'selesai' past the confirmation window; tell the citizen",
    "digest": "daily digest to coordinators (text + chart) and to officers of OPDs with overdue complaints",
    "retention": "anonymise complaints closed longer than KANAL_RETENTION_DAYS ago",
}
#: modules that add jobs: each has ``JOBS`` (name → ``async def job(ctx)``), ``schedule(runner,
#: settings)`` and optionally ``DESCRIPTIONS``. Missing modules are skipped.
EXTENSIONS = ("scheduler.forum_jobs",)


def _extensions() -> list[Any]:
    import importlib

    mods = []
    for name in EXTENSIONS:
        try:
            mods.append(importlib.import_module(name))
        except ModuleNotFoundError as exc:
            if exc.name != name:  # the module exists but something it imports is missing: a bug
                raise
    return mods


def all_jobs() -> dict[str, Callable]:
    """Every job ``kanal jobs run`` knows: this module's and the extensions'."""
    jobs = dict(JOBS)
    for mod in _extensions():
        for name, func in getattr(mod, "JOBS", {}).items():
            jobs.setdefault(name, func)
    return jobs


def descriptions() -> dict[str, str]:
    out = dict(DESCRIPTIONS)
    for mod in _extensions():
        for name, text in getattr(mod, "DESCRIPTIONS", {}).items():
            out.setdefault(name, text)
    return out


def schedule(runner, settings) -> None:
    """The production schedule on a :class:`scheduler.runner.JobRunner` (also ``kanal jobs list``):
    this module's jobs, then each extension's ``schedule(runner, settings)``."""
    at = parse_clock_time(getattr(settings, "digest_time", "07:00") or "07:00")
    runner.add_interval("sla", sla_sweep, SLA_INTERVAL)
    runner.add_daily("autoclose", autoclose, AUTOCLOSE_AT.hour, AUTOCLOSE_AT.minute)
    runner.add_daily("digest", digest, at.hour, at.minute)
    runner.add_daily("retention", retention, RETENTION_AT.hour, RETENTION_AT.minute)
    for mod in _extensions():
        extra = getattr(mod, "schedule", None)
        if extra is not None:
            extra(runner, settings)


async def run_job(name: str, ctx: JobContext) -> Any:
    """Run one job once (``kanal jobs run``); logs and returns its result."""
    jobs = all_jobs()
    if name not in jobs:
        raise KeyError(f"unknown job {name!r}; known: {', '.join(jobs)}")
    result = await jobs[name](ctx)
    log.info("%s", result if result is not None else f"{name}: done")
    return result
