"""A forum's date is checked when typed and again when it is published: a summary confirmed after
the start asks for a new date; a year such as 0001 gets a message in chat and on the command line."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.channels.web.web_channel import render as web_render
from bot.domain.messages import Inbound
from bot.domain.region import load_region_file
from bot.engine.dispatch import Dispatcher
from bot.services.regions import store_region
from handlers import build_router
from storage.models import Forum, OutboxMessage
from testkit.helpers import choice, text

COORD = "forum-coord"


async def setup(db, settings, clock) -> Dispatcher:
    await store_region(db, load_region_file(), clock.now())
    async with db.unit_of_work() as uow:
        user = await uow.users.get_or_create_user("web", COORD, clock.now(), display_name="Koordinator")
        user.role, user.consent_at = "coordinator", clock.now()
        await uow.commit()
    return Dispatcher(db, build_router(), settings, clock=clock, renderers={"web": web_render})


async def say(db, dispatcher: Dispatcher, inbound: Inbound) -> str:
    async with db.unit_of_work() as uow:
        before = (await uow.session.execute(select(OutboxMessage.id).order_by(OutboxMessage.id.desc()))).first()
    await dispatcher.handle(inbound)
    async with db.unit_of_work() as uow:
        stmt = select(OutboxMessage).where(OutboxMessage.id > (before[0] if before else 0))
        rows = (await uow.session.execute(stmt.order_by(OutboxMessage.id))).scalars().all()
    return "\n".join(r.payload.get("text", "") for r in rows if r.address == COORD)


async def test_year_0001_and_publication_after_the_start(db, settings, clock):
    dispatcher = await setup(db, settings, clock)
    when = (clock.now() + timedelta(days=3)).strftime("%Y-%m-%d 09:00")
    await say(db, dispatcher, text(COORD, "/forumbaru"))
    await say(db, dispatcher, choice(COORD, "forumbaru:opd:PDAM"))
    await say(db, dispatcher, text(COORD, "Forum Konsultasi Publik Layanan Air Bersih"))
    await say(db, dispatcher, text(COORD, "Gangguan aliran air dan tagihan"))
    out = await say(db, dispatcher, text(COORD, "0001-01-01 00:00"))
    assert "sudah lewat" in out
    out = await say(db, dispatcher, text(COORD, when))
    assert "Kamis, 26 November 2026 pukul 09.00 WIB — betul?" in out
    await say(db, dispatcher, choice(COORD, "forumbaru:when:ok"))
    await say(db, dispatcher, text(COORD, "Aula PDAM Tirta Sukamaju, Jl. Merdeka 1"))
    await say(db, dispatcher, text(COORD, "50"))
    await say(db, dispatcher, text(COORD, "Membahas gangguan air dan tagihan bersama pelanggan PDAM."))
    await say(db, dispatcher, choice(COORD, "forumbaru:more:done"))
    out = await say(db, dispatcher, choice(COORD, "forumbaru:agenda:ok"))
    assert "forumbaru:publish" not in out and "Terbitkan" in out
    clock.advance(timedelta(days=4))  # the summary waited past the start
    out = await say(db, dispatcher, choice(COORD, "forumbaru:publish"))
    assert "sudah lewat" in out and "Kapan forum dimulai" in out
    async with db.unit_of_work() as uow:
        assert (await uow.session.execute(select(Forum))).scalars().all() == []
    later = (clock.now() + timedelta(days=2)).strftime("%Y-%m-%d 10:00")
    out = await say(db, dispatcher, text(COORD, later))
    assert "pukul 10.00 WIB — betul?" in out
    out = await say(db, dispatcher, text(COORD, "ya"))  # read back, then straight back to the summary
    assert "Terbitkan" in out and "Ada yang perlu diubah" in out
    out = await say(db, dispatcher, choice(COORD, "forumbaru:publish"))
    assert "diterbitkan" in out


async def test_an_english_coordinator_types_dates_and_gets_them_read_back_in_english(db, settings, clock):
    dispatcher = await setup(db, settings, clock)
    async with db.unit_of_work() as uow:
        user = await uow.users.get_or_create_user("web", COORD, clock.now())
        user.language, user.language_explicit = "en", True
        await uow.commit()
    out = await say(db, dispatcher, text(COORD, "/forumbaru"))
    assert "for which OPD?" in out
    await say(db, dispatcher, text(COORD, "pdam"))
    await say(db, dispatcher, text(COORD, "Public Consultation Forum on Water"))
    out = await say(db, dispatcher, text(COORD, "Water supply and bills"))
    assert "When does the forum start (WIB)?" in out and "Thursday 10 December 9am" in out
    out = await say(db, dispatcher, text(COORD, "Thursday 10 December 9am"))
    assert "Thursday, 10 December 2026 at 09:00 WIB — is that right?" in out
    out = await say(db, dispatcher, text(COORD, "no"))  # asked again, nothing kept
    assert "When does the forum start" in out and "could not read" not in out
    out = await say(db, dispatcher, text(COORD, "Kamis 10 Desember"))  # a day alone: the time is asked
    assert "Thursday, 10 December 2026: what time does the forum start?" in out
    out = await say(db, dispatcher, text(COORD, "25.00"))
    assert "There is no time 25:00" in out and "what time does the forum start?" in out
    out = await say(db, dispatcher, text(COORD, "jam 2 siang"))
    assert "Thursday, 10 December 2026 at 14:00 WIB — is that right?" in out
    out = await say(db, dispatcher, text(COORD, "yes"))
    assert "Venue?" in out


async def test_an_officer_types_the_whole_draft_and_cannot_move_it_to_another_opd(db, settings, clock):
    dispatcher = await setup(db, settings, clock)
    async with db.unit_of_work() as uow:
        user = await uow.users.get_or_create_user("web", COORD, clock.now())
        user.role, user.opd_code = "officer", "PDAM"
        await uow.commit()
    out = await say(db, dispatcher, text(COORD, "/forumbaru"))
    assert "Judul forum?" in out  # an officer's forum is for their own OPD: no OPD question
    for answer in ("Forum Air Bersih Sukamaju", "Gangguan air", "besok jam 10", "ya", "Aula PDAM", "40"):
        out = await say(db, dispatcher, text(COORD, answer))
    assert "Deskripsi singkat" in out
    await say(db, dispatcher, text(COORD, "Membahas gangguan air bersama pelanggan."))
    out = await say(db, dispatcher, text(COORD, "sudah"))
    assert "Usulan agenda dari data" in out
    out = await say(db, dispatcher, text(COORD, "ya"))
    assert "Sel, 24 Nov 2026 10:00 WIB" in out and "Ada yang perlu diubah?" in out
    out = await say(db, dispatcher, text(COORD, "ganti opd"))
    assert "hanya dapat membuat forum untuk OPD-nya sendiri" in out and "Ada yang perlu diubah?" in out
    out = await say(db, dispatcher, choice(COORD, "forumbaru:edit:opd"))  # an old or crafted button
    assert "hanya dapat membuat forum untuk OPD-nya sendiri" in out
    out = await say(db, dispatcher, text(COORD, "kuota"))
    assert "Sekarang: 40" in out
    out = await say(db, dispatcher, text(COORD, "0"))
    assert "Kuota harus antara 1 dan 10000 orang." in out and "Sekarang: 40" in out
    out = await say(db, dispatcher, text(COORD, "60"))
    assert "Kuota 60 orang" in out
    out = await say(db, dispatcher, text(COORD, "terbitkan"))
    assert "Forum #1 diterbitkan" in out
    async with db.unit_of_work() as uow:
        f = (await uow.session.execute(select(Forum))).scalar_one()
    assert (f.opd_code, f.capacity, f.title) == ("PDAM", 60, "Forum Air Bersih Sukamaju")
