"""Issue 22 acceptance, by SMS: a citizen on a feature phone types every answer (numbers and words,
never a button) through the fake SMS gateway (``tests/fakes/sms_gateway.py``: SMS Gateway for
Android's local server and its signed webhooks, or a generic HTTP aggregator). They complete an
SKM questionnaire and a complaint with every turn within two SMS segments, follow it with
``status``, read the officer's answer (the officer works on Telegram), answer back in plain
words and rate the resolution. STOP holds back notifications but not replies; MULAI turns them on
again; a redelivered webhook is answered once; the daily cap ends in one notice; /hapusdata sends
the goodbye, then the number is gone; forum registration and "Sudah beres?" work typed too."""

from __future__ import annotations

import asyncio
import re
from contextlib import asynccontextmanager
from datetime import date, time, timedelta

import pytest
from sqlalchemy import select, text

from bot.app import KanalApp
from bot.channels.sms.sms_parse import normalise_number
from bot.channels.sms.sms_text import is_gsm, segments
from bot.domain.region import load_region_file
from bot.domain.workdays import WorkCalendar
from bot.settings import Settings
from storage.models import Complaint, OutboxMessage, SmsNumber, SmsUsage, SurveyResponse, User
from testkit.fakes.telegram_api import FakeTelegramServer
from testkit.sms_person import SmsPerson
from testkit.tg_chat import NUMBER_RE, person, text_of
from testkit.tg_chat import TOKEN as TG_TOKEN
from tests.fakes.sms_gateway import FakeSmsGateway
from tests.faults.test_erasure import leftovers
from tests.jobs.test_jobs_e2e import kanal, run_job

SIGNING_KEY = "kanal-sms-signing-key-7Qx"
PASSWORD = "kanal-sms-password-3Rt"
TOKEN = "kanal-aggregator-token-9Wz"
PHONE = "0857-1234-5678"  # as people write it
NUMBER = "+6285712345678"
ADDRESS = "Jalan Melati Gang Kenanga 5 RT 02, Cijambu"
CAL = WorkCalendar.from_region(load_region_file())
WATER = "Air PDAM tidak mengalir sejak tiga hari di rumah kami di Cijambu, kami tidak bisa memasak"


def sms_settings(settings: Settings, gw: FakeSmsGateway, **extra) -> Settings:
    if gw.mode == "android":
        sms = {"sms_transport": "android", "sms_gateway_url": gw.base_url, "sms_gateway_password": PASSWORD}
        secret = SIGNING_KEY
    else:
        send = gw.base_url + "/api/send?user=kanal&pass=" + PASSWORD + "&to={to}&text={text}&ref={ref}"
        sms = {"sms_transport": "aggregator", "sms_aggregator_send_url": send}
        secret = TOKEN
    return Settings(**{**settings.__dict__, **sms, "sms_webhook_secret": secret, "sms_rate": 0.0, **extra})


@asynccontextmanager
async def sms_world(settings: Settings, clock, *, mode: str = "android", gateway_options=None, **extra):
    """One KanalApp on Telegram (staff) and SMS (citizens), each against its fake server."""
    options = {"signing_key": SIGNING_KEY, "password": PASSWORD, "username": "kanal", **(gateway_options or {})}
    gateway = FakeSmsGateway(mode=mode, **options)
    async with FakeTelegramServer(token=TG_TOKEN) as tg, gateway as gw:
        s = sms_settings(settings, gw, **extra)
        s = Settings(**{**s.__dict__, "telegram_token": TG_TOKEN, "telegram_base_url": tg.base_url,
                        "telegram_global_rate": 0.0, "telegram_chat_rate": 0.0})  # fmt: skip
        if mode == "android":
            s = Settings(**{**s.__dict__, "sms_gateway_user": "kanal"})
        app = KanalApp(s, clock=clock)
        await app.start()
        if mode == "android":
            gw.webhook_url = f"http://127.0.0.1:{app.port}/webhooks/sms"
        else:
            gw.webhook_url = f"http://127.0.0.1:{app.port}/webhooks/sms?token={TOKEN}"
            gw.report_url = f"http://127.0.0.1:{app.port}/webhooks/sms/report?token={TOKEN}"
        try:
            yield tg, gw, app
        finally:
            await app.stop()


@pytest.fixture
async def world(settings, clock):
    async with sms_world(settings, clock) as w:
        yield w


def joined(texts: list[str]) -> str:
    return "\n---\n".join(texts)


async def consent(citizen: SmsPerson) -> None:
    out = await citizen.send("Halo")
    assert "persetujuan" in out[-1] and "SAYA SETUJU" in out[-1]
    out = await citizen.send("setuju")
    assert "1 Survei Kepuasan" in out[-1] and "2 Buat Pengaduan" in out[-1]


async def file_complaint(citizen: SmsPerson, complaint: str, privacy: str) -> str:
    out = await citizen.send("2")  # "Buat Pengaduan" by its number in the menu
    assert "Ceritakan masalah" in joined(out)
    out = await citizen.send(complaint)
    assert "Ketik alamatnya" in out[-1] and "foto" not in out[-1].lower()  # no photo comes by SMS: not asked
    out = await citizen.send(ADDRESS)
    assert "1 Biasa" in out[-1] and "3 Anonim" in out[-1]
    out = await citizen.send(privacy)
    assert "Kirim laporan ini?" in out[-1] and "Ke: Perumda Air Minum" in out[-1] and "foto" not in out[-1].lower()
    out = await citizen.send("kirim")
    numbers = set(NUMBER_RE.findall(joined(out)))
    assert len(numbers) == 1 and "PIN" in joined(out), out
    return numbers.pop()


async def test_sms_citizen_survey_and_complaint_all_typed_within_two_segments(world, db):
    tg, gw, app = world
    officer = await person(tg, app, 701, "Bu Ratna", role="officer", opd="PDAM")
    citizen = SmsPerson(gw, app, PHONE)
    await consent(citizen)

    # ---- SKM: every answer typed, numbers and words --------------------------------------------
    out = await citizen.send("survei")
    assert "instansi mana" in out[-1] and "BERIKUTNYA" in out[-1]
    out = await citizen.send("berikutnya")
    assert "1 Perumda Air Minum Tirta Sukamaju" in out[-1]
    out = await citizen.send("1")
    assert "2 Layanan Pelanggan Kantor Pusat" in out[-1]
    out = await citizen.send("layanan pelanggan kantor pusat")  # the unit by its words
    assert "Layanan apa" in out[-1]
    out = await citizen.send("1")
    assert "umur" in out[-1].lower() and "LEWATI SEMUA" in out[-1]
    out = await citizen.send("lewati semua")
    for i, answer in enumerate(["3", "sangat mudah", "4", "gratis", "3", "kompeten", "4", "baik", "4"]):
        assert f"Pertanyaan {i + 1} dari 9" in out[-1], out
        out = await citizen.send(answer)
    out = await citizen.send("Antrian di loket terlalu panjang pada hari Senin")  # the saran, in words
    assert "Terima kasih" in joined(out)
    async with db.unit_of_work() as uow:
        (survey,) = (await uow.session.execute(select(SurveyResponse))).scalars().all()
    assert (survey.channel, survey.status, survey.unit_code) == ("sms", "complete", "PDAM-PUSAT")
    assert [getattr(survey, f"u{n}") for n in range(1, 10)] == [3, 4, 4, 4, 3, 3, 4, 3, 4]
    assert survey.saran and "Antrian di loket" in survey.saran

    # ---- the complaint, then its status -------------------------------------------------------
    number = await file_complaint(citizen, WATER, "biasa")
    note = await officer.settle()
    assert number in text_of(note)
    out = await citizen.send("status")
    assert number in joined(out) and "Perumda Air Minum" in joined(out)
    out = await citizen.send(f"STATUS {number}")
    assert number in joined(out)

    # ---- the officer answers on Telegram; the citizen answers back in plain words -------------
    await officer.send(f"/balas {number} Petugas kami memperbaiki pipa di Cijambu hari ini.")
    got = await citizen.later()
    assert len(got) == 1 and "memperbaiki pipa di Cijambu" in got[0] and segments(got[0]) <= 2
    out = await citizen.send("Terima kasih pak, tapi air masih kecil sekali di rumah kami")
    assert f"Tambahkan pesan ini ke laporan Anda {number}?" in out[-1]
    out = await citizen.send("ya")
    note = await officer.settle()
    assert "air masih kecil sekali" in text_of(note)

    # ---- resolved; the citizen rates it by typing ---------------------------------------------
    await officer.send(f"/selesai {number} Tekanan air sudah normal kembali sejak pukul 10.00.")
    got = await citizen.later()
    assert "normal kembali" in joined(got) and "PUAS" in got[-1].upper()
    out = await citizen.send("puas")
    assert "ditutup" in joined(out)
    async with db.unit_of_work() as uow:
        c = (await uow.session.execute(select(Complaint).where(Complaint.number == number))).scalar_one()
        (user,) = (await uow.session.execute(select(User).where(User.channel == "sms"))).scalars().all()
    assert (c.channel, c.state, c.rating, c.opd_code) == ("sms", "ditutup", "puas", "PDAM")

    # every turn within two segments, in GSM-7 only; the person is a hashed key, never the number
    assert citizen.over_budget(2) == [], citizen.over_budget(2)
    assert all(is_gsm(m.text) for m in gw.sent)
    assert user.external_id.startswith("s") and user.phone is None and "857" not in user.external_id
    async with db.unit_of_work() as uow:
        addresses = set((await uow.session.execute(select(OutboxMessage.address).where(
            OutboxMessage.channel == "sms"))).scalars().all())  # fmt: skip
        kept = (await uow.session.execute(select(SmsNumber))).scalars().all()
        used = (await uow.session.execute(select(SmsUsage).where(SmsUsage.key == ""))).scalars().all()
    assert addresses == {user.external_id} and [(k.key, k.number) for k in kept] == [(user.external_id, NUMBER)]
    spent = sum(segments(m.text) for m in gw.sent)
    assert sum(u.segments for u in used) == spent

    # ---- the coordinator reads the month's SMS cost in /kinerja (Rp 350 a segment by default) ------
    coordinator = await person(tg, app, 703, "Pak Hendra", role="coordinator")
    out = await coordinator.send("/kinerja")
    rupiah = f"{spent * 350:,}".replace(",", ".")
    line = f"SMS sejak 1 Nov 2026: {len(gw.sent)} pesan, {spent} segmen, perkiraan biaya Rp {rupiah}."
    assert line in text_of(out)
    out = await coordinator.send("/ringkasan")  # the daily digest says it too
    assert line in text_of(out)


async def test_stop_holds_back_notifications_not_replies_and_mulai_turns_them_on(world, db):
    tg, gw, app = world
    officer = await person(tg, app, 702, "Bu Ratna", role="officer", opd="PDAM")
    citizen = SmsPerson(gw, app, PHONE)
    await consent(citizen)
    number = await file_complaint(citizen, WATER, "biasa")
    await officer.settle()

    out = await citizen.send("STOP")
    assert "tidak mengirim SMS pemberitahuan lagi" in joined(out) and "MULAI" in joined(out)
    await officer.send(f"/balas {number} Petugas kami datang besok pagi.")
    assert await citizen.later() == []  # not sent
    async with db.unit_of_work() as uow:
        row = (await uow.session.execute(select(OutboxMessage).where(
            OutboxMessage.purpose == "notification", OutboxMessage.channel == "sms"))).scalars().one()  # fmt: skip
    assert row.status == "failed" and "STOP" in (row.last_error or "")
    out = await citizen.send("status")  # a reply still goes
    assert number in joined(out)

    out = await citizen.send("Mulai")
    assert "aktif lagi" in joined(out)
    await officer.send(f"/balas {number} Petugas kami sudah di lokasi.")
    got = await citizen.later()
    assert len(got) == 1 and "sudah di lokasi" in got[0]


async def test_a_redelivered_webhook_is_answered_once(world, db):
    _, gw, app = world
    citizen = SmsPerson(gw, app, PHONE)
    await citizen.send("Halo")
    event_id = gw.webhook_attempts[-1][0]
    assert await gw.redeliver(event_id) == 200
    await citizen.settle()
    assert citizen.new() == []  # the same SMS again: no second answer
    assert len(gw.sent) == 1


async def test_numbers_that_are_not_mobiles_are_never_answered(world, db):
    _, gw, app = world
    for sender in ("TELKOMSEL", "3636", "+622112345678"):
        assert await gw.receive(sender, "Sisa pulsa Anda Rp 1.000. Isi ulang sekarang!") == 200
    await SmsPerson(gw, app, PHONE).settle()
    assert gw.sent == []


async def test_the_daily_cap_ends_in_one_notice(settings, clock, db):
    async with sms_world(settings, clock, sms_daily_cap=5) as (_, gw, app):
        citizen = SmsPerson(gw, app, PHONE)
        await citizen.send("Halo")  # consent: 2 segments
        await citizen.send("setuju")  # thanks + menu: 3 → 5 segments
        out = await citizen.send("bantuan")
        assert len(out) == 1 and "Batas SMS hari ini sudah habis" in out[0]
        assert await citizen.send("menu", expect_answer=False) == []
        async with db.unit_of_work() as uow:
            (user,) = (await uow.session.execute(select(User).where(User.channel == "sms"))).scalars().all()
            failed = (await uow.session.execute(select(OutboxMessage).where(OutboxMessage.status == "failed"))).scalars().all()  # fmt: skip
        assert user.consent_at is not None  # the turns ran: only the replies were held back
        assert failed and all("daily cap" in (r.last_error or "") for r in failed)


async def test_hapusdata_by_sms_sends_the_goodbye_then_the_number_is_gone(world, db):
    _, gw, app = world
    citizen = SmsPerson(gw, app, PHONE)
    await consent(citizen)
    await file_complaint(citizen, WATER, "biasa")
    out = await citizen.send("hapusdata")
    assert "Tindakan ini tidak bisa dibatalkan" in joined(out)
    out = await citizen.send("ya")
    assert "sudah dihapus" in joined(out)
    digits = re.sub(r"\D", "", NUMBER)
    # every column of every table, read from the database: no number (as any gateway writes it), no address
    assert await leftovers(db, [digits, digits[2:], "0" + digits[2:], ADDRESS]) == []
    async with db.unit_of_work() as uow:
        assert (await uow.session.execute(select(SmsNumber))).scalars().all() == []


async def test_retention_erases_a_silent_sms_citizen_and_the_number_goes_within_the_hour(settings, clock, db):
    digits = re.sub(r"\D", "", NUMBER)
    async with sms_world(settings, clock) as (_, gw, app):
        citizen = SmsPerson(gw, app, PHONE)
        await consent(citizen)
        await citizen.send(ADDRESS)  # something of theirs in the conversation
        later = clock.now() + timedelta(days=settings.retention_days + 1)
        out = await run_job(app, clock, "retention", later)
        assert "people_erased" in out, out
        async with db.unit_of_work() as uow:  # no goodbye after retention: the number waits for the prune
            (kept,) = (await uow.session.execute(select(SmsNumber))).scalars().all()
        assert kept.erased_at is not None
        out = await run_job(app, clock, "dedupe_prune", later + timedelta(hours=1, minutes=1))
        assert "sms_numbers_forgotten" in out, out
    assert await leftovers(db, [digits, digits[2:], "0" + digits[2:], ADDRESS]) == []


async def test_aggregator_transport_with_delivery_reports(settings, clock, db):
    async with sms_world(settings, clock, mode="aggregator") as (_, gw, app):
        citizen = SmsPerson(gw, app, PHONE)
        await consent(citizen)
        await gw.wait_idle()
        await citizen.settle()
        async with db.unit_of_work() as uow:
            rows = (await uow.session.execute(select(OutboxMessage).where(OutboxMessage.channel == "sms"))).scalars().all()  # fmt: skip
        assert rows and all(r.status == "sent" and r.delivery_status == "delivered" for r in rows)
        assert {r.platform_message_id for r in rows} == {m.id for m in gw.sent}
        assert normalise_number(gw.sent[0].to) == NUMBER


async def test_forum_registration_and_sudah_beres_by_sms(settings, clock, db, monkeypatch):
    monkeypatch.setattr("bot.domain.clock.SystemClock.now", lambda self: clock.now())  # the CLI's "now"
    async with sms_world(settings, clock) as (tg, gw, app):
        officer = await person(tg, app, 704, "Bu Ratna", role="officer", opd="PDAM")
        citizen = SmsPerson(gw, app, PHONE)
        await consent(citizen)
        rc, out = await kanal(app, "forum", "create", "--opd", "DLH", "--title", "Forum Pengelolaan Sampah",
                              "--topic", "Jadwal angkut sampah", "--at", "2026-12-05 09:00",
                              "--place", "Balai Desa Sukamaju", "--capacity", "30")  # fmt: skip
        assert rc == 0, out
        out = await citizen.send("forum")
        assert "1 #1 Forum Pengelolaan Sampah" in out[-1]
        out = await citizen.send("1")
        assert "Balai Desa Sukamaju" in out[-1] and "1 Daftar" in out[-1]
        out = await citizen.send("daftar")
        assert 'Anda terdaftar di forum #1 "Forum Pengelolaan Sampah"' in out[-1]
        out = await citizen.send("menu")
        assert "2 Buat Pengaduan" in out[-1]

        number = await file_complaint(citizen, WATER, "biasa")
        await officer.settle()
        await officer.send(f"/selesai {number} Aliran air sudah normal kembali.")
        assert "PUAS" in (await citizen.later())[-1].upper()
        await citizen.send("puas")
        when = CAL.start_of_day(date(2026, 11, 30), time(9))  # PDAM: 5 working days after closing
        clock.set(when)
        rc, out = await kanal(app, "jobs", "run", "fixed_check", "--at", when.isoformat())
        assert "asked 1" in out, out
        got = await citizen.later()
        assert len(got) == 1 and number in got[0] and "Sudah beres?" in got[0] and "SUDAH" in got[0].upper()
        out = await citizen.send("sudah")
        assert "sudah beres" in joined(out).lower()
        assert citizen.over_budget(2) == []
    async with db.unit_of_work() as uow:
        rsvps = (await uow.session.execute(text("select status from forum_rsvps"))).scalars().all()
        c = (await uow.session.execute(select(Complaint).where(Complaint.number == number))).scalar_one()
    assert rsvps == ["registered"] and c.fixed_answer == "sudah"


async def test_the_gateways_rate_limit_and_failures_delay_but_lose_nothing(settings, clock, db):
    """The phone takes an SMS every 2 seconds (429 with Retry-After beyond), fails the next send with a 503
    and drops a connection; one number's SMS is reported failed by the network. Every person gets
    their consent exactly once; the failed one is marked on its outbox row."""
    async with sms_world(settings, clock, gateway_options={"rate_per_second": 0.5, "burst": 1}) as (_, gw, app):
        gw.fail_next(503, retry_after=1)
        gw.fail_next("reset")
        gw.fail_delivery("081299990000")
        phones = [f"08129999000{i}" for i in range(6)]
        people = [SmsPerson(gw, app, p) for p in phones]
        for p in phones:
            assert await gw.receive(p, "Halo") == 200
        for _ in range(300):  # the outbox's retries come due on the test's clock
            if len(gw.sent) >= len(phones):
                break
            clock.advance(timedelta(seconds=2))
            app.outbox.wake()
            await asyncio.sleep(0.1)
        for person_ in people:
            await person_.settle()
        await gw.wait_idle()
        assert sorted(normalise_number(m.to) for m in gw.sent) == sorted(normalise_number(p) for p in phones)
        assert all("persetujuan" in m.text for m in gw.sent) and gw.rate_limited > 0
        async with db.unit_of_work() as uow:
            rows = (await uow.session.execute(select(OutboxMessage))).scalars().all()
        assert all(r.status == "sent" for r in rows) and len(rows) == len(phones)
        failed = [r for r in rows if r.delivery_status == "failed"]
        assert len(failed) == 1 and "RESULT_ERROR_GENERIC_FAILURE" in (failed[0].last_error or "")


async def test_staff_codes_are_not_taken_by_sms(world, db):
    tg, gw, app = world
    citizen = SmsPerson(gw, app, PHONE)
    await consent(citizen)
    out = await citizen.send("gabung ABCD-EFGH-2345")
    assert "Telegram, WhatsApp atau web chat" in out[-1]
    async with db.unit_of_work() as uow:
        (user,) = (await uow.session.execute(select(User).where(User.channel == "sms"))).scalars().all()
    assert user.role == "citizen"
