"""Issue 17 acceptance: erasure that erases. Three citizens — Telegram, WhatsApp, web chat — each
file a complaint with a typed address (Rahasia) and another (Biasa, so the officer's notification
names them), complete an SKM questionnaire, subscribe to forum news and register for a forum;
the PDAM officer opens their complaints. Then ``/hapusdata`` (and, in the second test, the
retention job instead): no column of any table — the tables are read from the database itself, so
a new table is covered without touching this test — holds the person's chat id, phone number,
display name, username or an address they typed; on SQLite the database file's bytes (after
closing) hold none of them either; a web chat reload replays nothing of the erased conversation.
The statistics stay: complaints (detached), complete SKM answers."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from datetime import timedelta
from pathlib import Path

import aiohttp
import orjson
from sqlalchemy import MetaData, func, select, update

from bot.channels.web.web_channel import COOKIE, user_key_for
from storage.models import Complaint, ComplaintVoice, ForumRsvp, OutboxMessage, SurveyResponse, User
from testkit.tg_chat import NUMBER_RE, buttons, person, text_of
from testkit.tg_chat import quiet as tg_quiet
from tests.flows.test_whatsapp_flows import WaPerson, both_channels, voice_complaint, wa_staff
from tests.flows.test_whatsapp_flows import quiet as wa_quiet
from tests.flows.test_whatsapp_flows import texts as wa_texts
from tests.jobs.test_jobs_e2e import run_job

UNIT, SERVICE = "PDAM-PUSAT", "PDAM-PUSAT-03"
WATER = "Air PDAM tidak mengalir sejak tiga hari di rumah kami, mohon segera diperbaiki"
LEAK = "Pipa PDAM bocor di depan rumah, air bersih terbuang dan tekanan air kecil sekali"
TG_CHAT, TG_NAME, TG_USER = 7350912846, "Wulandari Kusumawati", "wulan_kusuma88"
WA_PHONE, WA_NAME = "6281390807060", "Bambang Triyono"
#: the name a web chat citizen types when asked (the web chat gives none)
WEB_NAME = "Ratna Kusumawardani"


class Driver:
    """One citizen on one channel: ``send`` typed text, ``press`` a button value; both return the
    texts the bot answered with once everything settled."""

    def __init__(self, world, channel: str, n: int) -> None:
        self.tg, self.wa, self.app = world
        self.channel, self.n = channel, n
        self.addresses = (f"Jalan Cempaka Wangi Gang {n}7 Nomor 2{n}", f"Perumahan Griya Asri Blok Q{n} Kav. 4{n}")
        self.chat = self.page = self.ws = None
        self.seen: list[dict] = []

    async def open(self) -> None:
        if self.channel == "telegram":
            self.chat = await person(self.tg, self.app, TG_CHAT, TG_NAME, username=TG_USER)
        elif self.channel == "whatsapp":
            self.chat = WaPerson(self.wa, self.app, WA_PHONE, WA_NAME)
            await self.chat.send("/start")
            await self.chat.tap(value="consent:yes")
        else:
            self.page = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
            base = f"http://127.0.0.1:{self.app.port}"
            async with self.page.get(base + "/") as resp:
                assert resp.status == 200
            async with self.page.post(base + "/session") as resp:  # the server issues the identity
                assert resp.status == 204
            self.ws = await self.page.ws_connect(base + "/ws")
            await self.ws.send_json({"type": "hello", "start": None, "last_seen": 0})
            await self.settle()
            await self.press("consent:yes")

    @property
    def key(self) -> str:
        if self.channel == "telegram":
            return str(TG_CHAT)
        if self.channel == "whatsapp":
            return WA_PHONE
        (cookie,) = [c for c in self.page.cookie_jar if c.key == COOKIE]
        return user_key_for(cookie.value)

    def secrets(self) -> list[str]:
        out = [self.key, *self.addresses]
        if self.channel == "telegram":
            out += [TG_NAME, TG_USER]
        if self.channel == "whatsapp":
            out += [WA_NAME, WA_PHONE[2:]]
        if self.channel == "web":
            out += [WEB_NAME]
        return out

    async def named(self, out: str) -> str:
        """The web chat's name question answered: the name typed, then kept ("ya")."""
        if "Siapa nama Anda?" in out:
            return await self.send(WEB_NAME)
        if f"Petugas akan melihat nama Anda: {WEB_NAME}" in out:
            return await self.send("ya")
        return out

    async def settle(self) -> str:
        if self.channel == "telegram":
            return text_of(await self.chat.settle())
        if self.channel == "whatsapp":
            return wa_texts(await self.chat.settle())
        got = []
        for _ in range(100):
            await self.app.outbox.drain()
            try:
                msg = await asyncio.wait_for(self.ws.receive(), 0.3)
            except TimeoutError:
                if got:
                    break
                continue
            assert msg.type == aiohttp.WSMsgType.TEXT, (msg, got[-3:])
            frame = orjson.loads(msg.data)
            if frame["type"] == "message":
                got.append(frame)
        self.seen += got
        return "\n---\n".join(f.get("text") or "" for f in got)

    async def send(self, text: str) -> str:
        if self.channel == "telegram":
            return text_of(await self.chat.send(text))
        if self.channel == "whatsapp":
            return wa_texts(await self.chat.send(text))
        await self.ws.send_json({"type": "text", "id": f"t{len(self.seen)}-{text[:8]}", "text": text})
        return await self.settle()

    async def press(self, value: str) -> str:
        if self.channel == "telegram":
            return text_of(await self.chat.press(value))
        if self.channel == "whatsapp":
            return wa_texts(await self.chat.tap(value=value))
        await self.ws.send_json({"type": "choice", "id": f"c{len(self.seen)}-{value}", "value": value, "label": value})
        return await self.settle()

    async def complaint(self, text: str, address: str, privacy: str) -> str:
        assert "Ceritakan masalah" in await self.send("/lapor")
        await self.send(text)
        await self.press("lapor:next")  # no photo
        await self.send(address)  # the location, typed
        assert "Kirim laporan ini?" in await self.named(await self.press(f"lapor:privacy:{privacy}"))
        out = await self.press("lapor:send")
        (number,) = set(NUMBER_RE.findall(out))
        return number

    async def survey(self) -> None:
        await self.send(f"/survei {UNIT}")
        await self.press(f"skm:svc:{SERVICE}")
        await self.press("skm:p:all")
        for i in range(9):
            await self.press(f"skm:a:{i}:{3 + i % 2}")
        out = await self.send("Antrean sudah cepat, terima kasih")
        assert "Terima kasih! Jawaban Anda sudah kami simpan" in out, out

    async def close(self) -> None:
        if self.page is not None:
            await self.ws.close()
            await self.page.close()


async def new_forum(app, clock) -> int:
    async with app.db.unit_of_work() as uow:
        f = await uow.forum.create(
            opd_code="PDAM",
            title="Forum Layanan Air Bersih",
            topic="Kualitas layanan air",
            starts_at=clock.now() + timedelta(days=5),
            place="Aula PDAM",
            capacity=50,
            description="Konsultasi publik layanan air bersih.",
            agenda="1. Pembukaan",
            status="published",
            created_via="cli",
            created_at=clock.now(),
        )
        await uow.commit()
        return f.id


async def everything_done(world, clock, channels=("telegram", "whatsapp", "web")) -> tuple[list[Driver], object]:
    """The officer, then each citizen's whole participation; returns the citizens and the officer."""
    tg, wa, app = world
    officer = await person(tg, app, 6015550001, "Bu Ratna", role="officer", opd="PDAM")
    forum = await new_forum(app, clock)
    people = []
    for n, channel in enumerate(channels, start=1):
        citizen = Driver(world, channel, n)
        await citizen.open()
        secret = await citizen.complaint(WATER, citizen.addresses[0], "rahasia")
        plain = await citizen.complaint(LEAK, citizen.addresses[1], "biasa")
        await citizen.survey()
        assert "Anda akan menerima kabar forum" in await citizen.send("/forum langganan PDAM")
        assert "Anda terdaftar di forum" in await citizen.named(await citizen.send(f"/forum {forum} daftar"))
        seen = text_of(await officer.settle(expect_new=False))
        seen += text_of(await officer.send(f"/lihat {secret}"))
        seen += text_of(await officer.send(f"/lihat {plain}"))
        assert citizen.addresses[0] in seen and citizen.addresses[1] in seen  # the test can fail
        name = {"web": WEB_NAME, "whatsapp": WA_NAME, "telegram": TG_NAME}[channel]
        assert f"Pelapor: {name}" in seen
        people.append(citizen)
    await tg_quiet(tg, app)
    await wa_quiet(wa, app)
    return people, officer


def unlimited(settings):
    """The web chat's turn limits off: the test's citizen answers far faster than a person."""
    return dataclasses.replace(settings, web_turns_per_identity=0, web_turns_per_address=0)


async def erase(citizen: Driver) -> None:
    assert "Tindakan ini tidak bisa dibatalkan" in await citizen.send("/hapusdata")
    assert "Data pribadi Anda sudah dihapus" in await citizen.press("erase:yes")
    await tg_quiet(citizen.tg, citizen.app)
    await wa_quiet(citizen.wa, citizen.app)


async def leftovers(db, needles: list[str]) -> list[str]:
    """Every (table.column, needle) where a value of any column of any table contains a needle:
    the tables and columns are read from the database, not from the models."""
    meta = MetaData()
    async with db.engine.connect() as conn:
        await conn.run_sync(meta.reflect)
        found = []
        for table in meta.sorted_tables:
            for row in (await conn.execute(select(table))).mappings():
                for column, value in row.items():
                    if value is None:
                        continue
                    raw = value if isinstance(value, str) else orjson.dumps(value, default=str).decode()
                    found += [f"{table.name}.{column} ({needle!r})" for needle in needles if needle in raw]
    return found


async def statistics(db) -> tuple[int, int, int]:
    async with db.unit_of_work() as uow:
        s = uow.session
        complaints = (await s.execute(select(func.count()).select_from(Complaint))).scalar_one()
        surveys = (
            await s.execute(select(func.count()).select_from(SurveyResponse).where(SurveyResponse.status == "complete"))
        ).scalar_one()
        linked = (
            await s.execute(select(func.count()).select_from(Complaint).where(Complaint.citizen_user_id.is_not(None)))
        ).scalar_one()
    return complaints, surveys, linked


def file_bytes(url: str) -> bytes | None:
    if not url.startswith("sqlite"):
        return None
    path = Path(url.split("///", 1)[1])
    data = path.read_bytes()
    wal = path.with_name(path.name + "-wal")
    return data + (wal.read_bytes() if wal.exists() else b"")


async def reload_shows_nothing(citizen: Driver, erased_texts: list[str]) -> None:
    """A new page load with the same cookie: the replay holds none of the erased conversation, and
    the bot starts afresh (the consent notice)."""
    await citizen.ws.close()
    citizen.seen = []
    citizen.ws = await citizen.page.ws_connect(f"http://127.0.0.1:{citizen.app.port}/ws")
    await citizen.ws.send_json({"type": "hello", "start": None, "last_seen": 0})
    shown = await citizen.settle()
    assert "UU No. 27/2022" in citizen.seen[0]["text"], shown
    for text in erased_texts:
        assert text not in shown, text


async def test_hapusdata_on_telegram_whatsapp_and_web_leaves_nothing(settings, clock, db):
    settings = unlimited(settings)
    async with both_channels(settings, clock) as world:
        people, officer = await everything_done(world, clock)
        before = await statistics(db)
        assert before == (6, 3, 6)
        for citizen in people:
            await erase(citizen)
        found = await leftovers(db, [s for c in people for s in c.secrets()])
        assert found == []
        assert await statistics(db) == (6, 3, 0)  # complaints and SKM answers stay, detached
        async with db.unit_of_work() as uow:  # the officer's notification is rewritten, not lost
            texts = [str(r.payload) for r in (await uow.session.execute(select(OutboxMessage))).scalars()]
        assert any("(data pribadi telah dihapus)" in t for t in texts)
        web = people[-1]
        await reload_shows_nothing(web, [*web.addresses, WATER, LEAK, "Ringkasan", "Pertanyaan", "sudah dihapus"])
        async with db.unit_of_work() as uow:  # the officer is still there; the seats are free again
            assert (await uow.session.execute(select(func.count()).select_from(ForumRsvp))).scalar_one() == 3
        for citizen in people:
            await citizen.close()
    await db.dispose()
    data = file_bytes(settings.database_url)
    if data is not None:
        for citizen in people:
            # the web reload above started a new conversation under the same cookie: its key is
            # back, legitimately (the scan before the reload found it nowhere)
            for secret in citizen.secrets()[citizen.channel == "web" :]:
                assert secret.encode() not in data, secret


async def test_retention_erases_a_silent_citizen_like_hapusdata(settings, clock, db):
    settings = unlimited(settings)
    async with both_channels(settings, clock) as world:
        tg, wa, app = world
        people, officer = await everything_done(world, clock, channels=("telegram", "whatsapp"))
        async with db.unit_of_work() as uow:  # both complaints answered and closed long ago
            await uow.session.execute(
                update(Complaint).values(state="ditutup", closed_at=clock.now(), resolved_at=clock.now())
            )
            await uow.commit()
        when = clock.now() + timedelta(days=settings.retention_days + 2)
        out = await run_job(app, clock, "retention", when)
        assert "anonymised" in out and "people_erased" in out, out
        await tg_quiet(tg, app)
        found = await leftovers(db, [s for c in people for s in c.secrets()])
        assert found == []
        assert await statistics(db) == (4, 2, 0)
        async with db.unit_of_work() as uow:
            staff = (await uow.session.execute(select(User).where(User.role == "officer"))).scalars().all()
        assert [u.display_name for u in staff] == ["Bu Ratna"]  # staff are not erased for silence
    await db.dispose()
    data = file_bytes(settings.database_url)
    if data is not None:
        for citizen in people:
            for secret in citizen.secrets():
                assert secret.encode() not in data, secret


async def test_hapusdata_removes_voice_notes_and_the_messages_that_carried_them(settings, clock, db):
    """A complaint told by voice note on Telegram and one on WhatsApp, sent on to the coordinators
    as audio (and once more by /lihat). After /hapusdata no table holds either file reference:
    ``complaint_voices`` rows deleted like the photos, the staff messages that carried them rewritten."""
    async with both_channels(settings, clock) as world:
        tg, wa, app = world
        coord_tg = await person(tg, app, 6015550009, "Bu Koordinator", role="coordinator")
        coord_wa = await wa_staff(wa, app, "6281100000932", "Pak Koordinator", "coordinator")
        siti = await person(tg, app, TG_CHAT, TG_NAME, username=TG_USER)
        await siti.send("/lapor")
        voice_id, _ = await siti.voice(duration=42)
        await siti.press("lapor:next")
        await siti.press("lapor:skip")
        await siti.press("lapor:privacy:biasa")
        (tg_number,) = set(NUMBER_RE.findall(text_of(await siti.press("lapor:send"))))
        bambang = WaPerson(wa, app, WA_PHONE, WA_NAME)
        await bambang.send("/start")
        await bambang.tap(value="consent:yes")
        _, media_id, _ = await voice_complaint(bambang)
        await coord_tg.settle()
        await coord_wa.settle()
        out = await coord_tg.send(f"/lihat {tg_number}")
        assert [m["media"]["file_id"] for m in out if m["method"] == "sendVoice"] == [voice_id]
        await tg_quiet(tg, app)
        before = await leftovers(db, [voice_id, media_id])
        assert any(f.startswith("complaint_voices.file_ref") for f in before)  # the test can fail
        assert any(f.startswith("outbox.payload") for f in before)

        out = await siti.send("/hapusdata")
        assert "erase:yes" in buttons(out[-1])
        assert "Data pribadi Anda sudah dihapus" in text_of(await siti.press("erase:yes"))
        await bambang.send("/hapusdata")
        assert "Data pribadi Anda sudah dihapus" in wa_texts(await bambang.tap(value="erase:yes"))
        await tg_quiet(tg, app)
        await wa_quiet(wa, app)
        assert await leftovers(db, [voice_id, media_id]) == []
        async with db.unit_of_work() as uow:
            assert (await uow.session.execute(select(func.count()).select_from(ComplaintVoice))).scalar_one() == 0
            assert (await uow.session.execute(select(func.count()).select_from(Complaint))).scalar_one() == 2


async def test_sqlite_file_is_private_and_deleted_rows_leave_no_bytes(tmp_path):
    """A new SQLite file is 0600; a row deleted after it reached the file (checkpointed) leaves
    nothing in it (``secure_delete``): without it the bytes stay in the page's free space."""
    import stat

    from storage import Database

    path = tmp_path / "private.sqlite3"
    secret = "Jalan Rahasia Nomor 99 milik Bu Sekar"
    db = Database(f"sqlite+aiosqlite:///{path}")
    async with db.engine.begin() as conn:
        await conn.exec_driver_sql("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        for i in range(20):
            await conn.exec_driver_sql(f"INSERT INTO notes (body) VALUES ('{secret} {i}')")
    await db.dispose()  # the last connection closed: the WAL is checkpointed into the file
    assert secret.encode() in path.read_bytes()  # it did reach the file
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        async with db.engine.begin() as conn:
            await conn.exec_driver_sql("DELETE FROM notes WHERE id % 2 = 0")
            await conn.exec_driver_sql("UPDATE notes SET body = 'x' WHERE id % 2 = 1")
            # on by our connection setup (Debian's SQLite has it on by default; other builds do not)
            assert (await conn.exec_driver_sql("PRAGMA secure_delete")).scalar_one() == 1
    finally:
        await db.dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert secret.encode() not in path.read_bytes()


async def outbox_rows(db) -> list[OutboxMessage]:
    async with db.unit_of_work() as uow:
        return list((await uow.session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars())


async def test_refused_consent_keeps_no_name_and_delivered_secrets_are_not_kept(settings, clock, db):
    """Refusing consent stores no name or username; an invite code and an export workbook are not
    kept in the outbox once delivered; the outbox_prune job deletes what went out before the horizon."""
    from testkit.tg_chat import Chat, running

    async with running(settings, clock=clock) as (tg, app):
        shy = Chat(tg, app, 5550001, "Sekar Ayu", "sekar_ayu")
        await shy.send("/start")
        assert "tidak ada data yang kami proses" in text_of(await shy.press("consent:no"))
        async with db.unit_of_work() as uow:
            user = (await uow.session.execute(select(User).where(User.external_id == "5550001"))).scalar_one()
        assert (user.display_name, user.username) == (None, None)

        coord = await person(tg, app, 5550002, "Bu Koordinator", role="coordinator")
        (code,) = set(re.findall(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", text_of(await coord.send("/undang PDAM"))))
        out = await coord.send("/ekspor skm")
        assert any(m.get("document") or m.get("method") == "sendDocument" for m in tg.sent(5550002)), text_of(out)
        await tg_quiet(tg, app)
        rows = await outbox_rows(db)
        assert not [r.id for r in rows if code in orjson.dumps(r.payload).decode()]
        assert max(len(orjson.dumps(r.payload)) for r in rows) < 8000  # no workbook kept
        assert sum(bool(r.scrubbed) for r in rows) >= 2 and all(r.status == "sent" for r in rows)

        pending = await outbox_rows(db)
        async with db.unit_of_work() as uow:  # one message that has not gone out yet
            uow.outbox.enqueue(
                channel="telegram", address="1", payload={"text": "x"}, now=clock.now() + timedelta(days=30)
            )
            await uow.commit()
        out = await run_job(
            app, clock, "outbox_prune", clock.now() + timedelta(days=settings.outbox_keep_days, hours=1)
        )
        assert f"deleted {len(pending)}" in out, out
        assert [r.status for r in await outbox_rows(db)] == ["pending"]
