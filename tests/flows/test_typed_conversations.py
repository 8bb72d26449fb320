"""Issue 18 acceptance: people who type instead of tapping, through the real Telegram adapter (PTB
against the fake Bot API server). No button is pressed in these conversations: every answer is
typed as a person would type it, and what the bot stored is checked."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage.models import (
    Complaint,
    ComplaintEvent,
    ComplaintPhoto,
    ConversationState,
    RespondentProfile,
    SurveyResponse,
    User,
)
from testkit.tg_chat import NUMBER_RE, buttons, labels, person, running, text_of

ROAD = "Jalan di depan rumah saya rusak parah, banyak lubang besar sejak bulan lalu dan sudah ada motor jatuh"
REPLY = "Baik pak, lubang yang paling besar dekat warung Bu Siti"


@pytest.fixture
async def world(settings):
    async with running(settings) as (tg, app):
        yield tg, app


async def typed_complaint(citizen, first_sentence: str) -> str:
    """A complaint from a natural first sentence to its tracking number, every answer typed."""
    out = await citizen.send(first_sentence)
    assert "Mau dijadikan pengaduan?" in text_of(out)
    out = await citizen.send("iya")
    assert "foto" in text_of(out).lower()
    out = await citizen.send("lanjut")
    assert "lokasi" in text_of(out).lower()
    out = await citizen.send("lewati")
    assert "Biasa" in text_of(out) or "biasa" in text_of(out)
    out = await citizen.send("biasa")
    assert "Kirim laporan ini?" in text_of(out)
    out = await citizen.send("kirim")
    numbers = NUMBER_RE.findall(text_of(out))
    assert numbers, text_of(out)
    return numbers[0]


async def test_a_complaint_from_a_natural_first_sentence(world, db):
    tg, app = world
    citizen = await person(tg, app, 1101, "Siti Aminah")
    number = await typed_complaint(citizen, ROAD)
    async with db.unit_of_work() as uow:
        c = (await uow.session.execute(select(Complaint).where(Complaint.number == number))).scalar_one()
    assert c.text == ROAD and c.privacy == "biasa" and c.latitude is None


async def test_a_story_told_in_several_messages_is_kept_whole(world, db):
    tg, app = world
    citizen = await person(tg, app, 1110, "Bu Sri")
    await citizen.send("lapor")
    await citizen.send("Lampu jalan di gang Mawar mati")
    out = await citizen.send("sudah dua minggu, gelap sekali kalau malam")
    assert "kami tambahkan ke laporan" in text_of(out)
    for typed in ("lanjut", "lewati", "biasa"):
        out = await citizen.send(typed)
    assert "sudah dua minggu" in text_of(out)  # the summary shows the whole story
    out = await citizen.send("kirim")
    number = NUMBER_RE.findall(text_of(out))[0]
    async with db.unit_of_work() as uow:
        c = (await uow.session.execute(select(Complaint).where(Complaint.number == number))).scalar_one()
    assert c.text == "Lampu jalan di gang Mawar mati\nsudah dua minggu, gelap sekali kalau malam"


async def test_words_instead_of_commands(world):
    tg, app = world
    citizen = await person(tg, app, 1102, "Budi")
    out = await citizen.send("halo")
    assert "Ada yang bisa kami bantu?" in text_of(out) and "/lapor" in buttons(out[-1])
    out = await citizen.send("Selamat pagi pak, apa kabar?")  # small talk after a greeting is still one
    assert "Ada yang bisa kami bantu?" in text_of(out)
    out = await citizen.send("Lapor")
    assert "Ceritakan masalah" in text_of(out)
    out = await citizen.send("batal")
    assert "Dibatalkan" in text_of(out)
    out = await citizen.send("status")
    assert "belum pernah membuat laporan" in text_of(out)
    out = await citizen.send("asdfgh")
    assert "belum mengerti" in text_of(out) and "lapor" in text_of(out)
    out = await citizen.send("saya mau lapor")  # the wish said with it
    assert "Ceritakan masalah" in text_of(out)
    await citizen.send("batal")
    out = await citizen.send("Ingin cek status")
    assert "belum pernah membuat laporan" in text_of(out)
    out = await citizen.send("mau")  # a wish word alone is no command
    assert "Ceritakan masalah" not in text_of(out)


async def test_a_whole_questionnaire_typed(world, db):
    tg, app = world
    citizen = await person(tg, app, 1103, "Dewi")
    out = await citizen.send("survei")
    assert "instansi mana" in text_of(out)
    out = await citizen.send("dinas")  # fits too many to list: type more
    assert "yang cocok dengan “dinas”. Ketik lebih lengkap" in text_of(out)
    out = await citizen.send("dinas pen")  # a few: which one?
    assert "Maksud Anda yang mana?" in text_of(out) and len(buttons(out[-1])) > 2
    out = await citizen.send("kesehatan")  # a word of "Dinas Kesehatan", which may be on any page
    units = [v for v in buttons(out[-1]) if v.startswith("skm:unit:")]
    assert units, text_of(out)
    unit = units[0].split(":")[2]
    out = await citizen.send("1")
    services = [v for v in buttons(out[-1]) if v.startswith("skm:svc:")]
    service = services[1].split(":")[2]
    out = await citizen.send("2")
    assert "umur" in text_of(out).lower()
    out = await citizen.send("35")
    assert "jenis kelamin" in text_of(out).lower()
    out = await citizen.send("laki-laki")
    assert "pendidikan" in text_of(out).lower()
    out = await citizen.send("apa ya")  # not one of the choices: told why, asked again
    assert "tidak ada di pilihan" in text_of(out) and "pendidikan" in text_of(out).lower()
    out = await citizen.send("lewati")
    out = await citizen.send("lewati")
    assert "Pertanyaan 1 dari 9" in text_of(out)
    assert "1 · Tidak sesuai" in labels(out[-1])  # numbered buttons: the number may be typed
    typed = ["sesuai", "sangat mudah", "2", "murah", "Sesuai", "sangat kompeten", "1", "bagus", "dikelola dengan baik"]
    for i, answer in enumerate(typed, start=1):
        if i == 4:
            out = await citizen.send("lumayan")  # no such answer: why, and the same question
            assert "bukan salah satu jawaban" in text_of(out) and "Pertanyaan 4 dari 9" in text_of(out)
        out = await citizen.send(answer)
    assert "saran" in text_of(out).lower()
    out = await citizen.send("tidak ada")
    assert "Terima kasih" in text_of(out)
    async with db.unit_of_work() as uow:
        row = (await uow.session.execute(select(SurveyResponse))).scalar_one()
        user = (await uow.session.execute(select(User).where(User.external_id == "1103"))).scalar_one()
        profile = (
            await uow.session.execute(select(RespondentProfile).where(RespondentProfile.user_id == user.id))
        ).scalar_one()
    answers = [getattr(row, f"u{i}") for i in range(1, 10)]
    assert answers == [3, 4, 2, 3, 3, 4, 1, 3, 4]
    assert (row.status, row.unit_code, row.service_code, row.saran) == ("complete", unit, service, None)
    assert (profile.umur, profile.jenis_kelamin, profile.pendidikan) == ("30-39", "L", None)


async def test_batal_typed_leaves_any_flow(world, db):
    tg, app = world
    citizen = await person(tg, app, 1104, "Rina")
    for start in ("/lapor", "/survei", "/forum"):
        await citizen.send(start)
        out = await citizen.send("Batal")
        assert "Dibatalkan" in text_of(out) or "Tidak ada proses" in text_of(out), (start, text_of(out))
        async with db.unit_of_work() as uow:
            user = (await uow.session.execute(select(User).where(User.external_id == "1104"))).scalar_one()
            state = await uow.session.get(ConversationState, user.id)
        assert state.flow is None, start


async def test_an_officer_answer_and_the_citizens_plain_reply(world, db):
    tg, app = world
    officer = await person(tg, app, 1501, "Pak Rudi", role="officer", opd="PUPR")
    citizen = await person(tg, app, 1105, "Siti")
    number = await typed_complaint(citizen, ROAD)
    await officer.settle()
    await officer.send(f"/balas {number} Terima kasih. Lubang yang mana yang paling besar?")
    got = await citizen.settle()
    assert "Lubang yang mana" in text_of(got) and f"/tambah {number}" in buttons(got[-1])

    out = await citizen.send(REPLY)  # a plain answer, no button
    assert f"Tambahkan pesan ini ke laporan Anda {number}?" in text_of(out)
    out = await citizen.send("ya")
    assert "Sudah ditambahkan" in text_of(out)
    note = await officer.settle()
    assert REPLY in text_of(note) and number in text_of(note) and "Siti" in text_of(note)

    out = await officer.send(f"lihat {number}")  # staff type their commands' words too
    assert REPLY in text_of(out) and "Tambahan dari pelapor" in text_of(out)
    out = await officer.send("antrian")
    assert number in text_of(out)
    out = await citizen.send(f"status {number}")
    assert REPLY in text_of(out)
    async with db.unit_of_work() as uow:
        actions = (await uow.session.execute(select(ComplaintEvent.action, ComplaintEvent.text))).all()
    assert ("followup", REPLY) in actions


async def test_an_anonymous_reporters_follow_up_stays_anonymous(world):
    tg, app = world
    officer = await person(tg, app, 1502, "Pak Rudi", role="officer", opd="PUPR")
    citizen = await person(tg, app, 1106, "Joko Prasetyo", username="joko_p")
    await citizen.send(ROAD)
    await citizen.send("ya")
    await citizen.send("lanjut")
    await citizen.send("lewati")
    await citizen.send("anonim")
    out = await citizen.send("kirim")
    number = NUMBER_RE.findall(text_of(out))[0]
    await officer.settle()
    await officer.send(f"/balas {number} Di RT berapa?")
    await citizen.settle()
    await citizen.send("RT 03 RW 02, dekat masjid")
    await citizen.send("iya")
    note = await officer.settle()
    assert "RT 03 RW 02" in text_of(note)
    assert "Joko" not in text_of(note) and "joko_p" not in text_of(note) and "Anonim" in text_of(note)


async def test_puas_typed_rates_a_resolved_complaint(world, db):
    tg, app = world
    officer = await person(tg, app, 1503, "Pak Rudi", role="officer", opd="PUPR")
    citizen = await person(tg, app, 1107, "Wati")
    number = await typed_complaint(citizen, ROAD)
    await officer.settle()
    await officer.send(f"/selesai {number} Lubang sudah ditambal hari ini.")
    got = await citizen.settle()
    assert "ditambal" in text_of(got)
    out = await citizen.send("puas")
    assert "Terima kasih atas penilaian Anda" in text_of(out)
    async with db.unit_of_work() as uow:
        c = (await uow.session.execute(select(Complaint).where(Complaint.number == number))).scalar_one()
    assert c.state == "ditutup" and c.rating == "puas"


# ---- WhatsApp: the same typed conversation through the Cloud API adapter -------------------------
@pytest.fixture
async def both(settings, clock):
    from tests.flows.test_whatsapp_flows import both_channels

    async with both_channels(settings, clock) as w:
        yield w


async def test_whatsapp_a_complaint_typed_before_consent_is_filed_after_setuju(both, db):
    from tests.flows.test_whatsapp_flows import WaPerson, texts

    tg, wa, app = both
    officer = await person(tg, app, 1601, "Bu Ratna", role="officer", opd="PDAM")
    warga = WaPerson(wa, app, "6285700011122", "Dewi Lestari")
    water = "Air PDAM tidak mengalir sejak tiga hari di rumah kami, mohon segera diperbaiki"
    out = await warga.send(water)
    assert "setuju" in texts(out).lower()
    out = await warga.send("setuju")
    assert "Mau dijadikan pengaduan?" in texts(out) and water in texts(out)
    for typed in ("iya", "lanjut", "tidak ada", "rahasia"):
        out = await warga.send(typed)
    assert "Kirim laporan ini?" in texts(out)
    out = await warga.send("kirim")
    number = NUMBER_RE.findall(texts(out))[0]
    note = await officer.settle()
    assert number in text_of(note)
    await officer.send(f"/balas {number} Alamat lengkapnya di mana, Bu?")
    got = await warga.settle()
    assert "Alamat lengkapnya" in texts(got)
    await warga.send("Jl. Melati No. 7, dekat masjid Al-Ikhlas")
    out = await warga.send("ya")
    assert "Sudah ditambahkan" in texts(out)
    note = await officer.settle()
    assert "Jl. Melati No. 7" in text_of(note)
    async with db.unit_of_work() as uow:
        c = (await uow.session.execute(select(Complaint).where(Complaint.number == number))).scalar_one()
    assert c.text == water and c.privacy == "rahasia" and c.opd_code == "PDAM"


async def test_a_photo_outside_a_flow_starts_a_complaint_or_joins_the_open_one(world, db):
    tg, app = world
    citizen = await person(tg, app, 1108, "Tono")
    out = await citizen.photo()
    assert "Mau dijadikan pengaduan?" in text_of(out) and "1 foto" in text_of(out)
    out = await citizen.send("ya")
    assert "Ceritakan masalahnya" in text_of(out)  # the photo is kept; the description is asked for
    out = await citizen.send(ROAD)
    assert "sudah 1" in text_of(out)
    for typed in ("lanjut", "lewati", "biasa"):
        out = await citizen.send(typed)
    out = await citizen.send("kirim")
    number = NUMBER_RE.findall(text_of(out))[0]
    out = await citizen.photo(caption="lubang kedua di sebelahnya")
    assert f"laporan Anda {number}" in text_of(out) and "lubang kedua" in text_of(out)
    out = await citizen.send("iya")
    assert "Sudah ditambahkan" in text_of(out)
    async with db.unit_of_work() as uow:
        c = (await uow.session.execute(select(Complaint).where(Complaint.number == number))).scalar_one()
        photos = (await uow.session.execute(select(ComplaintPhoto).where(ComplaintPhoto.complaint_id == c.id))).all()
    assert len(photos) == 2


async def test_a_voice_note_outside_a_flow_files_a_complaint_and_answers_an_officer(world, db):
    tg, app = world
    officer = await person(tg, app, 1504, "Pak Rudi", role="officer", opd="PUPR")
    coord = await person(tg, app, 1901, "Bu Koordinator", role="coordinator")
    citizen = await person(tg, app, 1109, "Mbah Karto")
    ref, out = await citizen.voice(duration=42)
    assert "Mau dijadikan pengaduan?" in text_of(out) and "0:42" in text_of(out)
    out = await citizen.send("iya")
    assert "foto" in text_of(out).lower()  # the voice note is the description
    for typed in ("lanjut", "lewati", "biasa"):
        out = await citizen.send(typed)
    out = await citizen.send("kirim")
    number = NUMBER_RE.findall(text_of(out))[0]
    await coord.settle()
    await coord.send(f"/arahkan {number} PUPR")
    await officer.settle()
    await officer.send(f"/balas {number} Di mana tepatnya, Mbah?")
    await citizen.settle()
    ref2, out = await citizen.voice(duration=15)  # the answer, spoken
    assert f"laporan Anda {number}" in text_of(out) and "0:15" in text_of(out)
    out = await citizen.send("ya")
    assert "Sudah ditambahkan" in text_of(out)
    note = await officer.settle()
    assert number in text_of(note)
    assert [m["media"]["file_id"] for m in note if m["method"] == "sendVoice"] == [ref2]


async def test_an_offer_answered_with_something_else_is_offered_again(world):
    tg, app = world
    citizen = await person(tg, app, 1111, "Pak Dul")
    await citizen.send(ROAD)
    out = await citizen.press("skm:a:0:1")  # an old button of another flow
    assert "Pilih salah satu tombol di bawah" in text_of(out) and "Mau dijadikan pengaduan?" in text_of(out)
    assert "tawar:yes" in buttons(out[-1])
