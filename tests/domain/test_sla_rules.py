"""SLA reminders, escalation, auto-close and retention rules with a fake clock (no sleeping).

The pure decisions (``bot.domain.sla``) first, checked day by day and against the SQL scan windows
they must agree with; then the jobs on the database (SQLite and PostgreSQL): what is recorded,
who is told, and that a re-run, a second instance or a moved deadline behaves.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.channels.registry import renderers as renderers_for
from bot.domain import sla
from bot.domain.clock import ManualClock
from bot.domain.region import load_region_file
from bot.domain.sla import Due, SlaPolicy, reminders_due, sweep_windows
from bot.domain.workdays import WorkCalendar
from bot.engine.notify import Notifier
from bot.services.regions import store_region
from scheduler.job_autoclose import autoclose
from scheduler.job_context import JobContext
from scheduler.job_retention import retention
from scheduler.job_sla import sla_sweep
from storage import Database, Repo
from storage.complaint_repo import ComplaintRepo
from storage.models import AuditEvent, Complaint, ComplaintEvent, ComplaintPhoto, OutboxMessage, User
from storage.sla_repo import ANONYMISED_TEXT, SlaRepo

WIB = ZoneInfo("Asia/Jakarta")
CAL = WorkCalendar("Asia/Jakarta", {date(2026, 12, 24): "Cuti bersama Natal"})
POLICY = SlaPolicy()  # one working day before, escalation after 2 working days overdue


def local(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=WIB)


def end(y: int, m: int, d: int) -> datetime:
    return CAL.end_of_day(date(y, m, d))


def kinds(
    stage: str, deadline: datetime, now: datetime, policy: SlaPolicy = POLICY, cal: WorkCalendar = CAL
) -> list[tuple[str, int]]:
    return [(d.kind, d.overdue_days) for d in reminders_due(stage, deadline, now, cal, policy)]


# =============================================================================================
# Pure rules
# =============================================================================================
def test_office_hours_only_on_working_days():
    assert sla.in_office_hours(local(2026, 11, 26, 8, 0), CAL, POLICY)
    assert sla.in_office_hours(local(2026, 11, 26, 15, 59), CAL, POLICY)
    assert not sla.in_office_hours(local(2026, 11, 26, 7, 59), CAL, POLICY)
    assert not sla.in_office_hours(local(2026, 11, 26, 16, 0), CAL, POLICY)
    assert not sla.in_office_hours(local(2026, 11, 28), CAL, POLICY)  # Saturday
    assert not sla.in_office_hours(local(2026, 12, 25), CAL, POLICY)  # Natal
    assert not sla.in_office_hours(local(2026, 12, 24), CAL, POLICY)  # the region's cuti bersama


def test_completion_deadline_day_by_day():
    deadline = end(2026, 11, 27)  # Friday
    assert kinds("completion", deadline, local(2026, 11, 25)) == []  # H-2
    assert kinds("completion", deadline, local(2026, 11, 26, 7, 59)) == []  # H-1 before office hours
    assert kinds("completion", deadline, local(2026, 11, 26, 8, 0)) == [("before", 0)]  # H-1
    assert kinds("completion", deadline, local(2026, 11, 27, 15, 0)) == [("due", 0)]  # the day itself
    assert kinds("completion", deadline, local(2026, 11, 28)) == []  # Saturday: nobody reminded
    assert kinds("completion", deadline, local(2026, 11, 29)) == []  # Sunday
    assert kinds("completion", deadline, local(2026, 11, 30)) == [("overdue", 1)]  # Monday: 1 working day late
    assert kinds("completion", deadline, local(2026, 12, 1)) == [("overdue", 2), ("escalation", 2)]  # margin reached
    assert kinds("completion", deadline, local(2026, 12, 2)) == [("overdue", 3), ("escalation", 3)]


def test_monday_deadline_is_reminded_on_friday():
    deadline = end(2026, 11, 30)
    assert kinds("response", deadline, local(2026, 11, 27, 9)) == [("before", 0)]
    assert kinds("response", deadline, local(2026, 11, 26, 15)) == []


def test_long_weekend_around_christmas():
    # Thu 24 Dec cuti bersama, Fri 25 Natal, weekend: a Monday-28 deadline is H-1 on Wednesday 23
    deadline = end(2026, 12, 28)
    assert kinds("completion", deadline, local(2026, 12, 22)) == []
    assert kinds("completion", deadline, local(2026, 12, 23)) == [("before", 0)]
    assert kinds("completion", deadline, local(2026, 12, 24)) == []
    assert kinds("completion", deadline, local(2026, 12, 28)) == [("due", 0)]
    # overdue across the new year: Tue 29, Wed 30, Thu 31, (Fri 1 Jan holiday), Mon 4 Jan
    assert kinds("completion", deadline, local(2026, 12, 29)) == [("overdue", 1)]
    assert kinds("completion", deadline, local(2027, 1, 1)) == []
    assert kinds("completion", deadline, local(2027, 1, 4)) == [("overdue", 4), ("escalation", 4)]


def test_triage_has_no_escalation_and_policies_change_the_days():
    deadline = end(2026, 11, 27)
    assert kinds("triage", deadline, local(2026, 12, 4)) == [("overdue", 5)]
    assert kinds("completion", deadline, local(2026, 11, 30), SlaPolicy(escalation_margin=0)) == [
        ("overdue", 1),
        ("escalation", 1),
    ]
    assert kinds("completion", deadline, local(2026, 11, 26), SlaPolicy(before_days=0)) == []
    assert kinds("completion", deadline, local(2026, 11, 25), SlaPolicy(before_days=2)) == [("before", 0)]
    assert kinds("completion", deadline, local(2026, 11, 24), SlaPolicy(before_days=2)) == []
    assert kinds("completion", deadline, local(2026, 12, 2), SlaPolicy(escalation_margin=4)) == [("overdue", 3)]
    assert kinds("completion", None, local(2026, 12, 2)) == []


def test_idempotency_keys():
    deadline = end(2026, 11, 27)
    before = reminders_due("completion", deadline, local(2026, 11, 26, 9), CAL, POLICY)[0]
    due = reminders_due("completion", deadline, local(2026, 11, 27, 9), CAL, POLICY)[0]
    assert before.seq == due.seq == sla.day_number(date(2026, 11, 27)) * 1000
    # once per deadline: a later sweep the same day has the same key
    assert reminders_due("completion", deadline, local(2026, 11, 26, 15), CAL, POLICY)[0] == before
    mon = reminders_due("completion", deadline, local(2026, 11, 30, 9), CAL, POLICY)
    tue = reminders_due("completion", deadline, local(2026, 12, 1, 9), CAL, POLICY)
    wed = reminders_due("completion", deadline, local(2026, 12, 2, 9), CAL, POLICY)
    # overdue: one key per working day late; escalation: one key per deadline
    assert [d.seq for d in (mon[0], tue[0], wed[0])] == [before.seq + 1, before.seq + 2, before.seq + 3]
    assert tue[1].seq == wed[1].seq == before.seq
    # a deadline that moves gets fresh keys
    moved = reminders_due("completion", end(2026, 12, 4), local(2026, 12, 3, 9), CAL, POLICY)[0]
    assert moved.kind == "before" and moved.seq != before.seq


def _in_window(w, deadline: datetime) -> bool:
    return (w.due_from is None or deadline >= w.due_from) and (w.due_before is None or deadline < w.due_before)


@pytest.mark.parametrize(
    "policy", [POLICY, SlaPolicy(before_days=2, escalation_margin=3), SlaPolicy(before_days=0, escalation_margin=1)]
)
@pytest.mark.parametrize("working", [True, False])
def test_scan_windows_select_exactly_the_deadlines_the_rules_remind(policy, working):
    """The SQL side (ranges per stage and kind) and the pure rule agree for every pair of
    (deadline day, sweep instant) over seven weeks with a long weekend and a year end."""
    cal = WorkCalendar("Asia/Jakarta", {date(2026, 12, 24): "Cuti bersama Natal"}, working_days=working)
    first = date(2026, 12, 7)
    deadlines = [cal.add_days(cal.start_of_day(first), n) for n in range(0, 45)]
    checked = 0
    for day in range(0, 50):
        for hh, mm in ((7, 30), (8, 0), (12, 0), (16, 30)):
            now = datetime.combine(first + timedelta(days=day), time(hh, mm), tzinfo=WIB)
            windows = sweep_windows(now, cal, policy)
            for stage in sla.STAGES:
                for deadline in deadlines:
                    want = {d.kind for d in reminders_due(stage, deadline, now, cal, policy)}
                    got = {w.kind for w in windows if w.stage == stage and _in_window(w, deadline)}
                    assert got == want, (stage, deadline, now)
                    checked += 1
    assert checked == 50 * 4 * 3 * 45


@pytest.mark.parametrize("days,working", [(10, True), (1, True), (0, True), (10, False), (0, False)])
def test_autoclose_scan_bound_matches_the_rule(days, working):
    nows = [datetime.combine(date(2026, 12, 1) + timedelta(days=i), time(8, 5), tzinfo=WIB) for i in range(0, 40)]
    resolved = [
        datetime.combine(date(2026, 11, 20) + timedelta(days=i), time(hh), tzinfo=WIB)
        for i in range(0, 50)
        for hh in (0, 9, 23)
    ]
    for now in nows:
        bound = sla.autoclose_bound(now, CAL, days, working)
        for r in resolved:
            assert sla.autoclose_due(r, now, CAL, days, working) == (r < bound), (r, now)


def test_autoclose_window_in_working_days():
    resolved = local(2026, 11, 23, 10)  # Monday: ten working days end on Monday 7 December
    assert not sla.autoclose_due(resolved, local(2026, 12, 7, 23, 59), CAL, 10, True)
    assert sla.autoclose_due(resolved, local(2026, 12, 8, 0, 1), CAL, 10, True)
    assert sla.autoclose_due(resolved, local(2026, 12, 4, 8, 5), CAL, 10, False)  # calendar days: end of 3 Dec


def test_digest_days_and_window():
    assert sla.digest_day(local(2026, 11, 28, 7), CAL) is None  # Saturday: no digest
    assert sla.digest_day(local(2026, 12, 24, 7), CAL) is None  # cuti bersama
    assert sla.digest_day(local(2026, 11, 30, 7), CAL) == date(2026, 11, 30)
    # Monday's digest covers the weekend: new since Friday 07:00
    assert sla.digest_window_start(local(2026, 11, 30, 7), CAL, time(7)) == local(2026, 11, 27, 7)
    assert sla.digest_window_start(local(2026, 12, 28, 7), CAL, time(7)) == local(2026, 12, 23, 7)
    assert sla.retention_bound(local(2026, 11, 30, 2, 30), 730) == local(2024, 11, 30, 2, 30)


class _C:
    def __init__(self, opd):
        self.opd_code = opd


def test_who_hears_of_a_reminder():
    officers = {"PUPR": ["o1", "o2"]}
    coords = ["k1"]
    item = lambda stage, kind, opd="PUPR": sla.ReminderItem(_C(opd), stage, Due(kind, 1))  # noqa: E731
    assert sla.recipients(item("completion", "before"), officers, coords) == ["o1", "o2"]
    assert sla.recipients(item("response", "overdue"), officers, coords) == ["o1", "o2"]
    assert sla.recipients(item("completion", "escalation"), officers, coords) == ["k1"]
    assert sla.recipients(item("triage", "overdue", None), officers, coords) == ["k1"]
    assert sla.recipients(item("completion", "due", "DLH"), officers, coords) == []


# =============================================================================================
# The jobs on the database
# =============================================================================================
REGION = load_region_file()
RCAL = WorkCalendar.from_region(REGION)
FILED = local(2026, 11, 23, 9)  # Monday


class World:
    def __init__(self, db: Database, settings) -> None:
        self.db = db
        self.settings = settings
        self.people: dict[str, User] = {}

    def ctx(self, at: datetime, db: Database | None = None) -> JobContext:
        return JobContext(
            db or self.db, self.settings, Notifier(renderers_for(None), languages=("id", "en")), clock=ManualClock(at)
        )

    async def sweep(self, at: datetime, db: Database | None = None):
        return await sla_sweep(self.ctx(at, db))

    async def person(
        self, key: str, *, role: str = "citizen", opd: str | None = None, lang: str = "id", channel: str = "telegram"
    ) -> User:
        async with self.db.unit_of_work() as uow:
            u = await Repo(uow.session).get_or_create_user(channel, key, FILED, display_name=f"Orang {key}")
            u.role, u.opd_code, u.language, u.consent_at = role, opd, lang, FILED
            await uow.commit()
        self.people[key] = u
        return u

    async def complaint(
        self,
        *,
        opd: str | None = "PUPR",
        state: str | None = None,
        filed: datetime = FILED,
        citizen: str = "c1",
        **values,
    ) -> Complaint:
        state = state or ("disposisi" if opd else "triase")
        due = lambda n: RCAL.add_working_days(filed, n)  # noqa: E731
        async with self.db.unit_of_work() as uow:
            c = await ComplaintRepo(uow.session).create(
                number_year=2026,
                citizen_user_id=self.people[citizen].id if citizen in self.people else None,
                channel="telegram",
                text=values.pop("text", "Jalan rusak parah di depan sekolah, mohon segera diperbaiki."),
                privacy="biasa",
                state=state,
                opd_code=opd,
                filed_at=filed,
                updated_at=filed,
                routed_at=filed if opd else None,
                triage_due_at=due(3),
                response_due_at=due(3),
                completion_due_at=due(5),
                reopen_count=0,
                **values,
            )
            await uow.commit()
        return c

    async def outbox(self) -> dict[str, list[str]]:
        """Texts sent per address (external id), in order."""
        async with self.db.unit_of_work() as uow:
            rows = (await uow.session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars().all()
        out: dict[str, list[str]] = {}
        for r in rows:
            out.setdefault(r.address, []).append(r.payload.get("text") or r.payload.get("method", ""))
        return out

    async def reminders(self) -> list[tuple[int, str, str, int]]:
        async with self.db.unit_of_work() as uow:
            return [(r.complaint_id, r.stage, r.kind, r.seq) for r in await SlaRepo(uow.session).reminders()]


@pytest.fixture
async def world(db, settings):
    await store_region(db, REGION, FILED)
    w = World(db, settings)
    await w.person("c1")
    await w.person("501", role="officer", opd="PUPR")
    await w.person("502", role="officer", opd="PUPR")
    await w.person("601", role="officer", opd="DLH")
    await w.person("900", role="coordinator")
    await w.person("901", role="coordinator", lang="en")
    return w


def _new(before: dict[str, list[str]], after: dict[str, list[str]]) -> dict[str, list[str]]:
    return {k: v[len(before.get(k, [])) :] for k, v in after.items() if len(v) > len(before.get(k, []))}


async def test_sweep_day_by_day_reminds_officers_and_escalates_once(world):
    c = await world.complaint()
    assert (c.response_due_at, c.completion_due_at) == (end(2026, 11, 26), end(2026, 11, 30))
    expect = {  # day → {address: fragments}, for the sweep at 10:00
        date(2026, 11, 24): {},
        date(2026, 11, 25): {
            "501": ["Mendekati batas tanggapan pertama"],
            "502": ["Mendekati batas tanggapan pertama"],
        },
        date(2026, 11, 26): {"501": ["Hari ini batas tanggapan pertama"], "502": ["Hari ini"]},
        date(2026, 11, 27): {
            "501": ["Lewat batas tanggapan pertama", "lewat 1 hari kerja", "Mendekati batas penyelesaian"],
            "502": ["Lewat batas"],
        },
        date(2026, 11, 28): {},
        date(2026, 11, 30): {
            "501": ["lewat 2 hari kerja", "Hari ini batas penyelesaian"],
            "502": ["Hari ini"],
            "900": ["Perlu perhatian koordinator", "tanggapan pertama", "PUPR"],
            "901": ["Needs the coordinators' attention", "first response"],
        },
        date(2026, 12, 1): {
            "501": ["lewat 3 hari kerja", "Lewat batas penyelesaian", "lewat 1 hari kerja"],
            "502": ["Lewat batas"],
        },
        date(2026, 12, 2): {
            "501": ["lewat 4 hari kerja", "lewat 2 hari kerja"],
            "502": ["Lewat batas"],
            "900": ["Perlu perhatian koordinator", "penyelesaian"],
            "901": ["Needs the coordinators' attention", "completion"],
        },
        date(2026, 12, 3): {"501": ["lewat 5 hari kerja", "lewat 3 hari kerja"], "502": ["Lewat batas"]},
    }
    for day, wanted in expect.items():
        seen = await world.outbox()
        for hh, mm in ((7, 0), (10, 0), (10, 1), (15, 59), (16, 30)):  # only the 10:00 sweep may add anything
            await world.sweep(datetime.combine(day, time(hh, mm), tzinfo=WIB))
        new = _new(seen, await world.outbox())
        assert set(new) == set(wanted), (day, new)
        for address, fragments in wanted.items():
            assert len(new[address]) == 1, (day, address, new[address])  # one message per person and sweep
            for fragment in fragments:
                assert fragment in new[address][0], (day, address, fragment, new[address][0])
            assert c.number in new[address][0]
        assert "501" not in new or "Jalan rusak parah" in new["501"][0]
    assert "601" not in await world.outbox()  # another OPD's officer hears nothing
    rows = await world.reminders()
    assert [r for r in rows if r[2] == "escalation"] == [
        (c.id, "completion", "escalation", sla.day_number(date(2026, 11, 30)) * 1000),
        (c.id, "response", "escalation", sla.day_number(date(2026, 11, 26)) * 1000),
    ]
    assert len(rows) == len(set(rows)) == 2 + 1 + 5 + 2 + 1 + 3  # before/due ×2, overdue, escalations


async def test_answered_and_resolved_complaints_stop_their_reminders(world):
    answered = await world.complaint()
    resolved = await world.complaint()
    async with world.db.unit_of_work() as uow:
        for c in await SlaRepo(uow.session).complaints([answered.id, resolved.id]):
            c.first_response_at = FILED + timedelta(hours=1)
            if c.id == resolved.id:
                c.state, c.resolved_at = "selesai", FILED + timedelta(hours=2)
        await uow.commit()
    result = await world.sweep(local(2026, 11, 26))  # response due today, completion H-2
    assert result.counts.get("messages", 0) == 0
    result = await world.sweep(local(2026, 11, 27))  # completion H-1: only the open one
    assert result.counts == {"candidates": 1, "before": 1, "messages": 2}
    assert {r[0] for r in await world.reminders()} == {answered.id}


async def test_triage_reminders_go_to_coordinators(world):
    c = await world.complaint(opd=None)
    result = await world.sweep(local(2026, 11, 25))
    assert result.counts.get("before") == 1
    new = await world.outbox()
    assert set(new) == {"900", "901"} and "pemeriksaan awal" in new["900"][0] and c.number in new["900"][0]
    await world.sweep(local(2026, 12, 3))  # overdue 5 working days: daily reminder, never an escalation
    assert not [r for r in await world.reminders() if r[2] == "escalation"]


async def test_a_moved_deadline_is_reminded_afresh(world):
    c = await world.complaint()
    await world.sweep(local(2026, 11, 27))  # completion H-1
    assert sum(1 for r in await world.reminders() if r[1:3] == ("completion", "before")) == 1
    async with world.db.unit_of_work() as uow:  # reopened: a new completion deadline (Fri 4 Dec)
        row = (await SlaRepo(uow.session).complaints([c.id]))[0]
        row.state, row.completion_due_at, row.first_response_at = "tindak_lanjut", end(2026, 12, 4), FILED
        await uow.commit()
    result = await world.sweep(local(2026, 12, 3))
    assert result.counts.get("before") == 1
    assert sum(1 for r in await world.reminders() if r[1:3] == ("completion", "before")) == 2


async def test_outside_office_hours_the_sweep_reads_nothing(world):
    await world.complaint()
    for at in (local(2026, 11, 28), local(2026, 12, 25), local(2026, 11, 30, 6), local(2026, 11, 30, 17)):
        result = await world.sweep(at)
        assert result.skipped == "outside office hours" and not result.counts
    assert await world.reminders() == [] and await world.outbox() == {}


async def test_reminder_without_officers_is_recorded_and_counted(world):
    await world.complaint(opd="DINKES")  # no officer has joined DINKES yet
    result = await world.sweep(local(2026, 11, 25))
    assert result.counts["without_recipient"] == 1 and result.counts["before"] == 1
    assert await world.outbox() == {}
    assert len(await world.reminders()) == 1


async def test_concurrent_sweeps_send_each_reminder_once(world, db_url):
    for _ in range(30):
        await world.complaint()
    others = [Database(db_url) for _ in range(3)]
    try:
        results = await asyncio.gather(*(world.sweep(local(2026, 12, 2), db) for db in [world.db, *others]))
    finally:
        for other in others:
            await other.dispose()
    # response: overdue 4 + escalation; completion: overdue 2 + escalation — for 30 complaints
    assert sum(r.counts.get("overdue", 0) for r in results) == 60
    assert sum(r.counts.get("escalation", 0) for r in results) == 60
    rows = await world.reminders()
    assert len(rows) == len(set(rows)) == 120
    sent = await world.outbox()
    # one message to each PUPR officer and each coordinator: one sweep won the chunk, the others
    # got nothing back from their INSERT … ON CONFLICT DO NOTHING and stayed silent
    # (a long message is split into several Telegram messages: count the titles)
    titles = {
        "501": "Pengingat batas waktu pengaduan",
        "502": "Pengingat batas waktu pengaduan",
        "900": "Pengaduan terlambat",
        "901": "Overdue complaints",
    }
    assert set(sent) == set(titles)
    for address, title in titles.items():
        assert "".join(sent[address]).count(title) == 1, address
    assert "… dan 30 lainnya." in "".join(sent["501"])  # 60 items, the first 30 listed
    again = await world.sweep(local(2026, 12, 2, 11))
    assert again.counts.get("messages", 0) == 0


async def test_autoclose_closes_after_the_window_and_tells_the_citizen(world):
    open_ = await world.complaint()
    done = await world.complaint()
    rated = await world.complaint()
    async with world.db.unit_of_work() as uow:
        for c in await SlaRepo(uow.session).complaints([done.id, rated.id]):
            c.state, c.first_response_at, c.resolved_at = "selesai", FILED, FILED + timedelta(hours=1)
            if c.id == rated.id:
                c.state, c.rating, c.closed_at = "ditutup", "puas", FILED + timedelta(hours=2)
        await uow.commit()
    ctx = lambda at: world.ctx(at)  # noqa: E731
    assert (await autoclose(ctx(local(2026, 12, 7, 8, 5)))).counts == {}  # the window's last day
    result = await autoclose(ctx(local(2026, 12, 8, 8, 5)))
    assert result.counts == {"closed": 1, "messages": 1}
    assert (await autoclose(ctx(local(2026, 12, 9, 8, 5)))).counts == {}  # once
    sent = await world.outbox()
    assert list(sent) == ["c1"] and done.number in sent["c1"][0] and "ditutup otomatis" in sent["c1"][0]
    async with world.db.unit_of_work() as uow:
        states = dict((await uow.session.execute(select(Complaint.id, Complaint.state))).all())
        events = (
            (await uow.session.execute(select(ComplaintEvent).where(ComplaintEvent.complaint_id == done.id)))
            .scalars()
            .all()
        )
        audit = (
            (await uow.session.execute(select(AuditEvent).where(AuditEvent.action == "complaint_autoclose")))
            .scalars()
            .all()
        )
    assert states == {open_.id: "disposisi", done.id: "ditutup", rated.id: "ditutup"}
    assert [(e.action, e.actor_role, e.from_state, e.to_state) for e in events] == [
        ("autoclose", "system", "selesai", "ditutup")
    ]
    assert [a.subject_id for a in audit] == [done.number]


async def test_retention_anonymises_closed_complaints_and_keeps_statistics(world):
    old = await world.complaint(
        text="Nama saya Budi, HP 08123456789, rumah di Jl. Melati 3.",
        address="Jl. Melati 3",
        latitude=-6.2,
        longitude=106.8,
    )
    recent = await world.complaint()
    still_open = await world.complaint()
    async with world.db.unit_of_work() as uow:
        s = uow.session
        for c in await SlaRepo(s).complaints([old.id, recent.id]):
            c.state, c.rating, c.resolved_at = "ditutup", "puas", FILED
            c.closed_at = FILED if c.id == old.id else FILED + timedelta(days=700)
        repo = ComplaintRepo(s)
        row = (await SlaRepo(s).complaints([old.id]))[0]
        repo.add_event(
            complaint=row,
            at=FILED,
            actor_user_id=world.people["c1"].id,
            actor_role="citizen",
            action="filed",
            text="Nama saya Budi",
        )
        repo.add_event(
            complaint=row,
            at=FILED,
            actor_user_id=world.people["501"].id,
            actor_role="officer",
            action="answer",
            text="Pak Budi, sudah kami cek",
        )
        repo.add_photo(
            complaint_id=old.id,
            channel="telegram",
            file_ref="AgAC-file",
            mime_type="image/jpeg",
            size=1000,
            caption="rumah saya",
            now=FILED,
        )
        Repo(s).audit(
            at=FILED,
            action="complaint_filed",
            actor_user_id=world.people["c1"].id,
            subject_type="complaint",
            subject_id=old.number,
        )
        await uow.commit()
    result = await retention(world.ctx(local(2028, 11, 23, 2, 30)))  # 730 days after closing, plus a little
    assert result.counts == {"anonymised": 1}
    assert (await retention(world.ctx(local(2028, 11, 24, 2, 30)))).counts == {}  # once
    async with world.db.unit_of_work() as uow:
        s = uow.session
        rows = {c.id: c for c in await SlaRepo(s).complaints([old.id, recent.id, still_open.id])}
        events = (
            (
                await s.execute(
                    select(ComplaintEvent).where(ComplaintEvent.complaint_id == old.id).order_by(ComplaintEvent.id)
                )
            )
            .scalars()
            .all()
        )
        photos = (await s.execute(select(func.count()).select_from(ComplaintPhoto))).scalar_one()
        filed_audit = (await s.execute(select(AuditEvent).where(AuditEvent.action == "complaint_filed"))).scalar_one()
    o = rows[old.id]
    assert (o.text, o.citizen_user_id, o.address, o.latitude, o.longitude) == (ANONYMISED_TEXT, None, None, None, None)
    assert (o.number, o.opd_code, o.state, o.rating, o.filed_at, o.closed_at) == (
        old.number,
        "PUPR",
        "ditutup",
        "puas",
        FILED,
        FILED,
    )
    assert o.anonymised_at is not None and photos == 0 and filed_audit.actor_user_id is None
    assert [(e.actor_role, e.actor_user_id, e.text) for e in events] == [
        ("citizen", None, None),
        ("officer", world.people["501"].id, None),
    ]
    assert rows[recent.id].text != ANONYMISED_TEXT and rows[recent.id].citizen_user_id is not None
    assert rows[still_open.id].anonymised_at is None
    assert await world.outbox() == {}  # retention tells nobody


async def test_one_process_scans_the_overdue_ranges_once_a_day(world):
    """Overdue status changes at midnight: after a complete sweep, the same context scans only the
    before/due ranges for the rest of the day; a fresh context (restart, new leader, `kanal jobs
    run`) and the next day scan everything again."""
    first = await world.complaint()
    ctx = world.ctx(local(2026, 12, 1, 9))
    result = await sla_sweep(ctx)
    assert result.counts["overdue"] == 2 and result.note is None
    late = await world.complaint(filed=local(2026, 11, 16, 9))  # overdue already, but created after the sweep
    ctx.clock.set(local(2026, 12, 1, 9, 1))
    result = await sla_sweep(ctx)
    assert "overdue" not in result.counts and result.note == "overdue and escalations already swept today"
    assert "(overdue and escalations already swept today)" in str(result)
    result = await world.sweep(local(2026, 12, 1, 9, 2))  # a fresh context
    assert result.counts["overdue"] == 2 and result.note is None
    assert {r[0] for r in await world.reminders() if r[2] == "overdue"} == {first.id, late.id}
    ctx.clock.set(local(2026, 12, 2, 9))  # the next day: the same context scans everything again
    result = await sla_sweep(ctx)
    assert result.counts["overdue"] == 4 and result.note is None


async def test_many_reminders_are_grouped_by_recipient(world):
    """Chunks (transactions) group the officers' reminders by OPD and the coordinators' apart, so
    a person gets one message per chunk of *their* complaints, not one per chunk of the region's."""
    for _ in range(25):
        await world.complaint(opd="PUPR")
        await world.complaint(opd="DLH")
    ctx = world.ctx(local(2026, 12, 2))
    ctx.chunk_size = 10
    result = await sla_sweep(ctx)
    assert result.counts["candidates"] == 50 and result.counts["escalation"] == 100 and result.counts["overdue"] == 100
    sent = await world.outbox()
    titles = {
        address: "".join(texts).count("Pengingat batas waktu pengaduan")
        + "".join(texts).count("Pengaduan terlambat")
        + "".join(texts).count("Overdue complaints")
        for address, texts in sent.items()
    }
    # officers: 25 complaints of their OPD in chunks of 10; coordinators: 50 escalated complaints
    assert titles == {"501": 3, "502": 3, "601": 3, "900": 5, "901": 5}
    async with world.db.unit_of_work() as uow:
        pupr = set((await uow.session.execute(select(Complaint.number).where(Complaint.opd_code == "PUPR"))).scalars())
    assert pupr and not any(number in "".join(sent["601"]) for number in pupr)  # DLH's officer: DLH's complaints only
