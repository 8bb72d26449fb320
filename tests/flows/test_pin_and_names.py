"""Issue 19 items 5 and 6, channel-agnostic, through the dispatcher: a report survives a lost
cookie (the number and its PIN on another identity and channel, the same answer for a wrong PIN and
an unknown number, the lock after repeated wrong PINs, the PIN nowhere but the receipt), and names on
the web chat (asked, skipped, edited, shown to the officer; "tanpa nama (web chat)" against a real
erasure). Every answer of the citizens is typed, as a person would type it."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import orjson
import pytest
from sqlalchemy import select

from bot.channels.telegram.telegram_channel import render as tg_render
from bot.channels.web.web_channel import render as web_render
from bot.domain import complaint_pin
from bot.domain.messages import Inbound, Kind
from bot.domain.person_name import NOT_A_NAME, name_problem
from bot.domain.region import load_region_file
from bot.engine.dispatch import Dispatcher
from bot.logs import setup_logging
from bot.services.forum_export import attendance_rows, input_rows
from bot.services.regions import store_region
from handlers import build_router
from storage.models import AuditEvent, Complaint, ComplaintEvent, ConversationState, OutboxMessage, User

STORY = "Jalan di depan SDN 2 Sukamaju berlubang besar, sudah dua motor jatuh minggu ini."
OFFICER = "officer-pupr"
_n = iter(range(1, 10**6))


class Person:
    """One identity on one channel; ``say`` returns the texts (and buttons) it got for one message."""

    def __init__(self, dispatcher: Dispatcher, db, key: str, channel: str, name: str | None) -> None:
        self.dispatcher, self.db, self.key, self.channel, self.name = dispatcher, db, key, channel, name
        self.buttons: list[str] = []

    async def say(self, body: str, *, kind: Kind = Kind.TEXT) -> str:
        async with self.db.unit_of_work() as uow:
            last = (await uow.session.execute(select(OutboxMessage.id).order_by(OutboxMessage.id.desc()))).first()
        inbound = Inbound(
            channel=self.channel,
            user_key=self.key,
            external_id=f"pin{next(_n)}",
            kind=kind,
            text=body if kind is Kind.TEXT else None,
            choice=body if kind is Kind.CHOICE else None,
            display_name=self.name,
        )
        await self.dispatcher.handle(inbound)
        async with self.db.unit_of_work() as uow:
            stmt = select(OutboxMessage).where(
                OutboxMessage.id > (last[0] if last else 0), OutboxMessage.address == self.key
            )
            rows = (await uow.session.execute(stmt.order_by(OutboxMessage.id))).scalars().all()
        self.buttons = [
            c.get("value") or c.get("callback_data", "")
            for r in rows
            for c in (r.payload.get("choices") or _tg_buttons(r.payload))
        ]
        return "\n".join(r.payload.get("text", "") for r in rows)

    async def user(self) -> User:
        async with self.db.unit_of_work() as uow:
            stmt = select(User).where(User.channel == self.channel, User.external_id == self.key)
            return (await uow.session.execute(stmt)).scalar_one()


def _tg_buttons(payload: dict) -> list[dict]:
    rows = (payload.get("reply_markup") or {}).get("inline_keyboard") or []
    return [b for row in rows for b in row]


@pytest.fixture
async def world(db, settings, clock):
    await store_region(db, load_region_file(), clock.now())
    dispatcher = Dispatcher(
        db, build_router(), settings, clock=clock, renderers={"web": web_render, "telegram": tg_render}
    )
    async with db.unit_of_work() as uow:
        officer = await uow.users.get_or_create_user("telegram", OFFICER, clock.now(), display_name="Pak Rudi")
        officer.role, officer.opd_code, officer.consent_at = "officer", "PUPR", clock.now()
        await uow.commit()

    async def person(key: str, channel: str = "web", name: str | None = None) -> Person:
        p = Person(dispatcher, db, key, channel, name)
        await p.say("/start")
        assert "Menu" in await p.say("setuju") or (await p.user()).consent_at is not None
        return p

    person.officer = Person(dispatcher, db, OFFICER, "telegram", "Pak Rudi")
    return person


async def file_typed(p: Person, privacy: str = "rahasia", name_answers: tuple[str, ...] = ()) -> tuple[str, str]:
    """A complaint from "lapor" to its receipt, every answer typed; (number, PIN)."""
    assert "Ceritakan masalah" in await p.say("lapor")
    assert "foto" in (await p.say(STORY)).lower()
    assert "lokasi" in (await p.say("lanjut")).lower()
    assert "Siapa yang boleh tahu nama Anda" in await p.say("lewati")
    out = await p.say(privacy)
    for answer in name_answers:
        out = await p.say(answer)
    assert "Kirim laporan ini?" in out, out
    receipt = await p.say("kirim")
    m = re.search(r"(ADU-\d{4}-\d{5}) · PIN (\d{4})", receipt)
    assert m, receipt
    assert "ponsel atau browser lain" in receipt
    return m.group(1), m.group(2)


async def complaint(db, number: str) -> Complaint:
    async with db.unit_of_work() as uow:
        return (await uow.session.execute(select(Complaint).where(Complaint.number == number))).scalar_one()


def other_pin(pin: str) -> str:
    return f"{(int(pin) + 1) % 10000:04d}"


# ---- item 5: the PIN ---------------------------------------------------------------------------
async def test_filed_on_the_web_reclaimed_on_telegram_with_the_pin(world, db):
    web = await world("web-cookie-1")
    number, pin = await file_typed(web, "rahasia")
    stored = await complaint(db, number)
    assert stored.pin_hash and stored.pin_hash.startswith("scrypt1$") and pin not in stored.pin_hash
    assert complaint_pin.pin_matches(stored.pin_hash, number, pin)

    phone = await world("tg-4242", "telegram", "Siti Aminah")
    out = await phone.say(f"/status {number}")  # no PIN: not found, with the hint
    assert "tidak ditemukan" in out and f"/status {number} PIN" in out
    out = await phone.say(f"status {number} {pin}")  # the typed intent, with the PIN
    assert STORY[:40] in out and "Hubungkan laporan ini ke akun ini?" in out
    assert "akun yang lama tidak bisa melihatnya lagi" in out
    assert "sambung:ya" in phone.buttons and "sambung:tidak" in phone.buttons
    out = await phone.say("iya")  # typed instead of pressing Ya
    assert f"Laporan {number} sekarang terhubung ke akun ini" in out

    tg_user, web_user = await phone.user(), await web.user()
    moved = await complaint(db, number)
    assert moved.citizen_user_id == tg_user.id and moved.pin_hash == stored.pin_hash
    async with db.unit_of_work() as uow:
        events = (
            (await uow.session.execute(select(ComplaintEvent).where(ComplaintEvent.complaint_id == moved.id)))
            .scalars()
            .all()
        )
        audit = (
            (await uow.session.execute(select(AuditEvent).where(AuditEvent.action == "complaint_reclaimed")))
            .scalars()
            .all()
        )
    assert [e.action for e in events][-1] == "reclaimed" and events[-1].actor_user_id == tg_user.id
    assert [(a.subject_id, a.actor_user_id, a.detail) for a in audit] == [
        (number, tg_user.id, {"via": "pin", "channel": "telegram"})
    ]
    assert "tidak ditemukan" in await web.say(f"/status {number}")  # the old identity lost it
    assert number in await phone.say("/status")  # the new one has it in its list
    # the officer's answer now reaches the Telegram identity
    await world.officer.say(f"/balas {number} Tim kami akan memperbaiki jalan itu besok pagi.")
    assert "memperbaiki jalan itu besok" in await phone.say("/status " + number)
    assert web_user.id != tg_user.id


async def test_no_keeps_the_report_where_it_was(world, db):
    web = await world("web-cookie-2")
    number, pin = await file_typed(web, "anonim")  # anonymous reports can be reclaimed too
    other = await world("web-cookie-3")
    out = await other.say(f"cek {number} · PIN {pin}")  # copied from the receipt
    assert "Hubungkan laporan ini ke akun ini?" in out
    assert "tetap di akun yang lama" in await other.say("tidak")
    assert (await complaint(db, number)).citizen_user_id == (await web.user()).id
    # the officer of an anonymous report still sees no one, after a reclaim too
    await other.say(f"/status {number} {pin}")
    await other.say("ya")
    card = await world.officer.say(f"/lihat {number}")
    assert "Pelapor: Anonim" in card and "(data pribadi" not in card


async def test_a_wrong_pin_reads_as_an_unknown_number(world, db):
    web = await world("web-cookie-4")
    number, pin = await file_typed(web)
    stranger = await world("tg-5151", "telegram", "Orang Lain")
    wrong = await stranger.say(f"/status {number} {other_pin(pin)}")
    unknown = await stranger.say(f"/status ADU-2026-09999 {pin}")
    assert "Hubungkan" not in wrong and STORY[:20] not in wrong
    assert wrong.replace(number, "N") == unknown.replace("ADU-2026-09999", "N")
    assert (await complaint(db, number)).citizen_user_id == (await web.user()).id


async def test_repeated_wrong_pins_lock_the_number_for_a_day(world, db, clock):
    web = await world("web-cookie-5")
    number, pin = await file_typed(web)
    guesser = await world("web-guesser")
    for i in range(complaint_pin.MAX_WRONG):
        out = await guesser.say(f"/status {number} {other_pin(pin)}")
        assert "tidak ditemukan" in out, i
    out = await guesser.say(f"/status {number} {pin}")  # the right PIN, but locked: nothing shown
    assert "Terlalu banyak PIN salah" in out and STORY[:20] not in out and "Hubungkan" not in out
    # an unknown number locks the same way: the lock tells nothing about existence
    for _ in range(complaint_pin.MAX_WRONG):
        await guesser.say("/status ADU-2026-07777 1234")
    assert "Terlalu banyak PIN salah" in await guesser.say("/status ADU-2026-07777 1234")
    # the owner is not locked out of their own report
    assert STORY[:20] in await web.say(f"/status {number}")
    clock.advance(complaint_pin.LOCK_FOR + timedelta(minutes=1))
    out = await guesser.say(f"/status {number} {pin}")
    assert "Hubungkan laporan ini ke akun ini?" in out
    async with db.unit_of_work() as uow:
        rows = (await uow.session.execute(select(AuditEvent).where(AuditEvent.subject_id == number))).scalars()
        actions = [a.action for a in rows]
    assert actions.count("complaint_pin_wrong") == complaint_pin.MAX_WRONG
    assert actions.count("complaint_pin_locked") == 1


async def test_the_pin_is_in_the_receipt_only(world, db, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setattr(complaint_pin, "new_pin", lambda length=4: "7391")
    web = await world("web-cookie-6")
    number, pin = await file_typed(web)
    assert pin == "7391"
    other = await world("tg-6161", "telegram", "Budi")
    await other.say(f"/status {number} 7390")
    await other.say(f"/status {number} 7391")
    await other.say("ya")
    async with db.unit_of_work() as uow:
        audit = (await uow.session.execute(select(AuditEvent))).scalars().all()
        states = (await uow.session.execute(select(ConversationState))).scalars().all()
        stored = (await uow.session.execute(select(Complaint))).scalar_one()
    assert audit and not any("739" in orjson.dumps([a.detail, a.subject_id]).decode() for a in audit)
    assert not any("739" in orjson.dumps(s.data or {}).decode() for s in states)
    assert "7391" not in (stored.pin_hash or "") and stored.citizen_user_id == (await other.user()).id
    # the project's own log lines; the receipt holds the PIN (the needle is findable where it belongs)
    ours = [r for r in caplog.records if r.name.split(".")[0] in ("bot", "handlers", "storage", "scheduler")]
    assert not any("739" in r.getMessage() for r in ours), [r.getMessage() for r in ours]
    async with db.unit_of_work() as uow:
        sent = [str(r.payload) for r in (await uow.session.execute(select(OutboxMessage))).scalars()]
    assert sum("PIN 7391" in text for text in sent) == 1
    # aiosqlite's debug lines carry every SQL parameter (the receipt too): the app keeps them quiet
    root, quiet = logging.getLogger(), logging.getLogger("aiosqlite")
    saved = (list(root.handlers), root.level, quiet.level)
    try:
        setup_logging("DEBUG")
        assert quiet.getEffectiveLevel() >= logging.WARNING
    finally:
        for h in list(root.handlers):
            root.removeHandler(h)
        for h in saved[0]:
            root.addHandler(h)
        root.setLevel(saved[1])
        quiet.setLevel(saved[2])


async def test_reports_without_a_pin_cannot_be_reclaimed(world, db):
    web = await world("web-cookie-7")
    number, pin = await file_typed(web)
    async with db.unit_of_work() as uow:
        c = (await uow.session.execute(select(Complaint).where(Complaint.number == number))).scalar_one()
        c.pin_hash = None  # filed before PINs existed
        await uow.commit()
    other = await world("web-cookie-8")
    assert "dengan PIN itu tidak ditemukan" in await other.say(f"/status {number} {pin}")


# ---- item 6: names on the web chat -------------------------------------------------------------
async def test_the_web_name_is_asked_skipped_given_edited_and_seen_by_the_officer(world, db):
    web = await world("web-cookie-9")
    first, _ = await file_typed(web, "biasa", ("lewati",))  # asked, skipped
    assert "Pelapor: tanpa nama (web chat)" in await world.officer.say(f"/lihat {first}")

    assert "Siapa yang boleh tahu" in await _to_privacy(web)
    out = await web.say("biasa")
    assert "Siapa nama Anda?" in out and "nama:lewati" in web.buttons
    assert "tanpa angka" in await web.say("12345")  # digits only: why, and the same question
    assert "terlalu panjang" in await web.say("A" * 81)
    assert "tanpa angka" in await web.say("Siti <b>")
    out = await web.say("  Siti   Aminah ")
    assert "Terima kasih, Siti Aminah" in out and "👤 Nama: Siti Aminah" in out
    second = re.search(r"ADU-\d{4}-\d{5}", await web.say("kirim")).group(0)
    assert "Pelapor: Siti Aminah" in await world.officer.say(f"/lihat {second}")

    assert "Siapa yang boleh tahu" in await _to_privacy(web)
    out = await web.say("biasa")  # a stored name: keep, change or skip
    assert "Petugas akan melihat nama Anda: Siti Aminah" in out
    assert {"nama:pakai", "nama:ganti", "nama:lewati"} <= set(web.buttons)
    assert "Tulis nama" in await web.say("ganti nama")
    assert "👤 Nama: Siti A. Rahma-Putri" in await web.say("Siti A. Rahma-Putri")
    third = re.search(r"ADU-\d{4}-\d{5}", await web.say("kirim")).group(0)
    assert "Pelapor: Siti A. Rahma-Putri" in await world.officer.say(f"/lihat {third}")
    assert (await web.user()).display_name == "Siti A. Rahma-Putri"

    fourth, _ = await file_typed(web, "biasa", ("ya",))  # "ya": the stored name as it is
    assert "Pelapor: Siti A. Rahma-Putri" in await world.officer.say(f"/lihat {fourth}")


async def _to_privacy(p: Person) -> str:
    await p.say("lapor")
    await p.say(STORY)
    await p.say("lanjut")
    return await p.say("lewati")


async def test_telegram_is_never_asked_for_a_name(world):
    phone = await world("tg-7171", "telegram", "Siti Aminah")
    number, _ = await file_typed(phone, "biasa")  # "biasa" goes straight to the summary
    assert "Pelapor: Siti Aminah" in await world.officer.say(f"/lihat {number}")


async def test_no_name_is_not_an_erasure(world, db):
    web = await world("web-cookie-10")
    number, _ = await file_typed(web, "biasa", ("lewati",))
    card = await world.officer.say(f"/lihat {number}")
    assert "tanpa nama (web chat)" in card and "dihapus" not in card
    await web.say("/hapusdata")
    await web.say("erase:yes", kind=Kind.CHOICE)
    card = await world.officer.say(f"/lihat {number}")
    assert "(data pribadi telah dihapus)" in card and "tanpa nama" not in card
    assert (await complaint(db, number)).pin_hash is None  # nobody reclaims an erased report


def test_names_that_are_taken_and_refused():
    for good in ("Siti", "Siti Aminah", "O'Neil", "Ni Luh Putu Ayu-Dewi", "H. Rahmat", "张伟", "A" * 80):
        assert name_problem(good) is None, good
    for bad in ("", "   ", "12345", "Siti 2", "A" * 81, "...", "budi@mail.com", "<script>"):
        assert name_problem(bad) is not None, bad
    for answer in ("kirim", "Kirim", "ya", "iya", "tidak", "ok", "lanjut", "biasa"):  # a step early
        assert name_problem(answer) == NOT_A_NAME, answer


def test_pins_are_random_digits_and_only_their_hash_is_kept():
    pins = {complaint_pin.new_pin() for _ in range(200)}
    assert all(len(p) == 4 and p.isdigit() for p in pins) and len(pins) > 150
    h = complaint_pin.pin_hash("ADU-2026-00042", "4821")
    assert len(h) <= 64 and "4821" not in h
    assert complaint_pin.pin_matches(h, "ADU-2026-00042", "4821")
    assert not complaint_pin.pin_matches(h, "ADU-2026-00043", "4821")  # the number is the salt
    assert not complaint_pin.pin_matches(h, "ADU-2026-00042", "4822")
    assert not complaint_pin.pin_matches(None, "ADU-2026-00042", "4821")
    for typed, pin in (("4821", "4821"), ("· PIN 4821", "4821"), ("pin: 4821", "4821"), ("48", None), ("x", None)):
        assert complaint_pin.typed_pin(typed) == pin


# ---- item 6 in the forum: registering and "Dengan nama" on the web chat ---------------------------
async def new_forum(db, clock) -> int:
    async with db.unit_of_work() as uow:
        f = await uow.forum.create(
            opd_code="PUPR",
            title="Forum Jalan Desa",
            topic="Jalan",
            starts_at=clock.now() + timedelta(days=5),
            place="Aula PUPR",
            online_url=None,
            capacity=20,
            description="Membahas jalan desa.",
            agenda="1. Pembukaan",
            status="published",
            created_via="cli",
            created_at=clock.now(),
        )
        await uow.commit()
        return f.id


async def test_forum_names_on_the_web_and_what_staff_see(world, db, clock):
    fid = await new_forum(db, clock)
    named = await world("web-forum-1")
    out = await named.say(f"/forum {fid} daftar")  # the web chat asks for a name first
    assert "Siapa nama Anda?" in out
    assert "Anda terdaftar" in await named.say("Budi Santoso")
    out = await named.say(f"/forum {fid} masukan")
    assert "forum:mode:named" in named.buttons
    assert "Petugas akan melihat nama Anda: Budi Santoso" in await named.say("dengan nama")
    assert "Tulis masukan" in await named.say("pakai nama ini")
    await named.say("Mohon jalan desa diaspal sebelum musim hujan.")

    nameless = await world("web-forum-2")
    await nameless.say(f"/forum {fid} daftar")
    assert "Anda terdaftar" in await nameless.say("lewati")
    await nameless.say(f"/forum {fid} masukan")
    await nameless.say("dengan nama")
    assert "Tulis masukan" in await nameless.say("skip")
    await nameless.say("Lampu jalan desa juga perlu diperbaiki.")

    leaver = await world("web-forum-3")
    await leaver.say(f"/forum {fid} daftar")
    await leaver.say("Rina")
    await leaver.say(f"/forum {fid} masukan")
    await leaver.say("dengan nama")
    await leaver.say("ya")
    await leaver.say("Saluran air di tepi jalan tersumbat.")
    await leaver.say("/hapusdata")
    await leaver.say("erase:yes", kind=Kind.CHOICE)

    phone = await world("tg-forum-4", "telegram", "Siti Aminah")
    assert "Anda terdaftar" in await phone.say(f"/forum {fid} daftar")  # Telegram: no question

    view = await world.officer.say(f"/forum {fid}")
    assert "• Budi Santoso (web)" in view and "• Siti Aminah (telegram)" in view
    assert "• tanpa nama (web chat)" in view
    assert "• Budi Santoso: Mohon jalan desa" in view
    assert "• tanpa nama (web chat): Lampu jalan" in view
    assert "• (data dihapus): Saluran air" in view and view.count("(data dihapus)") == 1  # only who erased
    async with db.unit_of_work() as uow:  # the export lists cancelled registrations too
        people, inputs = await uow.forum.attendees(fid, include_cancelled=True), await uow.forum.inputs(fid)
    tz = clock.now().tzinfo
    names = [row[1] for row in attendance_rows(people, tz)]
    senders = [row[2] for row in input_rows(inputs, tz)]
    assert names == ["Budi Santoso", "tanpa nama (web chat)", "(data dihapus)", "Siti Aminah"]
    assert senders == ["Budi Santoso", "tanpa nama (web chat)", "(data dihapus)"]


async def test_retention_clears_the_pin_with_the_reporter(world, db, clock):
    web = await world("web-cookie-11")
    number, pin = await file_typed(web)
    async with db.unit_of_work() as uow:
        c = (await uow.session.execute(select(Complaint).where(Complaint.number == number))).scalar_one()
        c.state, c.closed_at = "ditutup", clock.now() - timedelta(days=800)
        assert await uow.sla.anonymise([c.id], closed_before=clock.now(), now=clock.now()) == [number]
        await uow.commit()
    assert (await complaint(db, number)).pin_hash is None
    other = await world("web-cookie-12")
    assert "dengan PIN itu tidak ditemukan" in await other.say(f"/status {number} {pin}")
