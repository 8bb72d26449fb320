"""Pengaduan end to end through PTB against the fake Bot API server: citizens, OPD officers and
coordinators each in their own chat, everything they see checked at the server."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage.models import Complaint, ComplaintEvent, ComplaintPhoto
from testkit.tg_chat import NUMBER_RE, buttons, person, running, text_of

ROAD = "Jalan rusak parah di depan SDN 2 Sukamaju, lubangnya dalam sekali dan sudah ada motor jatuh kemarin sore."


@pytest.fixture
async def world(settings):
    async with running(settings) as (tg, app):
        yield tg, app


async def file_complaint(
    citizen, text: str, *, privacy: str = "biasa", photo: bool = False, address: str | None = None
) -> str:
    out = await citizen.send("/lapor")
    assert "Ceritakan masalah" in text_of(out)
    out = await citizen.send(text)
    assert "lapor:next" in buttons(out[-1])
    if photo:
        out = await citizen.photo(caption="lubang jalan")
        assert "Foto 1 dari maks. 5" in text_of(out)
    out = await citizen.press("lapor:next")
    assert "lapor:skip" in buttons(out[-1])
    out = await (citizen.send(address) if address else citizen.press("lapor:skip"))
    assert f"lapor:privacy:{privacy}" in buttons(out[-1])
    out = await citizen.press(f"lapor:privacy:{privacy}")
    assert "lapor:send" in buttons(out[-1])
    out = await citizen.press("lapor:send")
    numbers = NUMBER_RE.findall(text_of(out))
    assert numbers, text_of(out)
    return numbers[0]


async def test_full_lifecycle_with_reopen(world, db):
    tg, app = world
    officer = await person(tg, app, 501, "Pak Rudi", role="officer", opd="PUPR")
    coord = await person(tg, app, 900, "Bu Koordinator", role="coordinator")
    citizen = await person(tg, app, 101, "Siti Aminah", username="siti_a")

    out = await citizen.send("/lapor")
    out = await citizen.send("jalan rusak")  # too short
    assert "minimal 3 kata" in text_of(out)
    number = await file_complaint(citizen, ROAD, photo=True, address="Jl. Merdeka No. 5, Desa Sukamaju")

    # auto-routed to PUPR: the officer is notified with action buttons, the coordinator is not
    note = await officer.settle()
    assert number in text_of(note) and "Siti Aminah" in text_of(note)
    assert f"/balas {number}" in buttons(note[-1])
    assert coord.new() == []

    out = await officer.send("/antrian")
    assert number in text_of(out) and "1 laporan" in text_of(out)

    out = await officer.send(f"/balas {number} Terima kasih, tim kami akan meninjau lokasi besok pagi.")
    assert "Jawaban terkirim" in text_of(out)
    got = await citizen.settle()
    assert "tim kami akan meninjau lokasi besok pagi" in text_of(got)

    # the button path: /selesai without text asks for it
    out = await officer.press(f"/selesai {number}")
    assert "jawaban akhir" in text_of(out)
    out = await officer.send("Lubang sudah ditambal dengan aspal hari ini.")
    assert "ditandai selesai" in text_of(out)
    got = await citizen.settle()
    assert "Lubang sudah ditambal" in text_of(got)
    assert set(buttons(got[-1])) == {f"/nilai {number} puas", f"/nilai {number} tidak"}

    out = await citizen.press(f"/nilai {number} tidak")
    assert "alasan" in text_of(out)
    out = await citizen.send("Tambalannya sudah lepas lagi setelah hujan.")
    assert "dibuka kembali" in text_of(out)
    note = await officer.settle()
    assert "Tambalannya sudah lepas" in text_of(note)

    await officer.send(f"/selesai {number} Sudah diaspal ulang dengan lapisan baru.")
    await citizen.settle()
    out = await citizen.press(f"/nilai {number} puas")
    assert "ditutup" in text_of(out)

    out = await citizen.send(f"/status {number}")
    history = text_of(out)
    for expected in (
        "Status: Selesai dan ditutup",
        "tim kami akan meninjau",
        "Tambalannya sudah lepas",
        "Sudah diaspal ulang",
    ):
        assert expected in history

    async with db.unit_of_work() as uow:
        c = (await uow.session.execute(select(Complaint).where(Complaint.number == number))).scalar_one()
        actions = [
            e.action
            for e in (
                await uow.session.execute(
                    select(ComplaintEvent).where(ComplaintEvent.complaint_id == c.id).order_by(ComplaintEvent.id)
                )
            ).scalars()
        ]
        photos = (
            (await uow.session.execute(select(ComplaintPhoto).where(ComplaintPhoto.complaint_id == c.id)))
            .scalars()
            .all()
        )
    assert (c.state, c.rating, c.reopen_count, c.opd_code) == ("ditutup", "puas", 1, "PUPR")
    assert actions == ["filed", "auto_routed", "answer", "resolve", "rate_bad", "resolve", "rate_good"]
    assert len(photos) == 1 and photos[0].file_ref


async def test_forward_return_and_reroute(world):
    tg, app = world
    pupr = await person(tg, app, 502, "Petugas PU", role="officer", opd="PUPR")
    dlh = await person(tg, app, 503, "Petugas DLH", role="officer", opd="DLH")
    coord = await person(tg, app, 901, "Koordinator", role="coordinator")
    citizen = await person(tg, app, 102, "Andi")
    number = await file_complaint(citizen, ROAD)
    await pupr.settle()

    out = await pupr.send(f"/teruskan {number} DLH ini soal tumpukan sampah di bahu jalan")
    assert "diteruskan" in text_of(out)
    assert number in text_of(await dlh.settle())
    assert "diteruskan ke Dinas Lingkungan Hidup" in text_of(await citizen.settle())
    # PUPR no longer sees it
    out = await pupr.send(f"/lihat {number}")
    assert "tidak ditemukan" in text_of(out) and ROAD[:20] not in text_of(out)

    out = await dlh.send(f"/kembalikan {number} bukan kewenangan kami")
    assert "dikembalikan" in text_of(out)
    note = await coord.settle()
    assert number in text_of(note) and "bukan kewenangan kami" in text_of(note)

    out = await coord.send("/triase")
    assert number in text_of(out)
    out = await coord.send(f"/arahkan {number} PUPR")
    assert "diarahkan" in text_of(out)
    assert number in text_of(await pupr.settle())
    out = await coord.send("/triase")
    assert number not in text_of(out)


async def test_unconfident_routing_goes_to_triage(world):
    tg, app = world
    coord = await person(tg, app, 902, "Koordinator", role="coordinator")
    citizen = await person(tg, app, 103, "Wati")
    number = await file_complaint(citizen, "Saya mau tanya prosedurnya bagaimana ya, bingung harus ke mana dulu.")
    note = await coord.settle()
    assert "perlu diarahkan ke OPD" in text_of(note) and number in text_of(note)


async def test_anonymous_complaint_never_shows_identity(world):
    tg, app = world
    officer = await person(tg, app, 504, "Petugas", role="officer", opd="PUPR")
    coord = await person(tg, app, 903, "Koordinator", role="coordinator")
    citizen = await person(tg, app, 777001, "Rahasia Sekali", username="rahasia_user")
    number = await file_complaint(citizen, ROAD, privacy="anonim")
    await officer.settle()
    await officer.send(f"/lihat {number}")
    await officer.send(f"/balas {number} Baik, segera kami cek.")
    assert "segera kami cek" in text_of(await citizen.settle())
    await officer.send(f"/teruskan {number} DLH cek")
    await coord.send(f"/lihat {number}")
    await coord.send("/cari rusak parah")
    staff_text = "\n".join(
        m.get("visible_text", "") + json_dump(m) for chat in (officer.id, coord.id) for m in tg.sent(chat)
    )
    assert number in staff_text
    for ident in ("Rahasia Sekali", "rahasia_user", "777001"):
        assert ident not in staff_text
    assert "Anonim" in staff_text


def json_dump(m: dict) -> str:
    import json

    return json.dumps(m, ensure_ascii=False)


async def test_other_opd_officer_is_refused(world):
    tg, app = world
    pupr = await person(tg, app, 505, "Petugas PU", role="officer", opd="PUPR")
    other = await person(tg, app, 506, "Petugas Dinkes", role="officer", opd="DINKES")
    citizen = await person(tg, app, 104, "Budi")
    number = await file_complaint(citizen, ROAD)
    await pupr.settle()
    for cmd in (
        f"/lihat {number}",
        f"/balas {number} jawaban dari OPD lain",
        f"/selesai {number} selesai oleh OPD lain",
        f"/teruskan {number} DLH",
        f"/kembalikan {number} bukan kami",
    ):
        out = await other.send(cmd)
        assert "tidak ditemukan" in text_of(out), cmd
        assert "rusak parah" not in text_of(out) and "Budi" not in text_of(out)
    assert citizen.new() == []
    # citizens cannot read someone else's complaint either, whatever they type
    nosy = await person(tg, app, 105, "Nosy")
    for probe in (number, number.lower(), number.replace("ADU-", ""), "ADU-2026-1", "' OR 1=1 --"):
        out = await nosy.send(f"/status {probe}")
        assert "tidak ditemukan" in text_of(out) and "rusak parah" not in text_of(out)
    # and a citizen cannot use officer commands
    out = await nosy.send(f"/balas {number} halo")
    assert "hanya untuk" in text_of(out)


async def test_an_answer_that_cannot_reach_the_citizen_is_reported_to_the_officer(world, db):
    """The citizen blocked the bot after filing: Telegram answers 403 to the officer's answer. The
    officer is told (naming the report, not the person), the answer stays recorded as failed, and
    a message to nobody in particular (the citizen's own /status) is not reported to anyone."""
    from storage.models import OutboxMessage

    tg, app = world
    officer = await person(tg, app, 502, "Bu Wati", role="officer", opd="PUPR")
    citizen = await person(tg, app, 102, "Dedi Kurniawan")
    number = await file_complaint(citizen, ROAD, privacy="anonim")
    await officer.settle()
    tg.block_chat(102)
    out = await officer.send(f"/balas {number} Tim kami sudah menjadwalkan perbaikan minggu depan.")
    assert "Jawaban terkirim" in text_of(out)
    if "tidak sampai" not in text_of(out):  # the report follows the 403, maybe after the turn settled
        out += await officer.settle()
    body = text_of(out)
    assert f"tentang laporan {number} tidak sampai ke pelapor" in body and f"/status {number}" in body
    assert "Dedi" not in body and "102" not in body  # an anonymous complainant stays anonymous
    async with db.unit_of_work() as uow:
        rows = (
            (
                await uow.session.execute(
                    select(OutboxMessage).where(OutboxMessage.address == "102").order_by(OutboxMessage.id)
                )
            )
            .scalars()
            .all()
        )
    failed = [r for r in rows if r.status == "failed"]
    assert len(failed) == 1 and "403" in (failed[0].last_error or "") and failed[0].on_failure["about"] == number
    # the officer's own messages carry no report; nothing else was reported
    out = await officer.send("/antrian")
    assert number in text_of(out) and "tidak sampai" not in text_of(await officer.settle(expect_new=False))
    assert sum("tidak sampai" in (m.get("visible_text") or "") for m in tg.sent(502)) == 1
