"""Following a similar complaint instead of filing it again, end to end on Telegram (the fake Bot
API server): the offer at "Kirim", following by typing, the follower's updates, what they never
see, the officer's card and queue, /status, /berhenti_ikuti and erasure."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from sqlalchemy import select

from storage.models import Complaint, ComplaintFollower
from testkit.tg_chat import NUMBER_RE, buttons, person, running, text_of

ROAD = "Jalan rusak parah di depan SDN 2 Sukamaju, lubangnya dalam sekali dan sudah ada motor jatuh kemarin sore."
SAME = "Jalan di depan SDN 2 Sukamaju rusak dan berlubang dalam, motor sering jatuh di situ."
OTHER = "Sampah menumpuk di pinggir pasar Sukamaju dan baunya menyengat sampai ke rumah warga."
HERE = (-6.9175, 107.6191)
NEAR = (-6.9190, 107.6200)  # about 190 m away
FAR = (-6.9500, 107.6600)  # about 6 km away


@pytest.fixture
async def world(settings):
    async with running(replace(settings, similar_complaints=True)) as (tg, app):
        yield tg, app


async def draft(citizen, text: str, *, privacy: str = "biasa", at: tuple[float, float] | None = None) -> list[dict]:
    """/lapor up to the summary, then "Kirim": what the bot answered to it."""
    await citizen.send("/lapor")
    await citizen.send(text)
    out = await citizen.press("lapor:next")
    assert "lapor:skip" in buttons(out[-1])
    out = await (citizen.location(*at) if at else citizen.press("lapor:skip"))
    out = await citizen.press(f"lapor:privacy:{privacy}")
    assert "lapor:send" in buttons(out[-1])
    return await citizen.press("lapor:send")


def number_in(out: list[dict]) -> str:
    found = NUMBER_RE.findall(text_of(out))
    assert found, text_of(out)
    return found[0]


async def test_similar_near_complaint_is_followed_by_typing_and_its_updates_reach_the_follower(world, db):
    tg, app = world
    officer = await person(tg, app, 5101, "Pak Rudi", role="officer", opd="PUPR")
    first = await person(tg, app, 1101, "Siti Aminah", username="siti_a")
    second = await person(tg, app, 1102, "Budi Santoso")
    number = number_in(await draft(first, ROAD, at=HERE))
    await officer.settle()

    out = await draft(second, SAME, at=NEAR)
    offer = text_of(out)
    assert "Sudah ada laporan serupa" in offer and number in offer
    assert "Pekerjaan Umum" in offer or "PUPR" in offer
    assert "lubangnya dalam" in offer  # a short excerpt of a biasa complaint
    assert "Siti" not in offer and "siti_a" not in offer
    assert f"lapor:ikuti:{number}" in buttons(out[-1]) and "lapor:baru" in buttons(out[-1])

    out = await second.send("ikuti")
    assert f"mengikuti laporan {number}" in text_of(out) and "/berhenti_ikuti" in text_of(out)
    async with db.unit_of_work() as uow:
        complaints = (await uow.session.execute(select(Complaint))).scalars().all()
        follows = (await uow.session.execute(select(ComplaintFollower))).scalars().all()
    assert len(complaints) == 1  # nothing filed for the second citizen
    assert [(f.complaint_id, f.user_id) for f in follows] == [(complaints[0].id, follows[0].user_id)]

    # the officer sees the follower on the card and in the queue
    out = await officer.send(f"/lihat {number}")
    assert "Diikuti 1 warga lain" in text_of(out)
    out = await officer.send("/antrian")
    assert "👥 1" in text_of(out)

    await officer.send(f"/balas {number} Tim kami meninjau lokasi besok pagi.")
    assert "meninjau lokasi besok pagi" in text_of(await first.settle())
    got = await second.settle()
    assert f"Laporan {number} yang Anda ikuti" in text_of(got) and "meninjau lokasi besok pagi" in text_of(got)
    assert "Siti" not in text_of(got)
    assert f"/berhenti_ikuti {number}" in buttons(got[-1])

    out = await second.send("/status")
    assert "Laporan yang Anda ikuti" in text_of(out) and number in text_of(out)
    out = await second.send(f"/status {number}")
    assert number in text_of(out) and "Siti" not in text_of(out)

    out = await second.send(f"/berhenti_ikuti {number}")
    assert "berhenti mengikuti" in text_of(out)
    await officer.send(f"/selesai {number} Lubang sudah ditambal.")
    await first.settle()
    assert second.new() == []


async def test_sending_anyway_files_a_new_complaint_and_far_or_other_ones_are_not_offered(world, db):
    tg, app = world
    officer = await person(tg, app, 5102, "Petugas", role="officer", opd="PUPR")
    first = await person(tg, app, 1103, "Ani")
    second = await person(tg, app, 1104, "Dodi")
    number = number_in(await draft(first, ROAD, at=HERE))
    await officer.settle()

    out = await draft(second, SAME, at=FAR)  # the same words, 6 km away: another road
    assert "laporan serupa" not in text_of(out) and "Laporan terkirim" in text_of(out)
    out = await draft(second, OTHER, at=NEAR)
    assert "laporan serupa" not in text_of(out) and "Laporan terkirim" in text_of(out)
    third = await person(tg, app, 1105, "Eka")
    out = await draft(third, SAME, at=NEAR)
    assert number in text_of(out)
    out = await third.send("kirim baru")
    assert "Laporan terkirim" in text_of(out) and number_in(out) != number


@pytest.mark.parametrize("privacy", ["rahasia", "anonim"])
async def test_a_rahasia_or_anonim_candidate_shows_no_text(world, privacy):
    tg, app = world
    officer = await person(tg, app, 5106, "Petugas", role="officer", opd="PUPR")
    first = await person(tg, app, 1106, "Rahasia Orang", username="rahasia_o")
    second = await person(tg, app, 1107, "Wawan")
    number = number_in(await draft(first, ROAD, privacy=privacy, at=HERE))
    out = await draft(second, SAME, at=NEAR)
    seen = text_of(out) + json.dumps(out, ensure_ascii=False)
    assert number in seen and "dirahasiakan" in seen
    for secret in ("lubangnya", "motor jatuh kemarin", "Rahasia Orang", "rahasia_o"):
        assert secret not in seen
    out = await second.send("ya")
    assert f"mengikuti laporan {number}" in text_of(out)
    # the officer's answer reaches the follower as an update, without its text (not a biasa report)
    await officer.settle()
    await officer.send(f"/balas {number} Bapak/Ibu pelapor, tim kami datang besok jam sembilan.")
    assert "datang besok jam sembilan" in text_of(await first.settle())
    got = text_of(await second.settle())
    assert f"Laporan {number} yang Anda ikuti" in got and "memberi jawaban" in got
    assert "datang besok" not in got
    # resolved, then rated: each step reaches the follower
    await officer.send(f"/selesai {number} Sudah ditambal.")
    await first.settle()
    assert "dinyatakan selesai" in text_of(await second.settle())
    await first.press(f"/nilai {number} puas")
    assert "laporan ditutup" in text_of(await second.settle())


async def test_erasure_removes_the_follower(world, db):
    tg, app = world
    officer = await person(tg, app, 5108, "Petugas", role="officer", opd="PUPR")
    first = await person(tg, app, 1108, "Rina")
    second = await person(tg, app, 1109, "Yusuf")
    number = number_in(await draft(first, ROAD, at=HERE))
    await draft(second, SAME, at=NEAR)
    out = await second.send("1")  # the number in the list
    assert f"mengikuti laporan {number}" in text_of(out)
    await officer.settle()
    assert "Diikuti 1 warga lain" in text_of(await officer.send(f"/lihat {number}"))

    out = await second.send("/hapusdata")
    assert "erase:yes" in buttons(out[-1])
    assert "sudah dihapus" in text_of(await second.press("erase:yes"))
    async with db.unit_of_work() as uow:
        assert (await uow.session.execute(select(ComplaintFollower))).scalars().all() == []
        assert (await uow.session.execute(select(Complaint).where(Complaint.number == number))).scalar_one()
    assert "Diikuti" not in text_of(await officer.send(f"/lihat {number}"))
    await officer.send(f"/balas {number} Sedang kami tangani.")
    await first.settle()
    assert second.new() == []
