"""A start link (a QR code scanned, a web page reconnecting with its link) that arrives while
another flow runs never throws the answers away: "Lanjutkan" asks the last question again, and
only "Tinggalkan, mulai yang baru" leaves the flow. Through the real Telegram adapter."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage.models import Complaint, ConversationState, SurveyResponse
from testkit.tg_chat import labels, person, running, text_of

UNIT = "PUPR-BM"
STORY = "Saluran air di depan pasar tersumbat sampah, kalau hujan airnya naik ke jalan."


@pytest.fixture
async def world(settings):
    async with running(settings) as (tg, app):
        yield tg, app


async def test_a_qr_code_scanned_mid_complaint_offers_to_go_on(world, db):
    tg, app = world
    citizen = await person(tg, app, 1301, "Bu Ani")
    await citizen.send("/lapor")
    out = await citizen.send(STORY)
    question = text_of(out)
    assert "foto" in question.lower()
    out = await citizen.send(f"/start skm_{UNIT}")
    assert "Anda belum selesai menulis pengaduan" in text_of(out) and "tersimpan" in text_of(out)
    assert list(labels(out[-1]))[:1] == ["▶️ Lanjutkan"]
    out = await citizen.send("lanjut")  # typed: the offered "Lanjutkan"
    assert text_of(out) == question  # the same question again, nothing lost
    async with db.unit_of_work() as uow:
        state = (await uow.session.execute(select(ConversationState))).scalars().all()
    assert any(s.flow == "lapor" and STORY in str(s.data) for s in state)
    out = await citizen.send("lanjut")  # and on: no photo
    assert "lokasi" in text_of(out).lower()


async def test_the_same_qr_code_again_mid_survey_keeps_the_answers(world, db):
    tg, app = world
    citizen = await person(tg, app, 1302, "Pak Budi")
    await citizen.send(f"/start skm_{UNIT}")
    await citizen.send("1")  # the service
    await citizen.send("lewati semua")  # the profile
    await citizen.send("3")  # question 1
    out = await citizen.send(f"/start skm_{UNIT}")  # scanned again
    assert "Anda belum selesai mengisi survei" in text_of(out)
    out = await citizen.send("/lanjutkan")
    assert "Pertanyaan 2 dari 9" in text_of(out)
    await citizen.send("4")
    async with db.unit_of_work() as uow:
        rows = (await uow.session.execute(select(SurveyResponse))).scalars().all()
    assert len(rows) == 1 and (rows[0].u1, rows[0].u2) == (3, 4) and rows[0].status == "in_progress"


async def test_leaving_for_the_link_is_the_persons_choice(world, db):
    tg, app = world
    citizen = await person(tg, app, 1303, "Bu Rina")
    await citizen.send("/lapor")
    await citizen.send(STORY)
    out = await citizen.send(f"/start skm_{UNIT}")
    leave = next(value for label, value in labels(out[-1]).items() if "Tinggalkan" in label)
    out = await citizen.press(leave)
    assert "Layanan apa" in text_of(out)
    async with db.unit_of_work() as uow:
        assert (await uow.session.execute(select(Complaint))).scalars().all() == []
        (state,) = (await uow.session.execute(select(ConversationState))).scalars().all()
    assert state.flow == "skm"


async def test_lanjutkan_with_nothing_running_shows_the_menu(world):
    tg, app = world
    citizen = await person(tg, app, 1304, "Pak Dedi")
    out = await citizen.send("/lanjutkan")
    assert "Tidak ada proses yang sedang berjalan" in text_of(out)
