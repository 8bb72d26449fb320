"""“Sudah beres?” on WhatsApp: a complaint filed on WhatsApp, answered and resolved by the PDAM
officer on Telegram, rated "puas" by typing; five working days later (PDAM's own
``fixed_check_days`` in the demo region) the job asks — outside the 24-hour window, so as the
approved template, whose text says what to type; the citizen types "belum" and the reason: the
complaint is open again and the officer is told."""

from __future__ import annotations

from datetime import date, time

import pytest
from sqlalchemy import select

from bot.domain.region import load_region_file
from bot.domain.workdays import WorkCalendar
from storage.models import Complaint, ComplaintEvent
from testkit.tg_chat import person, text_of
from tests.flows.test_whatsapp_flows import (
    CITIZEN,
    CITIZEN_NAME,
    TEMPLATE,
    WATER,
    WaPerson,
    both_channels,
    file_complaint,
    kind,
    notifications,
    offered,
    quiet,
    texts,
)
from tests.jobs.test_jobs_e2e import kanal

CAL = WorkCalendar.from_region(load_region_file())


@pytest.fixture
async def world(settings, clock):
    async with both_channels(settings, clock) as w:
        yield w


async def resolved_and_rated(tg, wa, app):
    officer = await person(tg, app, 601, "Bu Ratna", role="officer", opd="PDAM")
    dewi = WaPerson(wa, app, CITIZEN, CITIZEN_NAME)
    await dewi.send("Halo")
    await dewi.tap(value="consent:yes")
    number, _ = await file_complaint(dewi, WATER, "Biasa")
    await officer.settle()
    await officer.send(f"/balas {number} Petugas kami memperbaiki pipa hari ini.")
    await dewi.settle()
    await officer.send(f"/selesai {number} Aliran air sudah normal kembali.")
    got = await dewi.settle()
    assert [r["id"] for r in offered(got[-1])] == [f"/nilai {number} puas", f"/nilai {number} tidak"]
    out = await dewi.send("puas")  # typed
    assert "ditutup" in texts(out)
    officer.new()
    return officer, dewi, number


async def test_outside_the_window_the_question_is_the_template_and_a_typed_belum_reopens(world, db, clock):
    tg, wa, app = world
    officer, dewi, number = await resolved_and_rated(tg, wa, app)
    async with db.unit_of_work() as uow:
        c = (await uow.session.execute(select(Complaint).where(Complaint.number == number))).scalar_one()
    assert c.fixed_check_due_at == CAL.start_of_day(date(2026, 11, 30))  # PDAM: 5 working days

    when = CAL.start_of_day(date(2026, 11, 30), time(9))
    clock.set(when)
    wa.window = "error"  # Meta refuses free-form outside the window
    wa.expire_window(CITIZEN)
    outs = [(await kanal(app, "jobs", "run", "fixed_check", "--at", when.isoformat()))[1] for _ in range(2)]
    assert "asked 1" in outs[0] and "asked" not in outs[1]  # run twice: asked once
    got = await dewi.settle()
    assert [kind(m) for m in got] == ["template"]
    (template,) = got
    assert template["template"] == TEMPLATE
    (param,) = template["params"]
    assert number in param and "Sudah beres?" in param and "Balas SUDAH atau BELUM" in param and "\n" not in param
    await quiet(wa, app)
    assert wa.rejected(131047) == [] and dewi.new() == []
    assert [r.status for r in await notifications(app, CITIZEN)][-1] == "sent"

    out = await dewi.send("Belum")  # typed: a template has no buttons
    assert "Apa yang masih terjadi?" in texts(out)
    out = await dewi.send("Airnya mati lagi sejak kemarin pagi, sama sekali tidak mengalir.")
    assert f"Laporan {number} dibuka kembali" in texts(out)
    note = await officer.settle()
    assert number in text_of(note) and "belum beres" in text_of(note) and "Airnya mati lagi" in text_of(note)
    async with db.unit_of_work() as uow:
        c = (await uow.session.execute(select(Complaint).where(Complaint.number == number))).scalar_one()
        last = (
            (
                await uow.session.execute(
                    select(ComplaintEvent).where(ComplaintEvent.complaint_id == c.id).order_by(ComplaintEvent.id.desc())
                )
            )
            .scalars()
            .first()
        )
    assert (c.state, c.fixed_answer, c.reopen_count) == ("tindak_lanjut", "belum", 1)
    assert (last.action, last.text) == (
        "reopen_not_fixed",
        "Airnya mati lagi sejak kemarin pagi, sama sekali tidak mengalir.",
    )


async def test_inside_the_window_the_question_has_reply_buttons(world, db, clock):
    tg, wa, app = world
    officer, dewi, number = await resolved_and_rated(tg, wa, app)
    when = CAL.start_of_day(date(2026, 11, 30), time(9))
    clock.set(when)
    await dewi.send("Halo")  # the person wrote just now: the window is open
    rc, _ = await kanal(app, "jobs", "run", "fixed_check", "--at", when.isoformat())
    assert rc == 0
    got = await dewi.settle()
    assert [kind(m) for m in got] == ["button"]
    assert [r["id"] for r in offered(got[-1])] == [f"/beres {number} sudah", f"/beres {number} belum"]
    out = await dewi.tap(title="✅ Sudah beres")
    assert "sudah beres" in texts(out)
    async with db.unit_of_work() as uow:
        c = (await uow.session.execute(select(Complaint).where(Complaint.number == number))).scalar_one()
    assert (c.state, c.fixed_answer) == ("ditutup", "sudah")
    await quiet(wa, app)
    assert officer.new() == []
