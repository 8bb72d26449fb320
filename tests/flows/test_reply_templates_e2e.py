"""Officers' reply templates end to end on Telegram (the fake Bot API server): offered when /balas
and /selesai ask for the text (their OPD's and the region-wide ones only), chosen by typing,
edited by typing before it is sent; /templat tambah and hapus."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage.models import AuditEvent, ReplyTemplate
from testkit.tg_chat import NUMBER_RE, buttons, labels, person, running, text_of

ROAD = "Jalan rusak parah di depan SDN 2 Sukamaju, lubangnya dalam sekali dan sudah ada motor jatuh kemarin sore."


@pytest.fixture
async def world(settings):
    async with running(settings) as (tg, app):
        yield tg, app


async def filed(citizen, text: str = ROAD) -> str:
    await citizen.send("/lapor")
    await citizen.send(text)
    await citizen.press("lapor:next")
    await citizen.press("lapor:skip")
    await citizen.press("lapor:privacy:biasa")
    out = await citizen.press("lapor:send")
    return NUMBER_RE.findall(text_of(out))[0]


async def test_officer_picks_a_template_by_typing_edits_it_and_the_citizen_gets_the_edit(world):
    tg, app = world
    officer = await person(tg, app, 5201, "Pak Rudi", role="officer", opd="PUPR")
    citizen = await person(tg, app, 1201, "Siti")
    number = await filed(citizen)
    await officer.settle()

    out = await officer.send(f"/balas {number}")
    offered = set(labels(out[-1]))
    assert {"📝 survei", "📝 tambal", "📝 diterima", "📝 data-kurang"} <= offered
    assert "📝 angkut" not in offered  # DLH's template: never offered to PUPR

    out = await officer.send("survei")  # the template's name, typed
    shown = text_of(out)
    assert f"Terima kasih atas laporan {number}." in shown
    assert "Tim Dinas Pekerjaan Umum dan Penataan Ruang akan meninjau" in shown
    assert "{nomor}" not in shown and "tpl:send" in buttons(out[-1])

    edited = f"Terima kasih atas laporan {number}. Tim kami meninjau lokasi hari Kamis pagi."
    out = await officer.send(edited)
    assert "Jawaban terkirim" in text_of(out)
    got = text_of(await citizen.settle())
    assert "hari Kamis pagi" in got and "dalam 3 hari kerja" not in got


async def test_a_template_sent_as_it_is_with_selesai_and_a_typed_answer_is_not_taken_for_one(world):
    tg, app = world
    officer = await person(tg, app, 5202, "Petugas", role="officer", opd="PUPR")
    citizen = await person(tg, app, 1202, "Andi")
    number = await filed(citizen)
    await officer.settle()

    await officer.send(f"/balas {number}")
    out = await officer.send("survei dilakukan besok pagi")  # an answer that names a template
    assert "Jawaban terkirim" in text_of(out)
    assert "survei dilakukan besok pagi" in text_of(await citizen.settle())

    out = await officer.press(f"/selesai {number}")
    assert "📝 tambal" in labels(out[-1])
    out = await officer.send("2")  # the number of "tambal" in the list
    assert "sudah ditambal oleh tim Dinas Pekerjaan Umum" in text_of(out)
    out = await officer.send("kirim")
    assert "ditandai selesai" in text_of(out)
    assert f"Kerusakan pada laporan {number} sudah ditambal" in text_of(await citizen.settle())


async def test_templat_tambah_and_hapus_per_opd(world, db):
    tg, app = world
    pupr = await person(tg, app, 5203, "Petugas PU", role="officer", opd="PUPR")
    dlh = await person(tg, app, 5204, "Petugas DLH", role="officer", opd="DLH")
    citizen = await person(tg, app, 1203, "Budi")

    out = await pupr.send("/templat tambah aspal Lubang pada laporan {nomor} sudah diaspal oleh {opd}.")
    assert "disimpan" in text_of(out)
    out = await pupr.send("/templat tambah salah {nama} tidak boleh")
    assert "Cara pakai" in text_of(out)
    out = await pupr.send("/templat")
    assert "aspal" in text_of(out) and "survei" in text_of(out) and "angkut" not in text_of(out)
    out = await dlh.send("/templat")
    assert "aspal" not in text_of(out) and "angkut" in text_of(out)

    number = await filed(citizen)
    await pupr.settle()
    out = await pupr.send(f"/balas {number}")
    assert "📝 aspal" in labels(out[-1])
    await pupr.press(labels(out[-1])["📝 aspal"])
    out = await pupr.send("ya")
    assert "Jawaban terkirim" in text_of(out)
    assert f"Lubang pada laporan {number} sudah diaspal oleh Dinas Pekerjaan Umum" in text_of(await citizen.settle())

    out = await dlh.send("/templat hapus aspal")  # not DLH's
    assert "Tidak ada templat" in text_of(out)
    out = await pupr.send("/templat hapus survei")  # the region file's
    assert "berkas wilayah" in text_of(out)
    out = await pupr.send("/templat hapus aspal")
    assert "dihapus" in text_of(out)
    async with db.unit_of_work() as uow:
        assert (await uow.session.execute(select(ReplyTemplate))).scalars().all() == []
        actions = (await uow.session.execute(select(AuditEvent.action))).scalars().all()
    assert "reply_template_added" in actions and "reply_template_removed" in actions
    out = await citizen.send("/templat")
    assert "hanya untuk" in text_of(out)
