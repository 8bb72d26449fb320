"""An escalation names the OPDs that have no officer at all (issue 18, item 6): nobody there
hears of the reminders, so the coordinators are told whom to invite — through the real SLA job
(``kanal jobs run sla``) and a coordinator's Telegram chat."""

from __future__ import annotations

from testkit.tg_chat import buttons, person, text_of
from tests.flows.test_complaints_e2e import ROAD, file_complaint
from tests.jobs.test_jobs_e2e import CAL, at_local, complaint, run_job
from tests.jobs.test_jobs_e2e import world as world  # noqa: PLC0414 - the fixture, re-exported here

RUBBISH = "Sampah menumpuk di TPS dekat pasar sudah seminggu tidak diangkut, baunya menyengat sekali"


async def test_escalation_names_the_opd_without_any_officer(world):
    tg, app, clock = world
    officer = await person(tg, app, 501, "Pak Rudi", role="officer", opd="PUPR")
    coord = await person(tg, app, 900, "Bu Koordinator", role="coordinator")
    citizen = await person(tg, app, 101, "Siti Aminah")
    road = await file_complaint(citizen, ROAD)  # PUPR: has an officer
    rubbish = await file_complaint(citizen, RUBBISH)  # DLH: nobody
    await officer.settle()
    c = await complaint(app, rubbish)
    assert c.opd_code == "DLH"

    late = at_local(CAL.working_day_after(CAL.local_date(c.completion_due_at), 2), 10)
    out = await run_job(app, clock, "sla", late)
    assert "escalation" in out and "without_recipient" in out
    got = await coord.settle()
    body = text_of(got)
    assert "Pengaduan terlambat" in body and rubbish in body and road in body
    assert "Dinas Lingkungan Hidup belum punya petugas di Kanal" in body
    assert "/undang DLH" in body and "kanal invite --role officer --opd DLH" in body
    assert "Pekerjaan Umum dan Penataan Ruang belum punya petugas" not in body
    assert "/undang DLH" in buttons(got[-1]) and "/undang PUPR" not in buttons(got[-1])
    # the officer's own reminder says nothing about other OPDs
    assert "belum punya petugas" not in text_of(await officer.settle())

    # the button makes the invitation
    out = await coord.press("/undang DLH")
    assert "Kode undangan petugas Dinas Lingkungan Hidup" in text_of(out)
