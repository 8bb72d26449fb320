"""Consent keeps the message it interrupted, /datasaya shows a person what is stored about them
(and nothing of anyone else), and staff read complaint notices in their own language; through PTB
against the fake Bot API server."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from handlers.account import account_mydata
from storage.models import Complaint, ConversationState, User
from testkit.tg_chat import NUMBER_RE, Chat, buttons, invite_code, person, running, text_of

ROAD = "Jalan rusak parah di depan SDN 2 Sukamaju, lubangnya dalam sekali dan sudah ada motor jatuh kemarin sore."
UNCLEAR = "Saya mau tanya prosedurnya bagaimana ya, bingung harus ke mana dulu."
#: abbreviations only English dates use (Indonesian: Sen Sel Rab Kam Jum Sab Min, Mei Agu Okt Des)
ENGLISH_DATE = re.compile(r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun|May|Aug|Oct|Dec)\b")
INDONESIAN_DATE = re.compile(r"\b(Sen|Sel|Rab|Kam|Jum|Sab|Min), \d{1,2} [A-Z][a-z]{2} \d{4}\b")


@pytest.fixture
async def world(settings):
    async with running(settings) as (tg, app):
        yield tg, app


async def file_complaint(citizen: Chat, text: str, privacy: str = "biasa") -> tuple[str, str]:
    """The tracking number and the receipt's text."""
    await citizen.send("/lapor")
    out = await citizen.send(text)
    assert "lapor:next" in buttons(out[-1]), text_of(out)
    await citizen.press("lapor:next")
    await citizen.press("lapor:skip")
    await citizen.press(f"lapor:privacy:{privacy}")
    out = await citizen.press("lapor:send")
    numbers = NUMBER_RE.findall(text_of(out))
    assert numbers, text_of(out)
    return numbers[0], text_of(out)


async def state_of(app, chat_id: int) -> ConversationState | None:
    async with app.db.unit_of_work() as uow:
        user = (await uow.session.execute(select(User).where(User.external_id == str(chat_id)))).scalar_one()
        return await uow.session.get(ConversationState, user.id)


async def seed_survey_and_forum(app, chat_id: int, forum_title: str) -> None:
    """A complete SKM questionnaire and a forum registration of the person in ``chat_id``."""
    async with app.db.unit_of_work() as uow:
        user = (await uow.session.execute(select(User).where(User.external_id == str(chat_id)))).scalar_one()
        now = app.clock.now()
        row = uow.skm.start(
            user_id=user.id,
            unit_code="PUPR-BM",
            opd_code="PUPR",
            service_code=None,
            channel="telegram",
            period_key="2026-S2",
            now=now,
            profile={},
        )
        for i in range(1, 10):
            setattr(row, f"u{i}", 3)
        row.status, row.finished_at = "complete", now
        forum = await uow.forum.create(
            opd_code="PUPR",
            title=forum_title,
            topic="Jalan",
            starts_at=now + timedelta(days=3),
            place="Aula",
            online_url=None,
            capacity=50,
            description="-",
            agenda="1. Pembukaan",
            status="published",
            created_via="cli",
            created_at=now,
        )
        await uow.forum.register(forum.id, user.id, now)
        await uow.commit()


# ---- consent --------------------------------------------------------------------------------------
async def test_the_notice_is_short_and_the_full_text_is_one_button_away(world):
    tg, app = world
    chat = Chat(tg, app, 300, "Rina")
    out = await chat.send("/start")
    notice = out[-1]
    assert "UU No. 27/2022" in notice["visible_text"]
    assert len(notice["visible_text"].splitlines()) <= 4  # the title and three lines
    assert buttons(notice) == ["consent:yes", "consent:no", "consent:more"]  # three: WhatsApp buttons
    assert "/datasaya" in notice["visible_text"] and "/hapusdata" in notice["visible_text"]

    out = await chat.press("consent:more")
    full = out[-1]["visible_text"]
    assert "2 tahun setelah laporan ditutup" in full and "730" not in full  # KANAL_RETENTION_DAYS=730
    for offered in ("/datasaya", "/hapusdata", "/bahasa"):
        assert offered in full
    assert "memperbaiki" not in full  # no right the bot does not offer
    assert {"consent:yes", "consent:no", "/bahasa"} <= set(buttons(out[-1]))

    out = await chat.send("Iya")  # typed
    assert "Persetujuan Anda kami catat" in text_of(out)


async def test_a_command_sent_before_consent_runs_after_typed_setuju(world):
    tg, app = world
    code = await invite_code(app, "officer", "PUPR")
    chat = Chat(tg, app, 301, "Pak Budi")
    out = await chat.send(f"/gabung {code}")
    assert "UU No. 27/2022" in text_of(out) and "terdaftar sebagai petugas" not in text_of(out)
    out = await chat.send("setuju")
    assert "Persetujuan Anda kami catat" in text_of(out)
    assert "terdaftar sebagai petugas" in text_of(out)  # the /gabung, without sending it again
    async with app.db.unit_of_work() as uow:
        user = (await uow.session.execute(select(User).where(User.external_id == "301"))).scalar_one()
        assert (user.role, user.opd_code) == ("officer", "PUPR")
    assert (await state_of(app, 301)).data.get("pending") is None


async def test_a_complaint_typed_before_consent_is_taken_after_the_button(world):
    tg, app = world
    chat = Chat(tg, app, 302, "Bu Sari")
    out = await chat.send(f"/lapor {ROAD}")
    assert "UU No. 27/2022" in text_of(out)
    out = await chat.press("consent:yes")
    assert "lapor:next" in buttons(out[-1])  # the text was taken: the flow asks for photos
    await chat.press("lapor:next")
    await chat.press("lapor:skip")
    await chat.press("lapor:privacy:biasa")
    out = await chat.press("lapor:send")
    assert NUMBER_RE.findall(text_of(out))
    async with app.db.unit_of_work() as uow:
        assert (await uow.session.execute(select(Complaint.text))).scalar_one() == ROAD


async def test_plain_text_before_consent_gets_what_it_gets_after_consent(world):
    """A typed first message is routed again once the person agrees: the same answer as a person
    who had agreed before gets for it (whatever the router makes of free text)."""
    tg, app = world
    before = Chat(tg, app, 303, "Pak Joko")
    out = await before.send(ROAD)
    assert "UU No. 27/2022" in text_of(out)
    assert (await state_of(app, 303)).data["pending"] == ROAD
    after = await person(tg, app, 304, "Pak Joko")
    expected = [m["visible_text"] for m in await after.send(ROAD)]
    out = await before.press("consent:yes")
    assert out[0]["visible_text"].startswith("Terima kasih. Persetujuan Anda kami catat")
    assert [m["visible_text"] for m in out[1:]] == expected


async def test_a_refusal_keeps_nothing_and_the_next_message_offers_the_button_again(world):
    tg, app = world
    chat = Chat(tg, app, 305, "Pak Andi")
    await chat.send("/lapor Lampu jalan di gang mawar mati semua")
    out = await chat.press("consent:no")
    assert "tidak ada data yang kami proses" in text_of(out) and '"Saya setuju"' in text_of(out)
    state = await state_of(app, 305)
    assert state.flow is None and not state.data  # the pending complaint is gone
    out = await chat.send("halo")
    assert "UU No. 27/2022" in text_of(out) and "consent:yes" in buttons(out[-1])
    out = await chat.press("consent:yes")
    assert "Persetujuan Anda kami catat" in text_of(out)
    assert "lapor:next" not in str([buttons(m) for m in out])  # the refused complaint did not come back


async def test_a_deep_link_still_runs_after_consent(world):
    tg, app = world
    chat = Chat(tg, app, 306, "Bu Nur")
    await chat.send("/start skm_PUPR-BM")
    out = await chat.send("ok")
    assert "Persetujuan Anda kami catat" in text_of(out)
    assert "Menu utama" not in text_of(out)  # the survey of the unit, not the menu
    assert (await state_of(app, 306)).flow == "skm"


# ---- /datasaya --------------------------------------------------------------------------------------
async def test_my_data_shows_my_records_and_nothing_of_others(world, monkeypatch):
    tg, app = world
    siti = await person(tg, app, 310, "Siti Aminah", username="siti_a")
    other = await person(tg, app, 311, "Bambang Tetangga", username="bambang_t")
    mine, _ = await file_complaint(siti, "=1+1 " + ROAD)  # a formula-looking start, for the CSV
    theirs, _ = await file_complaint(other, "Sampah menumpuk di pasar Sukamaju sudah seminggu tidak diangkut.")
    await seed_survey_and_forum(app, 310, "Forum Jalan Desa Sukamaju")
    await seed_survey_and_forum(app, 311, "Forum Rahasia Tetangga")

    out = await siti.send("/datasaya")
    text = text_of(out)
    for expected in (
        "Siti Aminah",
        "@siti_a",
        "Bahasa Indonesia",
        "warga",
        mine,
        "Sukamaju, lubangnya",
        "Setuju sejak",
    ):
        assert expected in text, expected
    assert "Sedang diperiksa petugas" in text or "Sudah diteruskan ke" in text  # the citizen's words
    assert "Survei kepuasan: 1 kuesioner lengkap" in text and "2026-S2: PUPR-BM: 1 kuesioner lengkap" in text
    assert "Forum warga: 1 pendaftaran" in text and "Forum Jalan Desa Sukamaju" in text and "terdaftar" in text
    for foreign in (theirs, "Bambang", "bambang_t", "Sampah menumpuk", "Forum Rahasia Tetangga"):
        assert foreign not in text, foreign

    monkeypatch.setattr(account_mydata, "MAX_MESSAGE", 200)  # as if Siti had many long reports
    out = await siti.send("/mydata")
    docs = [m for m in out if m["method"] == "sendDocument"]
    assert len(docs) == 1 and "berkas terlampir" in text_of(out)
    rows = list(csv.reader(io.StringIO(docs[0]["media"]["data"].decode("utf-8-sig"))))
    assert rows[0] == ["Bagian", "Butir", "Isi"]
    flat = "\n".join(",".join(r) for r in rows)
    assert mine in flat and "Siti Aminah" in flat
    assert theirs not in flat and "Bambang" not in flat and "Forum Rahasia" not in flat
    assert "Forum Jalan Desa Sukamaju" in flat
    complaint_cells = [r[2] for r in rows if r[1] == mine]
    assert complaint_cells and "“=1+1" in complaint_cells[0]  # inside the cell, not at its start
    assert all(not cell.startswith(("=", "+", "-", "@")) for r in rows for cell in r)


# ---- the reader's language ------------------------------------------------------------------------
async def test_an_english_citizens_complaint_reaches_indonesian_staff_in_indonesian(world):
    tg, app = world
    coord = await person(tg, app, 320, "Bu Koordinator", role="coordinator")
    coord_en = await person(tg, app, 321, "Coordinator", role="coordinator")
    await coord_en.send("/bahasa en")
    officer = await person(tg, app, 322, "Pak Rudi", role="officer", opd="PUPR")
    citizen = await person(tg, app, 323, "John")
    await citizen.send("/language en")

    routed, receipt = await file_complaint(citizen, ROAD)  # to PUPR
    assert ENGLISH_DATE.search(receipt) and not INDONESIAN_DATE.search(receipt)  # the citizen's own: English
    unclear, _ = await file_complaint(citizen, UNCLEAR)  # to the coordinators
    for staff, number in ((officer, routed), (coord, unclear)):
        note = text_of(await staff.settle())
        assert number in note
        assert INDONESIAN_DATE.search(note), note
        assert not ENGLISH_DATE.search(note), note
        assert "Batas penyelesaian" in note and "Deadline" not in note
    note_en = text_of(await coord_en.settle())
    assert unclear in note_en and ENGLISH_DATE.search(note_en) and not INDONESIAN_DATE.search(note_en)


async def test_citizens_read_plain_states_and_english_help_shows_english_placeholders(world):
    tg, app = world
    citizen = await person(tg, app, 330, "Siti")
    number, receipt = await file_complaint(citizen, ROAD)
    out = await citizen.send(f"/status {number}")
    assert "Sudah diteruskan ke Dinas Pekerjaan Umum dan Penataan Ruang, menunggu tanggapan" in text_of(out)
    for word in ("Didisposisikan", "triase", "verifikasi", "Ditindaklanjuti"):
        assert word not in text_of(out)

    await citizen.send("/language en")
    out = await citizen.send("/help")
    assert "/mydata" in text_of(out)
    out = await citizen.send("/help survey")  # the usage is in a group's details
    assert "[UNIT-CODE]" in text_of(out) and "[KODE-UNIT]" not in text_of(out)


async def test_choosing_a_language_on_the_notice_keeps_the_pending_message(world):
    tg, app = world
    code = await invite_code(app, "coordinator")
    chat = Chat(tg, app, 307, "Mr Smith")
    await chat.send(f"/join {code}")
    await chat.press("consent:more")
    await chat.press("/bahasa")
    out = await chat.press("lang:en")
    assert text_of(out).count("Before we start, we need your consent") == 1
    out = await chat.send("yes")
    assert "Thank you" in text_of(out) and "coordinator" in text_of(out)
    async with app.db.unit_of_work() as uow:
        user = (await uow.session.execute(select(User).where(User.external_id == "307"))).scalar_one()
        assert user.role == "coordinator"
