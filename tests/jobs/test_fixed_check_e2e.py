"""“Sudah beres?” end to end on Telegram: a complaint filed, answered, resolved and rated "puas";
the ``fixed_check`` job, run through ``kanal jobs`` on a fake clock N working days later, asks the
reporter once; the reporter answers by typing ("belum" and the reason: reopened, the officer told,
the event recorded; "sudah": recorded and thanked). Anonymous reporters are asked too, erased ones
never."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest
from sqlalchemy import select

from bot.domain.clock import ManualClock
from bot.domain.region import load_region_file
from bot.domain.workdays import WorkCalendar
from bot.settings import Settings
from storage.models import Complaint, ComplaintEvent
from testkit.tg_chat import buttons, person, quiet, running, text_of
from tests.flows.test_complaints_e2e import ROAD, file_complaint

WIB = "Asia/Jakarta"
CAL = WorkCalendar.from_region(load_region_file())
REASON = "Lubangnya terbuka lagi setelah hujan deras semalam, motor masih jatuh."


def at_local(d: date, hh: int, mm: int = 0) -> datetime:
    return CAL.start_of_day(d, time(hh, mm))


@pytest.fixture
async def world(settings, clock):
    quiet_settings = Settings(**{**settings.__dict__, "scheduler_enabled": False})
    async with running(quiet_settings, clock=clock) as (tg, app):
        yield tg, app, clock


async def run_job(app, clock: ManualClock, name: str, when: datetime) -> str:
    from tests.jobs.test_jobs_e2e import kanal

    clock.set(when)
    rc, out = await kanal(app, "jobs", "run", name, "--at", when.isoformat())
    assert rc == 0, out
    return out


async def complaint(app, number: str) -> Complaint:
    async with app.db.unit_of_work() as uow:
        return (await uow.session.execute(select(Complaint).where(Complaint.number == number))).scalar_one()


async def events(app, number: str) -> list[ComplaintEvent]:
    async with app.db.unit_of_work() as uow:
        c = (await uow.session.execute(select(Complaint).where(Complaint.number == number))).scalar_one()
        stmt = select(ComplaintEvent).where(ComplaintEvent.complaint_id == c.id).order_by(ComplaintEvent.id)
        return list((await uow.session.execute(stmt)).scalars().all())


async def closed_as_puas(officer, citizen, privacy: str = "biasa") -> str:
    """Filed (auto-routed to PUPR), answered, resolved, rated "puas" by typing: closed."""
    number = await file_complaint(citizen, ROAD, privacy=privacy)
    await officer.settle()
    await officer.send(f"/balas {number} Terima kasih, kami cek besok pagi.")
    await citizen.settle()
    await officer.send(f"/selesai {number} Lubang sudah ditambal hari ini.")
    got = await citizen.settle()
    assert f"/nilai {number} puas" in buttons(got[-1])
    out = await citizen.send("puas")  # typed
    assert "ditutup" in text_of(out)
    return number


async def test_not_fixed_typed_reopens_and_tells_the_officer_once(world):
    tg, app, clock = world  # Monday 23 November 2026, 09:00 WIB
    officer = await person(tg, app, 501, "Pak Rudi", role="officer", opd="PUPR")
    citizen = await person(tg, app, 101, "Siti Aminah")
    number = await closed_as_puas(officer, citizen)
    c = await complaint(app, number)
    # ten working days after Monday 23 November: Monday 7 December
    assert c.state == "ditutup" and c.fixed_check_due_at == CAL.start_of_day(date(2026, 12, 7))
    officer.new()

    out = await run_job(app, clock, "fixed_check", at_local(date(2026, 12, 4), 9))
    assert "nothing to do" in out
    out = await run_job(app, clock, "fixed_check", at_local(date(2026, 12, 7), 9))
    assert "asked 1" in out and "messages 1" in out
    got = await citizen.settle()
    assert len(got) == 1 and number in text_of(got) and "Apakah masalahnya sudah benar-benar beres?" in text_of(got)
    assert "10 hari kerja lalu" in text_of(got) and "Dinas Pekerjaan Umum" in text_of(got)
    assert buttons(got[-1]) == [f"/beres {number} sudah", f"/beres {number} belum"]
    # the job again, the day after: nobody is asked twice
    for when in (at_local(date(2026, 12, 7), 9, 1), at_local(date(2026, 12, 8), 9)):
        out = await run_job(app, clock, "fixed_check", when)
        assert "asked" not in out
    await quiet(tg, app)
    assert citizen.new() == []

    # the citizen types "belum" (outside any flow), then the reason
    out = await citizen.send("belum")
    assert "Apa yang masih terjadi?" in text_of(out)
    out = await citizen.send(REASON)
    assert f"Laporan {number} dibuka kembali" in text_of(out) and "Batas penyelesaian baru" in text_of(out)
    note = await officer.settle()
    assert "belum beres" in text_of(note) and "Lubangnya terbuka lagi" in text_of(note) and number in text_of(note)
    assert "Pelapor: Siti Aminah" in text_of(note)
    c = await complaint(app, number)
    assert (c.state, c.fixed_answer, c.reopen_count, c.closed_at, c.resolved_at) == (
        "tindak_lanjut",
        "belum",
        1,
        None,
        None,
    )
    assert c.completion_due_at == CAL.end_of_day(CAL.working_day_after(date(2026, 12, 8), 5))
    last = (await events(app, number))[-1]
    assert (last.action, last.from_state, last.to_state, last.actor_role, last.text) == (
        "reopen_not_fixed",
        "ditutup",
        "tindak_lanjut",
        "citizen",
        REASON,
    )
    # the history shows it; a second "belum" is no answer any more
    got = await citizen.send(f"/status {number}")
    assert "belum beres" in text_of(got)
    got = await citizen.send(f"/beres {number} belum")
    assert "sudah kami catat" in text_of(got)
    # resolved and closed again: never asked a second time
    await officer.send(f"/selesai {number} Ditambal ulang dengan beton.")
    await citizen.settle()
    await citizen.send(f"/nilai {number} puas")
    out = await run_job(app, clock, "fixed_check", at_local(date(2026, 12, 31), 9))
    assert "asked" not in out


async def test_fixed_pressed_records_and_thanks_and_anonymous_reporters_are_asked(world):
    tg, app, clock = world
    officer = await person(tg, app, 501, "Pak Rudi", role="officer", opd="PUPR")
    anon = await person(tg, app, 777001, "Rahasia Sekali", username="rahasia_user")
    number = await closed_as_puas(officer, anon, privacy="anonim")
    out = await run_job(app, clock, "fixed_check", at_local(date(2026, 12, 5), 9))  # Saturday
    assert "not a working day" in out
    out = await run_job(app, clock, "fixed_check", at_local(date(2026, 12, 7), 9))
    assert "asked 1" in out
    got = await anon.settle()
    assert number in text_of(got)
    out = await anon.press(f"/beres {number} sudah")
    assert "Terima kasih" in text_of(out) and "sudah beres" in text_of(out)
    c = await complaint(app, number)
    assert (c.state, c.fixed_answer) == ("ditutup", "sudah")
    assert (await events(app, number))[-1].action == "fixed_confirmed"
    out = await anon.send("sudah")  # answered already: the word is not taken for it again
    assert "sudah kami catat" not in text_of(out)


async def test_typed_belum_with_the_reason_and_anonymous_stays_anonymous(world):
    tg, app, clock = world
    officer = await person(tg, app, 501, "Pak Rudi", role="officer", opd="PUPR")
    anon = await person(tg, app, 777002, "Joko Rahasia", username="joko_r")
    number = await closed_as_puas(officer, anon, privacy="anonim")
    await run_job(app, clock, "fixed_check", at_local(date(2026, 12, 7), 9))
    await anon.settle()
    officer.new()
    out = await anon.send("Belum, masih berlubang dan tergenang air")
    assert "dibuka kembali" in text_of(out)
    note = await officer.settle()
    staff = text_of(note)
    assert "masih berlubang dan tergenang air" in staff and "Pelapor: Anonim" in staff and number in staff
    for ident in ("Joko Rahasia", "joko_r", "777002"):
        assert ident not in staff


async def test_erased_reporters_are_never_asked(world):
    tg, app, clock = world
    officer = await person(tg, app, 501, "Pak Rudi", role="officer", opd="PUPR")
    citizen = await person(tg, app, 101, "Siti Aminah")
    number = await closed_as_puas(officer, citizen)
    out = await citizen.send("/hapusdata")
    assert "hapus" in text_of(out).lower()
    await citizen.press(buttons(out[-1])[0])
    c = await complaint(app, number)
    assert c.citizen_user_id is None
    out = await run_job(app, clock, "fixed_check", at_local(date(2026, 12, 7), 9))
    assert "asked" not in out


async def test_autoclosed_complaints_are_asked_and_a_voice_note_is_the_reason(world):
    tg, app, clock = world
    officer = await person(tg, app, 501, "Pak Rudi", role="officer", opd="PUPR")
    citizen = await person(tg, app, 101, "Siti Aminah")
    number = await file_complaint(citizen, ROAD)
    await officer.settle()
    await officer.send(f"/selesai {number} Lubang sudah ditambal hari ini.")
    await citizen.settle()
    # not rated: closed by the autoclose job on Tuesday 8 December (the window ended Monday 7)
    out = await run_job(app, clock, "autoclose", at_local(date(2026, 12, 8), 8, 5))
    assert "closed 1" in out
    await citizen.settle()
    due = CAL.start_of_day(CAL.working_day_after(date(2026, 12, 8), 10))
    assert (await complaint(app, number)).fixed_check_due_at == due
    officer.new()
    out = await run_job(app, clock, "fixed_check", at_local(CAL.local_date(due), 9))
    assert "asked 1" in out
    await citizen.settle()
    out = await citizen.send("tidak")  # the shared vocabulary's "no"
    assert "kirim pesan suara" in text_of(out)
    file_id, out = await citizen.voice(duration=42)
    assert "dibuka kembali" in text_of(out)
    note = await officer.settle()
    assert "belum beres" in text_of(note) and "(pesan suara, 0:42)" in text_of(note)
    assert any(m["method"] == "sendAudio" or m["method"] == "sendVoice" for m in note)
    last = (await events(app, number))[-1]
    assert (last.action, last.text) == ("reopen_not_fixed", "(pesan suara, 0:42)")
    assert file_id


async def test_typed_sudah_and_an_english_reader(world):
    tg, app, clock = world
    officer = await person(tg, app, 501, "Pak Rudi", role="officer", opd="PUPR")
    siti = await person(tg, app, 101, "Siti Aminah")
    eng = await person(tg, app, 102, "Jane Doe")
    first = await closed_as_puas(officer, siti)
    second = await closed_as_puas(officer, eng)
    await eng.send("/bahasa en")  # reads English from now on
    out = await run_job(app, clock, "fixed_check", at_local(date(2026, 12, 7), 9))
    assert "asked 2" in out
    got = await eng.settle()
    assert second in text_of(got) and "Is the problem really solved? Reply YES or NO." in text_of(got)
    await siti.settle()
    out = await siti.send("sudah")
    assert "sudah beres" in text_of(out)
    out = await eng.send("yes")
    assert "solved" in text_of(out)
    assert [(await complaint(app, n)).fixed_answer for n in (first, second)] == ["sudah", "sudah"]
    await quiet(tg, app)
    assert officer.new() == []
