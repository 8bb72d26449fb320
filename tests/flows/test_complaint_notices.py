"""Abuse limits of complaint filing (issue 17), on Telegram: many new complaints to one OPD reach
its officers as one notice and then one summary, not one notice each; and one person may file
only ``KANAL_COMPLAINTS_PER_DAY`` complaints in 24 hours, on every channel."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.settings import Settings
from storage.models import Complaint
from testkit.tg_chat import person, running, text_of
from tests.flows.test_complaints_e2e import ROAD, file_complaint
from tests.jobs.test_jobs_e2e import run_job


@pytest.fixture
async def world(settings, clock):
    # the flow holds notices back only where a scheduler will send the summary
    batched = Settings(**{**settings.__dict__, "scheduler_enabled": True, "complaints_per_day": 3})
    async with running(batched, clock=clock) as (tg, app):
        yield tg, app, clock


async def test_many_new_complaints_to_one_opd_make_one_notice_and_one_summary(world):
    tg, app, clock = world
    officer = await person(tg, app, 501, "Pak Rudi", role="officer", opd="PUPR")
    other = await person(tg, app, 502, "Bu Sari", role="officer", opd="PUPR")
    citizens = [await person(tg, app, 101 + i, f"Warga {i}") for i in range(3)]
    numbers = [await file_complaint(c, ROAD) for c in citizens]

    first = await officer.settle()
    assert len(first) == 1 and numbers[0] in text_of(first)  # the first at once, with its card
    assert not any(n in text_of(first) for n in numbers[1:])
    await other.settle()

    out = await run_job(app, clock, "new_complaints", clock.now() + timedelta(minutes=5))
    assert officer.new() == [] and "messages" not in out  # the window is still open
    await run_job(app, clock, "new_complaints", clock.now() + timedelta(minutes=6))
    for staff in (officer, other):
        (summary,) = await staff.settle()
        body = text_of([summary])
        assert "📣 2 pengaduan baru lagi untuk Dinas Pekerjaan Umum" in body
        assert numbers[1] in body and numbers[2] in body and "/antrian" in body
    await run_job(app, clock, "new_complaints", clock.now() + timedelta(minutes=20))
    assert officer.new() == [] and other.new() == []  # each notice exactly once
    async with app.db.unit_of_work() as uow:
        waiting = (await uow.session.execute(select(Complaint).where(Complaint.notice_due_at.is_not(None)))).all()
    assert waiting == []

    # after a quiet window the next complaint is notified at once again
    clock.advance(timedelta(minutes=30))
    number = await file_complaint(citizens[0], ROAD)
    assert number in text_of(await officer.settle())


async def test_complaints_per_day_are_capped_per_person(world):
    tg, app, clock = world
    citizen = await person(tg, app, 201, "Andi")
    for _ in range(3):
        await file_complaint(citizen, ROAD)
    out = await citizen.send("/lapor")
    assert "sudah mengirim 3 laporan dalam 24 jam terakhir" in text_of(out) and "besok" in text_of(out)
    clock.advance(timedelta(hours=24, minutes=1))
    out = await citizen.send("/lapor")
    assert "Ceritakan masalah" in text_of(out)
