"""Staff work with buttons, not from memory (issue 18, item 6), through PTB against the fake Bot
API server: role menus, "➡️ Arahkan" with the OPDs as buttons, OPD buttons for a coordinator's
/antrian, a short grouped /bantuan, "maksud Anda …?" for near-miss commands, staff-side state
labels, map links and photo captions."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from handlers import build_router
from handlers.account.account_suggest import closest_command
from storage.models import Complaint, ComplaintPhoto
from testkit.tg_chat import NUMBER_RE, buttons, invite_code, labels, person, running, text_of
from tests.flows.test_complaints_e2e import ROAD, file_complaint

#: the router scores DLH and PUPR alike for this one (sampah / jalan berlubang): triage, DLH first
MIXED = "Tolong dicek ada sampah menumpuk dan jalan berlubang di dekat pasar"

CITIZEN_MENU = {"/survei", "/lapor", "/status", "/forum", "/bahasa", "/bantuan"}
OFFICER_MENU = {"/antrian", "/ringkasan", "/ikm", "/forum"}
COORDINATOR_MENU = {"/triase", "/antrian", "/ikm", "/ringkasan", "/forumbaru"}


@pytest.mark.parametrize(
    ("role", "typed", "meant"),
    [
        ("officer", "antrain", "antrian"),
        ("officer", "antr", "antrian"),  # the start of a command
        ("officer", "blas", "balas"),
        ("citizen", "statsu", "status"),
        ("citizen", "lpor", "lapor"),
        ("citizen", "sruvei", "survei"),
        ("citizen", "qeue", None),  # /queue is an officer's command
        ("citizen", "antrain", None),
        ("coordinator", "triasee", "triase"),
        ("coordinator", "halo", None),
        ("coordinator", "x", None),
        ("coordinator", "lapor", None),  # a command already
    ],
)
def test_closest_command_only_among_the_roles_commands(role, typed, meant):
    assert closest_command(build_router(), role, typed) == meant


@pytest.fixture
async def world(settings):
    async with running(settings) as (tg, app):
        yield tg, app


async def test_each_role_gets_its_menu(world):
    tg, app = world
    citizen = await person(tg, app, 101, "Siti")
    officer = await person(tg, app, 501, "Pak Rudi", role="officer", opd="PUPR")
    coord = await person(tg, app, 900, "Bu Koordinator", role="coordinator")

    out = await citizen.send("/menu")
    assert "Menu utama" in text_of(out) and set(buttons(out[-1])) == CITIZEN_MENU

    out = await officer.send("/menu")
    assert "Menu petugas" in text_of(out)
    assert set(buttons(out[-1])) >= OFFICER_MENU and not {"/lapor", "/survei", "/triase"} & set(buttons(out[-1]))
    out = await coord.send("/menu")
    assert "Menu koordinator" in text_of(out)
    assert set(buttons(out[-1])) >= COORDINATOR_MENU and "/lapor" not in buttons(out[-1])
    assert buttons(out[-1])[0] == "/triase"
    # the fallback and /start show the person's own menu too
    out = await officer.send("halo")
    assert set(buttons(out[-1])) >= OFFICER_MENU
    out = await coord.send("/start")
    assert set(buttons(out[-1])) >= COORDINATOR_MENU

    # a staff action ends with the way back to work and the menu
    number = await file_complaint(citizen, ROAD)
    await officer.settle()
    out = await officer.send(f"/balas {number} Tim kami cek lokasi besok.")
    assert "Jawaban terkirim" in text_of(out) and buttons(out[-1]) == ["/antrian", "/menu"]
    out = await coord.send(f"/selesai {number} Sudah diperbaiki.")
    assert "ditandai selesai" in text_of(out) and buttons(out[-1]) == ["/triase", "/menu"]
    await officer.settle(expect_new=False)

    # the officer reads the staff label, not the reporter's
    out = await officer.send(f"/lihat {number}")
    assert "Selesai, menunggu penilaian pelapor" in text_of(out)
    assert "konfirmasi Anda" not in text_of(out)


async def test_arahkan_lists_the_opds_suggested_first_and_routes(world, db):
    tg, app = world
    coord = await person(tg, app, 900, "Bu Koordinator", role="coordinator")
    dlh = await person(tg, app, 503, "Petugas DLH", role="officer", opd="DLH")
    citizen = await person(tg, app, 102, "Andi")
    number = await file_complaint(citizen, MIXED)
    note = await coord.settle()
    assert number in text_of(note) and dlh.new() == []
    # the router's best guess in one tap, or the choice of OPD
    assert labels(note[-1])["➡️ Arahkan ke DLH"] == f"/arahkan {number} DLH"
    assert labels(note[-1])["➡️ Pilih OPD"] == f"/arahkan {number}"
    out = await coord.send(f"/lihat {number}")
    assert buttons(out[-1]) == [f"/arahkan {number} DLH", f"/arahkan {number}"]

    # the triage list: one "➡️" button per complaint
    out = await coord.send("/triase")
    assert labels(out[-1]).get(f"➡️ {number}") == f"/arahkan {number}"

    out = await coord.press(f"/arahkan {number}")
    body = text_of(out)
    assert f"Arahkan {number} ke OPD mana?" in body and "sampah menumpuk" in body
    assert "Usulan sistem: Dinas Lingkungan Hidup" in body
    values = buttons(out[-1])
    assert values[0] == f"/arahkan {number} DLH" and labels(out[-1])["➡️ DLH (usulan)"] == values[0]
    assert f"/arahkan {number} PUPR" in values and f"/arahkan {number} KOMINFO" in values
    assert values.count(f"/arahkan {number} DLH") == 1 and f"/lihat {number}" in values

    out = await coord.press(f"/arahkan {number} DLH")
    assert "diarahkan ke Dinas Lingkungan Hidup" in text_of(out)
    assert buttons(out[-1]) == ["/triase", "/menu"]
    note = await dlh.settle()
    assert number in text_of(note) and "diarahkan koordinator" in text_of(note)
    assert f"/balas {number}" in buttons(note[-1])
    assert number in text_of(await citizen.settle())
    async with db.unit_of_work() as uow:
        c = (await uow.session.execute(select(Complaint).where(Complaint.number == number))).scalar_one()
    assert (c.state, c.opd_code) == ("disposisi", "DLH")

    # pressed again (an old message): refused, nothing routed twice
    out = await coord.press(f"/arahkan {number} PUPR")
    assert "tidak bisa dilakukan sekarang" in text_of(out)
    assert "Baru masuk OPD, belum dijawab" in text_of(out)


async def test_a_returned_complaint_is_not_suggested_to_the_opd_that_returned_it(world):
    tg, app = world
    coord = await person(tg, app, 900, "Bu Koordinator", role="coordinator")
    pupr = await person(tg, app, 501, "Pak Rudi", role="officer", opd="PUPR")
    citizen = await person(tg, app, 102, "Andi")
    number = await file_complaint(citizen, ROAD)  # routed to PUPR by the router
    await pupr.settle()
    out = await pupr.send(f"/kembalikan {number} bukan kewenangan kami")
    assert buttons(out[-1]) == ["/antrian", "/menu"]
    note = await coord.settle()
    assert "bukan kewenangan kami" in text_of(note)
    assert f"/arahkan {number} PUPR" not in buttons(note[-1]) and f"/arahkan {number}" in buttons(note[-1])
    out = await coord.press(f"/arahkan {number}")
    assert "(usulan)" not in str(labels(out[-1])) and "Usulan sistem" not in text_of(out)
    assert f"/arahkan {number} PUPR" in buttons(out[-1])  # still possible, just not proposed


async def test_routing_to_an_opd_without_officers_says_so(world):
    tg, app = world
    coord = await person(tg, app, 900, "Bu Koordinator", role="coordinator")
    citizen = await person(tg, app, 102, "Andi")
    number = await file_complaint(citizen, MIXED)
    await coord.settle()
    out = await coord.send(f"/arahkan {number} dlx")  # a typo: the OPD buttons again
    assert 'Kode OPD "dlx" tidak dikenal' in text_of(out) and f"/arahkan {number} DLH" in buttons(out[-1])
    out = await coord.send(f"/arahkan {number} dishub")
    assert "Dinas Perhubungan belum punya petugas di Kanal" in text_of(out) and "/undang DISHUB" in text_of(out)


async def test_coordinator_queue_without_opd_offers_a_button_per_opd(world):
    tg, app = world
    coord = await person(tg, app, 900, "Bu Koordinator", role="coordinator")
    officer = await person(tg, app, 501, "Pak Rudi", role="officer", opd="PUPR")
    citizen = await person(tg, app, 102, "Andi")
    number = await file_complaint(citizen, ROAD)
    await officer.settle()

    out = await coord.send("/antrian")
    assert "Antrian OPD mana?" in text_of(out)
    opd_buttons = labels(out[-1])
    assert list(opd_buttons)[0] == "PUPR (1)" and opd_buttons["PUPR (1)"] == "/antrian PUPR"
    assert opd_buttons["DLH"] == "/antrian DLH" and len(opd_buttons) == 12
    out = await coord.press("/antrian PUPR")
    assert "Antrean Dinas Pekerjaan Umum" in text_of(out) and number in text_of(out)
    out = await coord.press("/antrian DLH")
    assert "Tidak ada pengaduan terbuka" in text_of(out) and buttons(out[-1]) == ["/menu"]


async def test_near_miss_commands_suggest_the_intended_one(world):
    tg, app = world
    officer = await person(tg, app, 501, "Pak Rudi", role="officer", opd="PUPR")
    citizen = await person(tg, app, 101, "Siti")

    out = await officer.send("/antrain")
    assert "Maksud Anda /antrian?" in text_of(out) and buttons(out[-1])[0] == "/antrian"
    out = await officer.press("/antrian")
    assert "Tidak ada pengaduan terbuka" in text_of(out)

    out = await citizen.send("/statsu")
    assert "Perintah /statsu tidak dikenal. Maksud Anda /status?" in text_of(out)
    out = await citizen.send("/lpor")
    assert "Maksud Anda /lapor?" in text_of(out) and buttons(out[-1])[0] == "/lapor"
    out = await citizen.press(buttons(out[-1])[0])
    assert "Ceritakan masalah" in text_of(out)
    await citizen.send("/batal")
    # what was typed after the command goes with it
    out = await citizen.send("/statsu ADU-2026-00001")
    assert buttons(out[-1])[0] == "/status ADU-2026-00001"
    # a citizen is never offered a staff command; something far from any command is just unknown
    out = await citizen.send("/antrain")
    assert "Maksud Anda" not in text_of(out) and "tidak dikenal" in text_of(out)
    out = await citizen.send("/qwerty")
    assert "Maksud Anda" not in text_of(out) and "/qwerty tidak dikenal" in text_of(out)


async def test_help_is_short_grouped_by_role_with_details_on_demand(world):
    tg, app = world
    citizen = await person(tg, app, 101, "Siti")
    officer = await person(tg, app, 501, "Pak Rudi", role="officer", opd="PUPR")
    coord = await person(tg, app, 900, "Bu Koordinator", role="coordinator")

    out = await citizen.send("/bantuan")
    body = text_of(out)
    assert len(body.splitlines()) <= 10, body
    assert "📣 Pengaduan: /lapor /status /tambah /nilai" in body and "/antrian" not in body
    assert "/bantuan pengaduan" in buttons(out[-1])
    out = await citizen.send("/bantuan lapor")
    assert "/lapor — buat pengaduan" in text_of(out) or "/lapor —" in text_of(out)
    assert "/status [nomor [PIN]]" in text_of(out) and "/survei" not in text_of(out)
    out = await citizen.press("/bantuan akun")
    assert "/hapusdata" in text_of(out) and "/bahasa [id|en]" in text_of(out)

    out = await officer.send("/bantuan")
    body = text_of(out)
    assert len(body.splitlines()) <= 12, body
    assert "/antrian" in body and "/balas" in body and "/triase" not in body and "/undang" not in body
    out = await officer.send("/bantuan balas")
    assert "/balas <nomor> <teks> — jawab pelapor" in text_of(out) and "/kembalikan" in text_of(out)

    out = await coord.send("/bantuan")
    body = text_of(out)
    assert body.index("/triase") < body.index("/antrian") and "/undang" in body and "/kembalikan" not in body
    out = await coord.send("/bantuan arahkn")  # a near miss finds its group
    assert "/arahkan <nomor> <KODE-OPD>" in text_of(out)
    out = await coord.send("/bantuan xyz")
    assert 'Tidak ada bantuan tentang "xyz"' in text_of(out)


async def test_map_link_and_photo_captions_reach_the_officer(world, db):
    tg, app = world
    officer = await person(tg, app, 501, "Pak Rudi", role="officer", opd="PUPR")
    citizen = await person(tg, app, 101, "Siti")
    await citizen.send("/lapor")
    await citizen.send(ROAD)
    await citizen.photo(caption="lubang paling besar dekat warung")
    await citizen.photo()
    out = await citizen.press("lapor:next")
    assert "lapor:skip" in buttons(out[-1])
    await citizen.location(-7.25123, 112.75089)
    await citizen.press("lapor:privacy:biasa")
    out = await citizen.press("lapor:send")
    number = NUMBER_RE.findall(text_of(out))[0]

    note = text_of(await officer.settle())
    link = "https://www.openstreetmap.org/?mlat=-7.25123&mlon=112.75089#map=18/-7.25123/112.75089"
    assert link in note
    assert "📷 2 foto: “lubang paling besar dekat warung”" in note

    out = await officer.send(f"/lihat {number}")
    assert link in text_of(out)
    photos = [m for m in out if m.get("method", "").lower() == "sendphoto" or m.get("photo")]
    assert len(photos) == 2, out
    texts = [m.get("visible_text") or m.get("caption") or "" for m in out]
    first_photo = next(i for i, m in enumerate(out) if m in photos)
    assert "lubang paling besar dekat warung" in texts[first_photo - 1] + texts[first_photo]
    async with db.unit_of_work() as uow:
        stored = (await uow.session.execute(select(ComplaintPhoto.caption).order_by(ComplaintPhoto.id))).all()
    assert [row[0] for row in stored] == ["lubang paling besar dekat warung", None]


async def test_arahkan_on_whatsapp_by_tap_then_typed_number(settings, clock):
    """A coordinator on WhatsApp: the triage notice's "➡️ Arahkan" reply button, then the OPDs —
    more than a list holds, so numbered text — answered by typing "1" (the suggested OPD)."""
    from tests.flows.test_whatsapp_flows import WaPerson, both_channels, kind, offered, texts

    async with both_channels(settings, clock) as (tg, wa, app):
        dlh = await person(tg, app, 503, "Petugas DLH", role="officer", opd="DLH")
        coord = WaPerson(wa, app, "6281234500900", "Bu Koordinator")
        await coord.send("Halo")
        await coord.tap(value="consent:yes")
        out = await coord.send(f"/gabung {await invite_code(app, 'coordinator')}")
        assert "terdaftar sebagai koordinator" in texts(out)
        assert kind(out[-1]) == "list" and offered(out[-1])[0]["id"] == "/triase"  # the role menu
        citizen = await person(tg, app, 102, "Andi")
        number = await file_complaint(citizen, MIXED)

        note = await coord.settle()
        assert number in texts(note) and kind(note[-1]) == "button"
        out = await coord.tap(value=f"/arahkan {number}")
        assert f"Arahkan {number} ke OPD mana?" in texts(out) and "1. ➡️ DLH (usulan)" in texts(out)
        out = await coord.send("1")
        assert "diarahkan ke Dinas Lingkungan Hidup" in texts(out)
        assert number in text_of(await dlh.settle())
