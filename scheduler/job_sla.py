"""The SLA sweep (every minute): record and send the reminders and escalations due now.

The rules (stages, office hours, before/due/overdue/escalation, idempotency keys) are in
:mod:`bot.domain.sla`; the SQL is in :mod:`storage.sla_repo`. A reminder whose OPD has no officer
is still recorded (the digest shows the OPD).

* One message per recipient and chunk (500 complaints per transaction), listing its complaints.
  Triage reminders and escalations (the coordinators') are chunked apart from the officers'
  reminders, which are chunked by OPD: an officer gets one message per 500 of the OPD's due
  complaints, not one per 500 of the whole region's.
* Which complaints are overdue (and late enough to escalate) changes only at midnight, so a
  process scans the unbounded ``overdue``/``escalation`` ranges on its **first complete sweep of a
  local day** and afterwards only the narrow ``before``/``due`` ranges (``JobContext.memo``). The
  every-minute sweep then costs milliseconds instead of a pass over every overdue complaint. A
  deadline set in the past during the day (a reclassification to a shorter class) is reminded on
  the next working day; a new leader, a restart and ``kanal jobs run`` (a fresh context) always
  scan everything once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from babel.dates import format_date

from bot.domain.complaint_rules import Role
from bot.domain.i18n import N_, Translator
from bot.domain.messages import Choice, Reply
from bot.domain.sla import (
    DAILY_KINDS,
    STAGE_LABELS,
    STAGES,
    Flagged,
    ReminderItem,
    SlaPolicy,
    recipients,
    reminders_due,
    split_audiences,
    stage_active,
    stage_deadline,
    sweep_windows,
)
from bot.domain.workdays import WorkCalendar
from scheduler.job_context import JobContext, JobResult, chunks

MAX_REMINDER_LINES = 30
MEMO_KEY = "sla_full_scan_day"

_KIND_ORDER = {"escalation": 0, "overdue": 1, "due": 2, "before": 3}
_HEADINGS = {
    "escalation": N_("🚨 Perlu perhatian koordinator — lewat batas {stage} {days} hari kerja atau lebih:"),
    "overdue": N_("⚠️ Lewat batas {stage}:"),
    "due": N_("⏰ Hari ini batas {stage}:"),
    "before": N_("⏰ Mendekati batas {stage} ({days} hari kerja lagi):"),
}


@lru_cache(maxsize=4096)
def _format_day(lang: str, day: date) -> str:
    return format_date(day, "EEE, d MMM yyyy", locale=lang)


def _short(text: str, n: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _reminder_line(t: Translator, item: ReminderItem, cal: WorkCalendar, role: str) -> str:
    c = item.complaint
    parts = [c.number]
    if item.due.kind == "escalation" or role == Role.COORDINATOR:
        parts.append(c.opd_code or t("Belum diarahkan"))
    deadline = stage_deadline(item.stage, c)
    parts.append(t("batas {date}", date=_format_day(t.lang, cal.local_date(deadline))))
    if item.due.overdue_days:
        parts.append(t("lewat {n} hari kerja", n=item.due.overdue_days))
    return "• " + " · ".join(parts) + f"\n  {_short(c.text, 70)}"


def reminder_reply(
    t: Translator,
    items: Sequence[ReminderItem],
    cal: WorkCalendar,
    policy: SlaPolicy,
    opd_names: dict[str, str],
    *,
    role: str,
    unstaffed: Sequence[str] = (),
) -> Reply:
    """One message listing a recipient's reminders, escalations first, most overdue first; then
    the OPDs among them that have no officer at all (``unstaffed``: nobody there hears of them)."""
    ordered = sorted(
        items, key=lambda i: (_KIND_ORDER[i.due.kind], STAGES.index(i.stage), -i.due.overdue_days, i.complaint.id)
    )
    lines: list[str] = []
    group = None
    for item in ordered[:MAX_REMINDER_LINES]:
        if (item.due.kind, item.stage) != group:
            group = (item.due.kind, item.stage)
            if lines:
                lines.append("")
            days = policy.margin if item.due.kind == "escalation" else policy.before_days
            lines.append(t(_HEADINGS[item.due.kind], stage=t(STAGE_LABELS[item.stage]), days=days))
        lines.append(_reminder_line(t, item, cal, role))
    if len(ordered) > MAX_REMINDER_LINES:
        lines.append(t("… dan {n} lainnya.", n=len(ordered) - MAX_REMINDER_LINES))
    lines += ["", *(no_officer_line(t, code, opd_names.get(code, code)) for code in unstaffed)]
    lines.append(
        t("Buka /triase atau /lihat <nomor>.") if role == Role.COORDINATOR else t("Buka /antrian untuk menanganinya.")
    )
    numbers = list(dict.fromkeys(i.complaint.number for i in ordered))[:5]
    invites = [Choice(t("✉️ Undang petugas {opd}", opd=code), f"/undang {code}") for code in unstaffed[:2]]
    escalation = any(i.due.kind == "escalation" for i in items)
    return Reply(
        text="\n".join(lines),
        title=t("Pengaduan terlambat") if escalation else t("Pengingat batas waktu pengaduan"),
        choices=(*(Choice(n, f"/lihat {n}") for n in numbers), *invites),
        purpose="notification",
    )


def no_officer_line(t: Translator, code: str, name: str) -> str:
    """An escalated OPD nobody can hear of: the coordinators are told how to get an officer in."""
    return t(
        "⚠️ {opd} belum punya petugas di Kanal, jadi tidak ada yang menerima pengingatnya. "
        "Undang petugasnya dengan /undang {code} (atau di server: kanal invite --role officer --opd {code}).",
        opd=name,
        code=code,
    )


def unstaffed_opds(items: Sequence[ReminderItem], staffed: set[str]) -> list[str]:
    """The OPDs of escalated complaints that have no officer (codes, sorted)."""
    codes = {i.complaint.opd_code for i in items if i.due.kind == "escalation" and i.complaint.opd_code}
    return sorted(codes - staffed)


async def _plan(ctx: JobContext, windows, result: JobResult) -> list[tuple[Sequence[int], Flagged]]:
    """Scan, and cut what was found into chunks: the coordinators' by complaint, the officers' by OPD."""
    async with ctx.db.unit_of_work() as uow:
        found = await uow.sla.scan(windows)
        opd_of = await uow.sla.opd_codes({cid for cid, _, _ in found}) if len(found) > ctx.chunk_size else {}
    to_coordinators, to_officers, candidates = split_audiences(found)
    result.add("candidates", candidates)
    plan = [(chunk, to_coordinators) for chunk in chunks(sorted(to_coordinators), ctx.chunk_size)]
    by_opd: dict[str, list[int]] = defaultdict(list)
    for cid in sorted(to_officers):
        by_opd[opd_of.get(cid) or ""].append(cid)
    plan += [(chunk, to_officers) for opd in sorted(by_opd) for chunk in chunks(by_opd[opd], ctx.chunk_size)]
    return plan


def _due_items(complaints, group: Flagged, now: datetime, cal: WorkCalendar, policy: SlaPolicy) -> list[ReminderItem]:
    planned: list[ReminderItem] = []
    for c in complaints:
        for stage, kinds in group[c.id].items():
            if not stage_active(stage, c.state, c.first_response_at):
                continue
            planned += [
                ReminderItem(c, stage, due)
                for due in reminders_due(stage, stage_deadline(stage, c), now, cal, policy)
                if due.kind in kinds
            ]
    return planned


def _inboxes(items: list[ReminderItem], staff: Sequence[Any], result: JobResult) -> dict[int, list[ReminderItem]]:
    """Each staff member's reminders (by user id)."""
    coordinators = [u for u in staff if u.role == Role.COORDINATOR]
    officers: dict[str, list] = defaultdict(list)
    for u in staff:
        if u.role == Role.OFFICER and u.opd_code:
            officers[u.opd_code].append(u)
    inbox: dict[int, list[ReminderItem]] = defaultdict(list)
    for item in items:
        targets = recipients(item, officers, coordinators)
        if not targets:
            result.add("without_recipient")
        for person in targets:
            inbox[person.id].append(item)
    return inbox


async def _send_chunk(
    ctx: JobContext, chunk: Sequence[int], group: Flagged, now: datetime, region: Any, result: JobResult
) -> None:
    cal = region.calendar
    policy = SlaPolicy.from_sla(region.sla, office_start=ctx.office_start, office_end=ctx.office_end)
    async with ctx.db.unit_of_work() as uow:
        planned = _due_items(await uow.sla.complaints(chunk), group, now, cal, policy)
        if not planned:
            return
        won = await uow.sla.record_reminders([p.key for p in planned], now)
        items = [p for p in planned if p.key in won]
        for item in items:
            result.add(item.due.kind)
        staff = await uow.sla.staff()
        people = {u.id: u for u in staff}
        staffed = {u.opd_code for u in staff if u.role == Role.OFFICER and u.opd_code}
        for uid, mine in _inboxes(items, staff, result).items():
            person = people[uid]
            t = ctx.notifier.translator_for(person)
            unstaffed = unstaffed_opds(mine, staffed) if person.role == Role.COORDINATOR else []
            reply = reminder_reply(t, mine, cal, policy, region.opd_names, role=person.role, unstaffed=unstaffed)
            result.add("messages", ctx.notify(uow.outbox, person, reply, now))
        await uow.commit()
    ctx.woke()


async def sla_sweep(ctx: JobContext) -> JobResult:
    """Record and send the reminders due at ``ctx.now()`` (see the module docstring)."""
    now = ctx.now()
    result = JobResult("sla", now)
    region = await ctx.region()
    policy = SlaPolicy.from_sla(region.sla, office_start=ctx.office_start, office_end=ctx.office_end)
    windows = sweep_windows(now, region.calendar, policy)
    if not windows:
        result.skipped = "outside office hours"
        return result
    today = region.calendar.local_date(now)
    full = ctx.memo.get(MEMO_KEY) != today
    if not full:
        windows = [w for w in windows if w.kind in DAILY_KINDS]
        result.note = "overdue and escalations already swept today"
    for chunk, group in await _plan(ctx, windows, result):
        await _send_chunk(ctx, chunk, group, now, region, result)
    if full:
        ctx.memo[MEMO_KEY] = today
    return result
