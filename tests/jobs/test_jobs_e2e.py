"""The scheduled jobs end to end: people in Telegram chats (PTB against the fake Bot API server),
the jobs run through the ``kanal jobs`` command as an operator would, on a fake clock; and on
PostgreSQL two scheduler instances over real jobs.

The app under test runs without its own scheduler (``scheduler_enabled=False``) so that only the
command decides when a job runs — except in the test of the wiring, where the app's elected
scheduler sweeps by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import random
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from PIL import Image
from sqlalchemy import select

from bot.domain.clock import ManualClock
from bot.domain.region import demo_region_path, load_region_file
from bot.domain.workdays import WorkCalendar
from bot.services.regions import store_region
from bot.settings import Settings
from scheduler.job_context import JobContext
from scheduler.job_sla import sla_sweep
from scheduler.leader import SCHEDULER_LOCK_KEY, Leadership
from scheduler.runner import JobRunner
from storage import Database, Repo
from storage.models import Complaint, OutboxMessage
from storage.skm_repo import SkmRepo
from storage.sla_repo import ANONYMISED_TEXT
from testkit.tg_chat import buttons, person, quiet, running, text_of
from tests.flows.test_complaints_e2e import ROAD, file_complaint

WIB = ZoneInfo("Asia/Jakarta")
CAL = WorkCalendar.from_region(load_region_file())
UNCLEAR = "Saya mau tanya prosedurnya bagaimana ya, bingung harus ke mana dulu."
PNG = b"\x89PNG\r\n\x1a\n"


def at_local(d: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(d, time(hh, mm), tzinfo=WIB)


@pytest.fixture
async def world(settings, clock):
    quiet_settings = Settings(**{**settings.__dict__, "scheduler_enabled": False})
    async with running(quiet_settings, clock=clock) as (tg, app):
        yield tg, app, clock


async def kanal(app, *argv: str) -> tuple[int, str]:
    """``kanal ARGS`` through the command's own parser and dispatcher, in this event loop (the
    process-level entry point ``bot.cli.main`` only adds ``asyncio.run`` and logging)."""
    from bot.cli import _dispatch, build_parser

    args = build_parser().parse_args(list(argv))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = await _dispatch(args, app.settings)
    return rc, out.getvalue()


async def run_job(app, clock: ManualClock, name: str, when: datetime) -> str:
    """Time passes to ``when``; the operator runs the job as of that instant; the bot delivers."""
    clock.set(when)
    rc, out = await kanal(app, "jobs", "run", name, "--at", when.isoformat())
    assert rc == 0, out
    return out


async def complaint(app, number: str) -> Complaint:
    async with app.db.unit_of_work() as uow:
        return (await uow.session.execute(select(Complaint).where(Complaint.number == number))).scalar_one()


# ---- SLA: reminder, escalation, no double sends ---------------------------------------------
async def test_unanswered_complaint_reminds_the_officer_then_escalates(world):
    tg, app, clock = world
    officer = await person(tg, app, 501, "Pak Rudi", role="officer", opd="PUPR")
    other = await person(tg, app, 601, "Petugas DLH", role="officer", opd="DLH")
    coord = await person(tg, app, 900, "Bu Koordinator", role="coordinator")
    citizen = await person(tg, app, 101, "Siti Aminah")
    number = await file_complaint(citizen, ROAD)
    assert number in text_of(await officer.settle())  # the new-complaint notice
    c = await complaint(app, number)

    # deadline − 1 working day: the officer is reminded, nobody else
    h1 = CAL.subtract_working_days(c.response_due_at, 1, at=time(10))
    out = await run_job(app, clock, "sla", h1)
    assert "before 1" in out and "messages 1" in out
    got = await officer.settle()
    assert len(got) == 1
    assert "Pengingat batas waktu pengaduan" in text_of(got) and "Mendekati batas tanggapan pertama" in text_of(got)
    assert number in text_of(got) and f"/lihat {number}" in buttons(got[-1])
    # the same job again, and a minute later: nothing new
    out = await run_job(app, clock, "sla", h1)
    assert "messages" not in out
    await run_job(app, clock, "sla", h1 + timedelta(minutes=1))
    await quiet(tg, app)
    assert officer.new() == [] and coord.new() == [] and citizen.new() == [] and other.new() == []

    # deadline + margin (2 working days past the completion deadline): the coordinators hear of it
    late = at_local(CAL.working_day_after(CAL.local_date(c.completion_due_at), 2), 10)
    out = await run_job(app, clock, "sla", late)
    assert "escalation 2" in out
    got = await coord.settle()
    assert len(got) == 1 and "Pengaduan terlambat" in text_of(got)
    assert (
        "Perlu perhatian koordinator — lewat batas penyelesaian 2 hari kerja" in text_of(got)
        and number in text_of(got)
        and "PUPR" in text_of(got)
    )
    got = await officer.settle()
    assert "Lewat batas penyelesaian" in text_of(got) and "lewat 2 hari kerja" in text_of(got)
    for _ in range(2):  # again: nothing new
        out = await run_job(app, clock, "sla", late + timedelta(minutes=5))
        assert "messages" not in out
    await quiet(tg, app)
    assert officer.new() == [] and coord.new() == [] and citizen.new() == [] and other.new() == []
    # the reminder's button works
    out = await officer.press(f"/lihat {number}")
    assert number in text_of(out) and "⚠️" in text_of(out)


# ---- the daily digest ------------------------------------------------------------------------
async def seed_skm(app, clock) -> None:
    """DLH-KEB: two questionnaires this semester (IKM 86,11), one last semester (75,00)."""
    async with app.db.unit_of_work() as uow:
        repo, skm = Repo(uow.session), SkmRepo(uow.session)
        rows = [
            ("S2", [4] * 9, clock.now() - timedelta(hours=1)),
            ("S2", [3, 3, 3, 3, 3, 3, 3, 3, 2], clock.now() - timedelta(minutes=30)),
            ("S1", [3] * 9, datetime(2026, 3, 2, 3, 0, tzinfo=WIB)),
        ]
        for i, (period, answers, finished) in enumerate(rows):
            user = await repo.get_or_create_user("web", f"resp{i}", finished)
            row = skm.start(
                user_id=user.id,
                unit_code="DLH-KEB",
                opd_code="DLH",
                service_code=None,
                channel="web",
                period_key=f"2026-{period}",
                now=finished - timedelta(minutes=5),
                profile={},
            )
            for k, v in enumerate(answers, start=1):
                setattr(row, f"u{k}", v)
            row.status, row.finished_at = "complete", finished
        await uow.commit()


async def small_sample_units(app) -> int:
    async with app.db.unit_of_work() as uow:
        populations = await SkmRepo(uow.session).populations("2026-S2")
    # none has an adequate sample yet: every unit whose population is known is listed
    return sum(1 for p in populations.values() if any(v is not None for v in (p if isinstance(p, tuple) else (p,))))


def photo_of(messages: list[dict]) -> bytes:
    photos = [m for m in messages if m["method"] == "sendPhoto"]
    assert len(photos) == 1, [m["method"] for m in messages]
    return photos[0]["media"]["data"]


async def test_daily_digest_with_chart_matches_the_data(world):
    tg, app, clock = world  # Monday 23 November 2026, 09:00 WIB
    coord = await person(tg, app, 900, "Bu Koordinator", role="coordinator")
    coord_en = await person(tg, app, 901, "Coordinator", role="coordinator")
    await coord_en.send("/bahasa en")
    coord_en.new()
    pupr = await person(tg, app, 501, "Pak Rudi", role="officer", opd="PUPR")
    dlh = await person(tg, app, 601, "Bu Dewi", role="officer", opd="DLH")
    citizen = await person(tg, app, 101, "Siti Aminah")
    await seed_skm(app, clock)
    road = await file_complaint(citizen, ROAD)  # auto-routed to PUPR
    unclear = await file_complaint(citizen, UNCLEAR)  # to triage
    await pupr.settle()
    await pupr.send(f"/balas {road} Terima kasih, kami cek besok.")  # first response on the day: 0 working days
    await citizen.settle()
    for chat in (coord, coord_en, pupr, dlh):
        chat.new()

    # Tuesday 07:00: the scheduled digest
    tuesday = at_local(date(2026, 11, 24), 7)
    out = await run_job(app, clock, "digest", tuesday)
    assert "coordinator 2" in out and "officer" not in out  # no OPD has anything overdue yet
    got = await coord.settle()
    text = text_of([m for m in got if m["method"] == "sendMessage"])
    assert "Ringkasan harian Sel, 24 Nov 2026" in text
    assert "Pengaduan baru sejak Sen, 23 Nov 2026 07:00: 2" in text and "Belum diarahkan 1 · PUPR 1" in text
    assert "(2 terbuka, 0 lewat batas)" in text
    assert "• PUPR: 1 terbuka, 0 lewat batas" in text and "• Belum diarahkan: 1 terbuka, 0 lewat batas" in text
    assert "Rata-rata tanggapan pertama (30 hari terakhir): 0,0 hari kerja sejak laporan masuk, dari 1 laporan." in text
    assert "SKM Semester II 2026: 2 responden, 2 baru sejak" in text
    assert "• DLH: IKM 86,11 (▲ 11,11) · 2 responden" in text
    assert f"Sampel SKM belum memadai ({await small_sample_units(app)} unit)" in text
    chart = photo_of(got)
    assert chart.startswith(PNG)
    with Image.open(io.BytesIO(chart)) as img:
        assert img.format == "PNG" and img.size == (1000, 520)
    got_en = await coord_en.settle()
    assert "Daily summary" in text_of(got_en) and "New complaints since" in text_of(got_en)
    assert photo_of(got_en).startswith(PNG) and photo_of(got_en) != chart  # its own language on the chart
    assert pupr.new() == [] and dlh.new() == []
    # again the same day: nothing
    out = await run_job(app, clock, "digest", tuesday + timedelta(minutes=30))
    assert "already_sent 2" in out and "messages" not in out
    # Saturday: no digest
    out = await run_job(app, clock, "digest", at_local(date(2026, 11, 28), 7))
    assert "not a working day" in out
    await quiet(tg, app)
    assert coord.new() == [] and coord_en.new() == []

    # Wednesday 2 December 07:00: the road's completion deadline (Mon 30) and the triage deadline
    # (Thu 26) have passed; PUPR's officer gets the short digest too, DLH's does not
    out = await run_job(app, clock, "digest", at_local(date(2026, 12, 2), 7))
    assert "coordinator 2" in out and "officer 1" in out
    text = text_of(await coord.settle())
    assert "Pengaduan baru sejak Sel, 1 Des 2026 07:00: 0" in text and "(2 terbuka, 2 lewat batas)" in text
    assert "• PUPR: 1 terbuka, 1 lewat batas" in text and "• Belum diarahkan: 1 terbuka, 1 lewat batas" in text
    text = text_of(await pupr.settle())
    assert "Dinas Pekerjaan Umum" in text and "1 pengaduan terbuka, 1 lewat batas." in text
    assert road in text and "lewat 2 hari kerja" in text and unclear not in text
    assert dlh.new() == []


async def test_first_digest_of_a_month_reports_last_months_routing(world):
    tg, app, clock = world  # Monday 23 November 2026
    coord = await person(tg, app, 900, "Bu Koordinator", role="coordinator")
    pupr = await person(tg, app, 501, "Pak Rudi", role="officer", opd="PUPR")
    citizen = await person(tg, app, 101, "Siti Aminah")
    road = await file_complaint(citizen, ROAD)  # straight to PUPR…
    await file_complaint(citizen, ROAD.replace("SDN 2", "SDN 3"))  # … and another, which stays
    unclear = await file_complaint(citizen, UNCLEAR)  # to triage
    await pupr.settle()
    await pupr.send(f"/kembalikan {road} Ini jalan provinsi, bukan kabupaten.")  # PUPR was the wrong place
    await coord.settle()
    await coord.send(f"/arahkan {road} DISHUB")
    await coord.send(f"/arahkan {unclear} DLH")
    coord.new()

    await run_job(app, clock, "digest", at_local(date(2026, 11, 24), 7))
    assert "Pengarahan laporan" not in text_of(await coord.settle())  # not the month's first working day
    # Tuesday 1 December 07:00: the first working day of the month
    await run_job(app, clock, "digest", at_local(date(2026, 12, 1), 7))
    text = text_of(await coord.settle())
    assert "🧭 Pengarahan laporan November 2026:" in text
    assert "langsung ke OPD oleh sistem: 2 dari 3 laporan (67%)" in text
    assert "dikembalikan atau diteruskan lagi oleh OPD: 1 dari 3 (33%)" in text
    assert "PUPR: 1 dari 2 salah alamat (50%)" in text
    assert "DLH:" not in text.split("🧭")[1]  # DLH kept what it got: not listed


async def test_ringkasan_on_request(world):
    tg, app, clock = world
    coord = await person(tg, app, 900, "Bu Koordinator", role="coordinator")
    pupr = await person(tg, app, 501, "Pak Rudi", role="officer", opd="PUPR")
    citizen = await person(tg, app, 101, "Siti Aminah")
    road = await file_complaint(citizen, ROAD)
    await pupr.settle()

    got = await coord.send("/ringkasan")
    assert "Pengaduan baru sejak" in text_of(got) and "• PUPR: 1 terbuka, 0 lewat batas" in text_of(got)
    assert photo_of(got).startswith(PNG)
    got = await pupr.send("/digest")
    assert "1 pengaduan terbuka, 0 lewat batas." in text_of(got) and not [m for m in got if m["method"] == "sendPhoto"]
    clock.set(at_local(date(2026, 12, 2), 9))
    got = await pupr.send("/ringkasan")
    # unanswered: the first-response deadline (Thu 26) is the one most overdue
    assert road in text_of(got) and "lewat 4 hari kerja" in text_of(got) and f"/lihat {road}" in buttons(got[-1])
    got = await citizen.send("/ringkasan")
    assert "hanya untuk" in text_of(got) and "PUPR" not in text_of(got)


# ---- auto-close and retention ----------------------------------------------------------------
async def test_autoclose_tells_the_citizen_and_retention_anonymises(world):
    tg, app, clock = world
    pupr = await person(tg, app, 501, "Pak Rudi", role="officer", opd="PUPR")
    citizen = await person(tg, app, 101, "Siti Aminah", username="siti_a")
    number = await file_complaint(citizen, ROAD, address="Jl. Merdeka No. 5, Desa Sukamaju")
    await pupr.settle()
    await pupr.send(f"/selesai {number} Lubang sudah ditambal hari ini.")
    await citizen.settle()

    # ten working days after Monday 23 November end with Monday 7 December
    out = await run_job(app, clock, "autoclose", at_local(date(2026, 12, 7), 8, 5))
    assert "nothing to do" in out
    out = await run_job(app, clock, "autoclose", at_local(date(2026, 12, 8), 8, 5))
    assert "closed 1" in out
    got = await citizen.settle()
    assert number in text_of(got) and "ditutup otomatis" in text_of(got) and "10 hari" in text_of(got)
    out = await run_job(app, clock, "autoclose", at_local(date(2026, 12, 8), 9))
    assert "nothing to do" in out
    got = await citizen.send(f"/status {number}")
    assert "Ditutup" in text_of(got)
    assert pupr.new() == []

    # 730 days (KANAL_RETENTION_DAYS) after closing: anonymised, the citizen's link is gone
    closed = (await complaint(app, number)).closed_at
    out = await run_job(app, clock, "retention", closed + timedelta(days=731))
    assert "anonymised 1" in out and "people_erased 1" in out  # the citizen, silent as long, too
    c = await complaint(app, number)
    assert (c.text, c.citizen_user_id, c.address, c.state, c.opd_code) == (
        ANONYMISED_TEXT,
        None,
        None,
        "ditutup",
        "PUPR",
    )
    got = await citizen.send(f"/status {number}")  # erased: a new conversation starts
    assert "UU No. 27/2022" in text_of(got) and "Jalan rusak" not in text_of(got)
    out = await run_job(app, clock, "retention", closed + timedelta(days=732))
    assert "nothing to do" in out


# ---- the command line as a real process ------------------------------------------------------
def test_jobs_command_in_a_real_process(db_url, tmp_path):
    from tests.e2e.test_cli import kanal as kanal_process

    env = {"KANAL_DATABASE_URL": db_url, "KANAL_DIGEST_TIME": "06:30"}
    out = kanal_process("jobs", "run", "sla", "--at", "2026-11-24T10:00", env=env, cwd=tmp_path)
    assert out.returncode == 1 and "no region loaded" in out.stderr and "Traceback" not in out.stderr
    assert kanal_process("region", "load", str(demo_region_path()), env=env, cwd=tmp_path).returncode == 0
    out = kanal_process("jobs", "list", "--at", "2026-11-23T06:00", env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    lines = {line.split()[0]: line for line in out.stdout.splitlines() if line.strip()}
    assert (
        "every 60 s" in lines["sla"]
        and "daily at 06:30 Asia/Jakarta" in lines["digest"]
        and "2026-11-23 06:30 WIB" in lines["digest"]
    )
    assert "08:05" in lines["autoclose"] and "02:30" in lines["retention"]
    out = kanal_process("jobs", "run", "sla", "--at", "2026-11-24T10:00", env=env, cwd=tmp_path)
    assert out.returncode == 0 and "sla as of 2026-11-24T03:00:00+00:00" in out.stdout, out.stderr
    out = kanal_process("jobs", "run", "sla", "--at", "besok pagi", env=env, cwd=tmp_path)
    assert out.returncode == 2 and "--at" in out.stderr and "Traceback" not in out.stderr
    out = kanal_process("jobs", "run", "nothing", env=env, cwd=tmp_path)
    assert out.returncode == 2 and "invalid choice" in out.stderr
    for args in (["jobs"], ["jobs", "run"], ["jobs", "list"]):
        out = kanal_process(*args, "--help", env={}, cwd=tmp_path)
        assert out.returncode == 0 and "usage: kanal jobs" in out.stdout, (args, out.stderr)
    assert "--at ISO-TIME" in kanal_process("jobs", "run", "--help", env={}, cwd=tmp_path).stdout


# ---- the running app's own scheduler ---------------------------------------------------------
async def test_the_running_app_sweeps_when_elected(db, settings):
    """Wiring: `kanal run` elects itself (SQLite: always) and its SLA sweep runs at once."""
    filed = at_local(date(2026, 11, 23), 9)
    clock = ManualClock(at_local(date(2026, 11, 25), 10))  # H-1 of the first-response deadline
    await store_region(db, load_region_file(), filed)
    async with db.unit_of_work() as uow:
        repo = Repo(uow.session)
        officer = await repo.get_or_create_user("telegram", "501", filed, display_name="Pak Rudi")
        officer.role, officer.opd_code, officer.consent_at = "officer", "PUPR", filed
        from storage.complaint_repo import ComplaintRepo

        c = await ComplaintRepo(uow.session).create(
            number_year=2026,
            citizen_user_id=None,
            channel="telegram",
            text=ROAD,
            privacy="biasa",
            state="disposisi",
            opd_code="PUPR",
            filed_at=filed,
            updated_at=filed,
            routed_at=filed,
            triage_due_at=CAL.add_working_days(filed, 3),
            response_due_at=CAL.add_working_days(filed, 3),
            completion_due_at=CAL.add_working_days(filed, 5),
            reopen_count=0,
        )
        await uow.commit()
    async with running(Settings(**{**settings.__dict__, "scheduler_enabled": True}), clock=clock) as (tg, app):
        got = await tg.wait_for_sent(1, chat_id=501, timeout=15)
        assert c.number in got[0]["visible_text"] and "Mendekati batas tanggapan pertama" in got[0]["visible_text"]
        assert app.leadership.is_leader
        async with aiohttp.ClientSession() as s, s.get(f"http://127.0.0.1:{app.port}/healthz") as resp:
            assert (await resp.json())["scheduler"] == "leader"
        names = [name for name, _, _ in app.jobs.list_jobs()]
        assert names[:4] == ["sla", "autoclose", "digest", "retention"]
    assert not app.leadership.is_leader  # stopped cleanly: stepped down


# ---- two instances on PostgreSQL -------------------------------------------------------------
PG_URL = os.environ.get("KANAL_TEST_DATABASE_URL") or None


async def until(condition, timeout: float = 15.0) -> bool:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not condition():
        if loop.time() > end:
            return False
        await asyncio.sleep(0.02)
    return True


@pytest.mark.skipif(not PG_URL, reason="advisory-lock election needs PostgreSQL: set KANAL_TEST_DATABASE_URL")
async def test_two_instances_one_leader_no_double_sends_and_takeover(db, settings):
    from bot.channels.registry import renderers as renderers_for
    from bot.engine.notify import Notifier
    from tests.domain.test_sla_rules import World

    await store_region(db, load_region_file(), at_local(date(2026, 11, 23), 9))
    world = World(db, settings)
    await world.person("c1")
    await world.person("501", role="officer", opd="PUPR")
    await world.person("900", role="coordinator")
    for _ in range(40):
        await world.complaint()
    clock = ManualClock(at_local(date(2026, 11, 30), 10))  # response overdue 2 (escalation), completion due today
    key = SCHEDULER_LOCK_KEY + random.randrange(1, 1 << 20)
    instances = []
    for name in ("a", "b"):
        idb = Database(PG_URL)
        ctx = JobContext(idb, settings, Notifier(renderers_for(None), languages=("id", "en")), clock=clock)
        leadership = Leadership(idb, key=key, interval=0.1, name=name)
        runner = JobRunner(leadership, ctx, timezone="Asia/Jakarta")
        runner.add_interval("sla", sla_sweep, 0.2)
        instances.append((idb, leadership, runner))
    try:
        for _, leadership, runner in instances:
            await runner.start()
            await leadership.start()
        assert await until(lambda: sum(l.is_leader for _, l, _ in instances) == 1)
        leader = next(i for i in instances if i[1].is_leader)
        follower = next(i for i in instances if not i[1].is_leader)
        assert await until(lambda: leader[2].stats("sla").runs >= 5)  # several sweeps by the leader
        assert follower[2].stats("sla").runs == 0 and not follower[1].is_leader

        async def sent() -> dict[str, int]:
            async with db.unit_of_work() as uow:
                rows = (await uow.session.execute(select(OutboxMessage.address, OutboxMessage.payload))).all()
            out: dict[str, int] = {}
            for address, payload in rows:
                title = (
                    "Pengaduan terlambat"
                    if "Pengaduan terlambat" in (payload.get("text") or "")
                    else "Pengingat batas waktu pengaduan"
                )
                if title in (payload.get("text") or ""):
                    out[address] = out.get(address, 0) + 1
            return out

        assert await sent() == {"501": 1, "900": 1}
        # the same sweep forced on both instances at once (as if leadership flapped): still once
        await asyncio.gather(*(sla_sweep(r.context) for _, _, r in instances))
        assert await sent() == {"501": 1, "900": 1}
        assert len(await world.reminders()) == 40 * 3  # response overdue + escalation, completion due

        # the leader stops; the other takes over and sends the next working day's reminders once
        await leader[1].stop()
        assert await until(lambda: follower[1].is_leader)
        clock.set(at_local(date(2026, 12, 1), 10))
        runs = follower[2].stats("sla").runs
        assert await until(lambda: follower[2].stats("sla").runs >= runs + 3)
        assert await sent() == {"501": 2, "900": 1}  # overdue again on Tuesday; the escalation stays one
        assert leader[2].stats("sla").failures == follower[2].stats("sla").failures == 0
    finally:
        for idb, leadership, runner in instances:
            await leadership.stop()
            await runner.stop()
            await idb.dispose()
