"""Voice notes on Telegram (issue 18, item 8), through PTB against the fake Bot API server: a
citizen tells a complaint by voice note (and adds an audio file at the photos step), is told each
was received with its length, and the coordinators, then the OPD's officers, receive the very
same files as audio (``sendVoice``/``sendAudio`` with the citizen's file ids), in /lihat too."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage.models import Complaint, ComplaintPhoto, ComplaintVoice
from testkit.tg_chat import NUMBER_RE, buttons, person, running, text_of


@pytest.fixture
async def world(settings):
    async with running(settings) as (tg, app):
        yield tg, app


def media_of(messages: list[dict], method: str) -> list[str]:
    return [m["media"]["file_id"] for m in messages if m["method"] == method]


async def test_a_complaint_told_by_voice_note_reaches_the_handlers_as_audio(world, db):
    tg, app = world
    officer = await person(tg, app, 521, "Pak Rudi", role="officer", opd="PUPR")
    coord = await person(tg, app, 921, "Bu Koordinator", role="coordinator")
    citizen = await person(tg, app, 121, "Mbah Sastro")

    await citizen.send("/lapor")
    voice_id, out = await citizen.voice(duration=42)
    assert "Pesan suara 0:42 diterima." in text_of(out)
    assert "Ada foto pendukung?" in text_of(out) and "lapor:next" in buttons(out[-1])
    out = await citizen.photo(caption="lubangnya di sini")
    assert "Foto 1 dari maks. 5" in text_of(out)
    audio_id, out = await citizen.audio(duration=95)  # an audio file at the photos step: one more attachment
    assert "Pesan suara 1:35 diterima." in text_of(out) and "lapor:next" in buttons(out[-1])
    await citizen.press("lapor:next")
    out = await citizen.press("lapor:skip")
    assert "Petugas akan mendengar pesan suara Anda, juga jika Anda memilih Anonim." in text_of(out)
    out = await citizen.press("lapor:privacy:biasa")
    summary = text_of(out)
    assert "(pesan suara, 0:42)" in summary and "🎤 Pesan suara: 2" in summary and "📷 Foto: 1" in summary
    out = await citizen.press("lapor:send")
    (number,) = set(NUMBER_RE.findall(text_of(out)))

    # nothing to route by in "(pesan suara, 0:42)": the coordinators get the card, then both files
    note = await coord.settle()
    assert number in text_of(note) and "(pesan suara, 0:42)" in text_of(note)
    assert media_of(note, "sendVoice") == [voice_id] and media_of(note, "sendAudio") == [audio_id]
    voice_msg = next(m for m in note if m["method"] == "sendVoice")
    assert number in voice_msg["visible_text"] and "0:42" in voice_msg["visible_text"]
    assert officer.new() == []

    out = await coord.send(f"/arahkan {number} PUPR")
    assert "diarahkan" in text_of(out)
    note = await officer.settle()
    assert number in text_of(note)
    assert media_of(note, "sendVoice") == [voice_id] and media_of(note, "sendAudio") == [audio_id]

    out = await officer.send(f"/lihat {number}")
    assert media_of(out, "sendVoice") == [voice_id] and media_of(out, "sendAudio") == [audio_id]
    assert media_of(out, "sendPhoto")  # the photo as before

    async with db.unit_of_work() as uow:
        c = (await uow.session.execute(select(Complaint).where(Complaint.number == number))).scalar_one()
        voices = (
            (await uow.session.execute(select(ComplaintVoice).where(ComplaintVoice.complaint_id == c.id)))
            .scalars()
            .all()
        )
        photos = (
            (await uow.session.execute(select(ComplaintPhoto).where(ComplaintPhoto.complaint_id == c.id)))
            .scalars()
            .all()
        )
    assert c.text == "(pesan suara, 0:42)" and c.opd_code == "PUPR"
    assert [(v.file_ref, v.duration, v.mime_type, v.channel) for v in voices] == [
        (voice_id, 42, "audio/ogg", "telegram"),
        (audio_id, 95, "audio/mpeg", "telegram"),
    ]
    assert len(photos) == 1


async def test_voice_notes_beyond_the_limit_are_not_kept(world, db):
    tg, app = world
    citizen = await person(tg, app, 122, "Bu Tini")
    await citizen.send("/lapor")
    await citizen.voice(duration=5)
    await citizen.voice(duration=6)
    await citizen.voice(duration=7)
    _, out = await citizen.voice(duration=8)
    assert "Sudah 3 pesan suara" in text_of(out) and "lapor:next" in buttons(out[-1])
    await citizen.press("lapor:next")
    await citizen.press("lapor:skip")
    out = await citizen.press("lapor:privacy:biasa")
    assert "🎤 Pesan suara: 3" in text_of(out) and "(pesan suara, 0:05)" in text_of(out)


async def test_a_voice_note_outside_a_flow_is_offered_as_a_complaint(world):
    tg, app = world
    citizen = await person(tg, app, 123, "Pak Harjo")
    _, out = await citizen.voice(duration=12)
    shown = text_of(out)
    assert "Mau dijadikan pengaduan?" in shown and "0:12" in shown
    assert "belum bisa kami baca" not in shown


async def test_a_handler_who_refuses_voice_messages_gets_the_voice_note_as_a_file(world):
    """Telegram Premium users can refuse voice messages (sendVoice answers 400
    VOICE_MESSAGES_FORBIDDEN): the coordinator gets the same recording as a document instead,
    downloaded by its file id and uploaded again, with the same caption."""
    tg, app = world
    coord = await person(tg, app, 924, "Bu Koordinator", role="coordinator")
    tg.forbid_voice(924)
    citizen = await person(tg, app, 124, "Pak Darto")
    await citizen.send("/lapor")
    voice_id, _ = await citizen.voice(duration=42)
    await citizen.press("lapor:next")
    await citizen.press("lapor:skip")
    await citizen.press("lapor:privacy:biasa")
    (number,) = set(NUMBER_RE.findall(text_of(await citizen.press("lapor:send"))))

    note = await coord.settle()
    assert media_of(note, "sendVoice") == []
    (doc,) = [m for m in note if m["method"] == "sendDocument"]
    assert doc["media"]["data"] == tg.file_data(voice_id) and doc["media"]["filename"] == "pesan-suara.ogg"
    assert number in doc["visible_text"] and "0:42" in doc["visible_text"]
