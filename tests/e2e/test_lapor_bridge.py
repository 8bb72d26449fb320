"""The SP4N-LAPOR! bridge end to end: people in Telegram chats (PTB against the fake Bot API), the
``lapor_sync`` job on a fake clock, a fake LAPOR! server (tests/fakes/lapor_server.py) counting
every report it was sent."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.domain.clock import ManualClock
from bot.services.lapor_client import LaporClient
from bot.settings import Settings
from scheduler.job_context import JobContext
from scheduler.job_lapor_sync import UPSTREAM, lapor_sync
from storage import Database
from storage.models import Complaint, LaporLink, LaporQueueRow
from testkit.tg_chat import NUMBER_RE, person, running, text_of
from tests.fakes.lapor_server import FakeLaporServer
from tests.flows.test_complaints_e2e import ROAD, file_complaint

TOKEN = "lapor-KEYTOKEN-9xQ2wZ7mLpR4"
MINUTE = timedelta(minutes=1)
LAMP = "Lampu penerangan jalan umum di Jalan Diponegoro mati sejak seminggu, gelap dan rawan kecelakaan."


@pytest.fixture
async def world(settings, clock):
    async with FakeLaporServer(token=TOKEN) as lapor:
        s = Settings(
            **{**settings.__dict__, "lapor_url": lapor.base_url, "lapor_token": TOKEN, "complaints_per_day": 0}
        )
        async with running(s, clock=clock) as (tg, app):
            yield lapor, tg, app, clock


def job_context(app, clock: ManualClock, **memo) -> JobContext:
    return JobContext(app.db, app.settings, app.dispatcher.notifier, clock=clock, wake=app.outbox.wake, memo=memo)


async def run_sync(app, clock: ManualClock, **memo):
    result = await lapor_sync(job_context(app, clock, **memo))
    await app.outbox.drain()
    return result


async def queue_rows(db: Database) -> list[LaporQueueRow]:
    async with db.unit_of_work() as uow:
        return list((await uow.session.execute(select(LaporQueueRow).order_by(LaporQueueRow.id))).scalars())


async def link_of(db: Database, number: str) -> LaporLink | None:
    async with db.unit_of_work() as uow:
        c = (await uow.session.execute(select(Complaint).where(Complaint.number == number))).scalar_one()
        return await uow.lapor.link_of(c.id)


async def test_push_pull_round_trip(world):
    lapor, tg, app, clock = world
    officer = await person(tg, app, 501, "Pak Rudi", role="officer", opd="PUPR")
    citizen = await person(tg, app, 101, "Siti Aminah", username="siti_a")
    number = await file_complaint(citizen, ROAD, address="Jl. Merdeka No. 5, Desa Sukamaju")
    await officer.settle()

    # the create call was queued in the filing's own transaction
    assert [(r.kind, r.status) for r in await queue_rows(app.db)] == [("create", "pending")]
    result = await run_sync(app, clock)
    assert result.counts["sent"] == 1, result
    assert lapor.creates[number] == 1
    link = await link_of(app.db, number)
    assert link is not None and link.origin == "kanal"
    sent = lapor.reports[link.tracking_id].body
    assert (sent["content"], sent["anonymous"], sent["confidential"]) == (ROAD, 0, 0)
    assert (sent["reporter_name"], sent["topic_id"], sent["instansi_id"]) == ("Siti Aminah", "34", "1001")
    assert sent["location"] == "Jl. Merdeka No. 5, Desa Sukamaju"
    raw = json.dumps([body for _, body in lapor.calls])
    assert "siti_a" not in raw and '"101"' not in raw and "phone" not in raw

    # the citizen sees the LAPOR! page in /status
    out = await citizen.send(f"/status {number}")
    assert f"https://www.lapor.go.id/pengaduan/{link.tracking_id}" in text_of(out)

    # the officer's answer goes to LAPOR! (with the status change it makes)
    await officer.send(f"/balas {number} Tim kami meninjau lokasi besok pagi.")
    await citizen.settle()
    clock.advance(MINUTE)
    result = await run_sync(app, clock)
    assert result.counts["sent"] == 2  # the answer, then the status change it made
    report = lapor.reports[link.tracking_id]
    assert [f["content"] for f in report.followups] == ["Tim kami meninjau lokasi besok pagi."]
    assert report.followups[0]["role"] == "instansi"

    # LAPOR!'s admin moves the report: pulled (after the poll interval) into the history, once
    lapor.set_status(link.tracking_id, "proses")
    clock.advance(timedelta(minutes=6))
    result = await run_sync(app, clock)
    assert result.counts.get("pulled_status") == 1, result
    clock.advance(timedelta(minutes=6))
    async with app.db.unit_of_work() as uow:  # the cursor lost: the same update again changes nothing
        await uow.lapor.set_state("cursor", None, clock.now())
        await uow.commit()
    result = await run_sync(app, clock)
    assert result.counts.get("pulled_unchanged") == 1 and "pulled_status" not in result.counts, result
    async with app.db.unit_of_work() as uow:
        c = await uow.complaints.get(number)
        actions = [e.action for e in await uow.complaints.events(c.id)]
    assert actions.count("lapor_status") == 1
    out = await citizen.send(f"/status {number}")
    assert "SP4N-LAPOR!: Status di SP4N-LAPOR!" in text_of(out) and "Dalam proses" in text_of(out)
    # nothing pulled was sent back
    assert [(r.kind, r.status) for r in await queue_rows(app.db)] == [
        ("create", "done"),
        ("answer", "done"),
        ("status", "done"),
    ]
    assert report.statuses == ["proses"]  # the answer's status change, sent by Kanal


async def test_privacy_is_carried_to_lapor(world):
    lapor, tg, app, clock = world
    citizen = await person(tg, app, 102, "Budi Santoso", username="budi_s")
    anon = await file_complaint(citizen, ROAD, privacy="anonim")
    secret = await file_complaint(citizen, ROAD + " Mohon dirahasiakan.", privacy="rahasia")
    await run_sync(app, clock)
    bodies = {b["external_ref"]: b for name, b in lapor.calls if name == "create"}
    assert (bodies[anon]["anonymous"], bodies[anon]["confidential"]) == (1, 0)
    assert (bodies[secret]["anonymous"], bodies[secret]["confidential"]) == (1, 1)
    raw = json.dumps(list(bodies.values()))
    assert "Budi" not in raw and "budi_s" not in raw and "reporter_name" not in raw


async def test_disposed_in_lapor_lands_in_the_opd_queue(world):
    lapor, tg, app, clock = world
    officer = await person(tg, app, 601, "Bu Dewi", role="officer", opd="DISHUB")
    coord = await person(tg, app, 900, "Bu Koordinator", role="coordinator")
    tracking = lapor.dispose(LAMP, instansi_id="1008")  # Dishub's instansi in the demo region
    elsewhere = lapor.dispose("Pungutan liar di kantor yang tidak kami kenal sama sekali.", instansi_id="7777")
    secret = lapor.dispose("Oknum petugas meminta uang pelicin.", instansi_id="1008", confidential=True)

    result = await run_sync(app, clock)
    assert result.counts["pulled_created"] == 3, result
    note = text_of(await officer.settle())
    assert "SP4N-LAPOR!" in note and tracking in note and "Lampu penerangan" in note
    number = NUMBER_RE.findall(note)[0]
    out = await officer.send("/antrian")
    assert number in text_of(out)
    async with app.db.unit_of_work() as uow:
        c = await uow.complaints.get(number)
        assert (c.channel, c.citizen_user_id, c.opd_code, c.state) == ("lapor", None, "DISHUB", "disposisi")
        other = await uow.lapor.by_tracking_id(elsewhere)
        o = await uow.complaints.get_by_id(other.complaint_id)
        assert (o.state, o.opd_code, o.route_reason) == ("triase", None, "lapor")
        hidden = await uow.complaints.get_by_id((await uow.lapor.by_tracking_id(secret)).complaint_id)
        assert hidden.privacy == "rahasia"
    assert "7777" not in note
    assert "Pungutan liar" in text_of(await coord.settle())
    out = text_of(await officer.send(f"/lihat {number}"))
    assert "Pelapor: warga lewat SP4N-LAPOR!" in out and f"TrackingID {tracking}" in out
    assert "SP4N-LAPOR!: Laporan diterima" in out

    # pulled again (the cursor lost): nothing new, nobody told twice
    clock.advance(timedelta(minutes=6))
    async with app.db.unit_of_work() as uow:
        await uow.lapor.set_state("cursor", None, clock.now())
        await uow.commit()
    result = await run_sync(app, clock)
    assert "pulled_created" not in result.counts, result
    async with app.db.unit_of_work() as uow:
        n = (await uow.session.execute(select(func.count()).select_from(Complaint))).scalar_one()
    assert n == 3
    # the officer answers in Kanal: LAPOR! hears it, no second report is created
    await officer.send(f"/balas {number} Petugas kami memperbaiki lampunya hari ini.")
    clock.advance(MINUTE)
    result = await run_sync(app, clock)
    assert result.counts["sent"] == 2 and not lapor.creates  # the answer and its status change
    assert lapor.reports[tracking].followups[0]["content"] == "Petugas kami memperbaiki lampunya hari ini."


async def test_ten_minute_outage_fifty_complaints_each_pushed_once(world):
    lapor, tg, app, clock = world
    citizen = await person(tg, app, 103, "Rina", username="rina")
    await lapor.outage("refuse")
    numbers: list[str] = []
    for minute in range(10):
        for i in range(5):
            numbers.append(await file_complaint(citizen, f"{ROAD} (laporan {minute}-{i})"))
        result = await run_sync(app, clock)
        assert "sent" not in result.counts
        clock.advance(MINUTE)
    assert len(numbers) == 50
    await lapor.outage("503")  # the server answers again, but with 503
    clock.advance(timedelta(minutes=15))
    result = await run_sync(app, clock)
    assert "sent" not in result.counts and result.counts.get("retry") == 1
    await lapor.recover()
    lapor.rate_limit(1, retry_after=120)  # then a 429 with Retry-After
    clock.advance(timedelta(minutes=15))
    result = await run_sync(app, clock)
    assert result.counts.get("retry") == 1 and "sent" not in result.counts
    clock.advance(timedelta(seconds=60))
    result = await run_sync(app, clock)  # Retry-After not over yet: nothing is tried
    assert not result.counts.get("sent") and not result.counts.get("retry")
    clock.advance(timedelta(seconds=61))
    result = await run_sync(app, clock)
    assert result.counts.get("sent") == 50, result
    assert sorted(lapor.creates) == sorted(numbers) and set(lapor.creates.values()) == {1}
    assert all(r.status == "done" for r in await queue_rows(app.db))
    # a new process (restart) with a new job: nothing is sent again
    calls = len([c for c in lapor.calls if c[0] == "create"])
    restarted = Database(app.settings.database_url)
    restarted.lapor_bridge = True
    try:
        ctx = JobContext(restarted, app.settings, app.dispatcher.notifier, clock=clock)
        clock.advance(MINUTE)
        await lapor_sync(ctx)
    finally:
        await restarted.dispose()
    assert len([c for c in lapor.calls if c[0] == "create"]) == calls


class CrashAfterSend(LaporClient):
    """LAPOR! got the report, then the process died before the commit."""

    async def push_new(self, report):
        await super().push_new(report)
        raise SystemExit("crash")


async def test_crash_between_send_and_commit_creates_no_second_report(world):
    lapor, tg, app, clock = world
    citizen = await person(tg, app, 104, "Andi", username="andi")
    number = await file_complaint(citizen, ROAD)
    crashing = CrashAfterSend(lapor.base_url, TOKEN)
    try:
        with pytest.raises(SystemExit):
            await run_sync(app, clock, **{UPSTREAM: crashing})
    finally:
        await crashing.close()
    assert lapor.creates[number] == 1 and await link_of(app.db, number) is None
    clock.advance(MINUTE)
    result = await run_sync(app, clock)  # after the restart: LAPOR! answers the report it has
    assert result.counts["sent"] == 1
    assert lapor.creates[number] == 1 and len(lapor.reports) == 1
    link = await link_of(app.db, number)
    assert link is not None and link.tracking_id == lapor.by_ref[number]


async def test_refused_call_is_kept_and_shown_and_blocks_the_complaints_next_calls(world):
    lapor, tg, app, clock = world
    officer = await person(tg, app, 502, "Pak Rudi", role="officer", opd="PUPR")
    coord = await person(tg, app, 901, "Bu Koordinator", role="coordinator")
    citizen = await person(tg, app, 105, "Wati", username="wati")
    number = await file_complaint(citizen, ROAD)
    await officer.settle()
    lapor.fail_next(422, "invalid_topic")
    result = await run_sync(app, clock)
    assert result.counts["failed"] == 1
    told = text_of(await coord.settle())
    assert f"SP4N-LAPOR! menolak laporan baru untuk laporan {number}: HTTP 422" in told
    assert "kanal lapor retry" in told
    await officer.send(f"/balas {number} Sedang kami cek.")
    clock.advance(MINUTE)
    result = await run_sync(app, clock)
    assert "sent" not in result.counts  # the answer waits behind the refused create
    from tests.jobs.test_jobs_e2e import kanal

    rc, out = await kanal(app, "lapor", "status")
    assert rc == 0 and "failed 1" in out and number in out and "HTTP 422" in out and TOKEN not in out
    rc, out = await kanal(app, "lapor", "retry")
    assert rc == 0 and "1 refused" in out
    clock.advance(MINUTE)
    result = await run_sync(app, clock)
    assert result.counts["sent"] == 3 and lapor.creates[number] == 1  # create, answer, status
    assert coord.new() == []  # told once
    out = text_of(await officer.send(f"/lihat {number}"))
    assert f"SP4N-LAPOR!: TrackingID {lapor.by_ref[number]}" in out


async def test_erasure_drops_queued_calls_and_empties_sent_ones(world):
    lapor, tg, app, clock = world
    officer = await person(tg, app, 503, "Pak Rudi", role="officer", opd="PUPR")
    citizen = await person(tg, app, 106, "Joko Widodo", username="joko_w")
    number = await file_complaint(citizen, ROAD)
    await officer.settle()
    await run_sync(app, clock)
    await officer.send(f"/balas {number} Pak Joko Widodo, tim kami datang besok.")
    clock.advance(MINUTE)
    await run_sync(app, clock)
    await officer.send(f"/balas {number} Pak Joko Widodo, tim kami datang lusa.")  # still queued
    assert [r.status for r in await queue_rows(app.db)] == ["done", "done", "done", "pending"]
    await citizen.send("/hapusdata")
    await citizen.send("ya")  # typed, not pressed
    rows = await queue_rows(app.db)
    assert [(r.kind, r.status, r.payload) for r in rows] == [
        ("create", "done", {}),
        ("answer", "done", {}),
        ("status", "done", {}),
    ]
    clock.advance(MINUTE)
    await run_sync(app, clock)
    assert len(lapor.reports[lapor.by_ref[number]].followups) == 1  # the queued answer never left


async def test_token_never_in_logs_or_errors(world, caplog):
    lapor, tg, app, clock = world
    citizen = await person(tg, app, 107, "Sari", username="sari")
    await file_complaint(citizen, ROAD)
    caplog.set_level(logging.DEBUG)
    await lapor.outage("refuse")
    await run_sync(app, clock)
    await lapor.recover()
    clock.advance(timedelta(hours=1))
    wrong = Settings(**{**app.settings.__dict__, "lapor_token": "wrong-token-123456"})
    ctx = JobContext(app.db, wrong, app.dispatcher.notifier, clock=clock)
    result = await lapor_sync(ctx)
    assert result.counts.get("retry") == 1 and "KEYTOKEN refused" in result.note  # the bridge waits
    assert [r.status for r in await queue_rows(app.db)] == ["pending"]
    stored = " ".join(r.last_error or "" for r in await queue_rows(app.db))
    assert "KEYTOKEN refused" in stored
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    for text in (logged, stored, repr(app.settings), str(app.settings), repr(LaporClient(lapor.base_url, TOKEN))):
        assert TOKEN not in text and "wrong-token-123456" not in text
    assert ("KANAL_LAPOR_TOKEN", "****") in [(v, s) for v, s, _ in app.settings.describe()]


async def test_the_job_is_off_without_url_and_token(db, settings, clock):
    from bot.channels.registry import renderers
    from bot.engine.notify import Notifier

    ctx = JobContext(db, settings, Notifier(renderers(None), languages=("id", "en")), clock=clock)
    result = await lapor_sync(ctx)
    assert result.skipped == "off: set KANAL_LAPOR_URL and KANAL_LAPOR_TOKEN"
    assert not Settings(**{**settings.__dict__, "lapor_url": "https://www.lapor.go.id"}).lapor_enabled
    assert not db.lapor_bridge


async def test_whatsapp_reporter_sees_the_lapor_page_and_name_is_sent_only_for_biasa(settings, clock):
    from tests.flows.test_whatsapp_flows import CITIZEN, CITIZEN_NAME, WATER, WaPerson, both_channels
    from tests.flows.test_whatsapp_flows import file_complaint as wa_file

    async with FakeLaporServer(token=TOKEN) as lapor:
        s = Settings(**{**settings.__dict__, "lapor_url": lapor.base_url, "lapor_token": TOKEN})
        async with both_channels(s, clock) as (_tg, wa, app):
            dewi = WaPerson(wa, app, CITIZEN, CITIZEN_NAME)
            await dewi.send("Halo")
            await dewi.tap(value="consent:yes")
            number, _ = await wa_file(dewi, WATER, "Biasa")
            await run_sync(app, clock)
            body = lapor.reports[lapor.by_ref[number]].body
            assert body["reporter_name"] == CITIZEN_NAME and body["instansi_id"] == "1012"  # PDAM
            assert CITIZEN not in json.dumps([b for _, b in lapor.calls])  # never the phone number
            out = await dewi.send(f"status {number}")  # typed, no slash
            shown = " ".join(m.get("text", "") for m in out)
            assert f"https://www.lapor.go.id/pengaduan/{lapor.by_ref[number]}" in shown
