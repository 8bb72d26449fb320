"""``/antrian`` paging over the queue index (migration 0007, ``ComplaintRepo.queue``): every open
complaint of the officer's OPD exactly once across the pages, in deadline order with ties broken
by id, and nothing of another OPD or of another state — checked on the replies the dispatcher
wrote into the outbox, against the rows in the database."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from bot.channels.web.web_channel import render as web_render
from bot.domain.region import load_region_file
from bot.engine.dispatch import Dispatcher
from bot.services.regions import store_region
from handlers import build_router
from handlers.complaints import PAGE
from storage import Repo
from storage.models import Complaint, OutboxMessage
from testkit.helpers import text

STATES = ["disposisi", "tindak_lanjut", "triase", "selesai", "ditutup"]


async def _seed(db, clock) -> list[str]:
    """100 complaints: PUPR's and DLH's in every state, deadlines with ties; returns PUPR's queue
    in the expected order, computed here from what was stored."""
    now = clock.now()
    async with db.unit_of_work() as uow:
        s = uow.session
        for i in range(100):
            state = STATES[i % 5]
            opd = None if state == "triase" else ("PUPR" if i % 3 else "DLH")
            due = now + timedelta(days=(i * 7) % 5 - 2)  # five distinct deadlines, many ties
            s.add(
                Complaint(
                    number=f"ADU-2026-{i:05d}",
                    channel="web",
                    text=f"keluhan {i}",
                    privacy="biasa",
                    state=state,
                    opd_code=opd,
                    klass="keluhan",
                    filed_at=now,
                    updated_at=now,
                    completion_due_at=due,
                    reopen_count=0,
                )
            )
        repo = Repo(s)
        officer = await repo.get_or_create_user("web", "petugas", now, display_name="Petugas PU")
        officer.role, officer.opd_code, officer.consent_at = "officer", "PUPR", now
        await uow.commit()
    async with db.unit_of_work() as uow:
        rows = (await uow.session.execute(select(Complaint).where(Complaint.opd_code == "PUPR"))).scalars().all()
        queue = sorted(
            (c for c in rows if c.state in ("disposisi", "tindak_lanjut")), key=lambda c: (c.completion_due_at, c.id)
        )
        return [c.number for c in queue]


async def _last_text(db, address: str = "petugas") -> str:
    async with db.unit_of_work() as uow:
        row = (
            await uow.session.execute(
                select(OutboxMessage).where(OutboxMessage.address == address).order_by(OutboxMessage.id.desc()).limit(1)
            )
        ).scalar_one()
        return row.payload["text"]


async def test_pages_cover_the_opd_queue_in_deadline_order(db, settings, clock):
    await store_region(db, load_region_file(), clock.now())
    expected = await _seed(db, clock)
    assert len(expected) > 2 * PAGE  # at least three pages
    dispatcher = Dispatcher(db, build_router(), settings, clock=clock, renderers={"web": web_render})
    pages = (len(expected) + PAGE - 1) // PAGE
    shown: list[str] = []
    for page in range(1, pages + 2):
        await dispatcher.handle(text("petugas", f"/antrian {page}"))
        body = await _last_text(db)
        if page > pages:
            assert f"Halaman {page} kosong" in body
            break
        assert f"{len(expected)} laporan, halaman {page}/{pages}" in body
        numbers = re.findall(r"^(\d+)\. (ADU-\d{4}-\d{5})", body, flags=re.M)
        assert [int(n) for n, _ in numbers] == list(range((page - 1) * PAGE + 1, (page - 1) * PAGE + 1 + len(numbers)))
        shown += [number for _, number in numbers]
    assert shown == expected


async def test_officer_commands_without_a_usable_argument_say_how_to_use_them(db, settings, clock):
    """``/antrian abc`` used to show page 1 silently, ``/balas`` alone "Laporan ? tidak ditemukan."."""
    await store_region(db, load_region_file(), clock.now())
    await _seed(db, clock)
    dispatcher = Dispatcher(db, build_router(), settings, clock=clock, renderers={"web": web_render})
    for typed, expected in [
        ("/antrian abc", '"abc" bukan nomor halaman. Cara pakai: /antrian [halaman]'),
        ("/antrian 0", '"0" bukan nomor halaman.'),
        ("/antrian ²", '"²" bukan nomor halaman.'),  # isdigit() but not int(): was an apology and a traceback
        ("/balas", "Tulis nomor laporannya. Cara pakai: /balas <nomor> <teks>"),
        ("/reply", "Cara pakai: /reply <nomor> <teks>"),
        ("/lihat", "Cara pakai: /lihat <nomor>"),
        ("/balas ADU-2099-99999 halo", "Laporan ADU-2099-99999 tidak ditemukan."),
    ]:
        await dispatcher.handle(text("petugas", typed))
        body = await _last_text(db)
        assert expected in body, (typed, body)


async def test_coordinator_list_commands_check_their_page_like_antrian(db, settings, clock):
    """``/triase abc`` used to show page 1 silently; ``/antrian`` said why. Both now do, and a
    coordinator's ``/antrian <KODE-OPD>`` is still no page number."""
    await store_region(db, load_region_file(), clock.now())
    await _seed(db, clock)
    async with db.unit_of_work() as uow:
        coordinator = await Repo(uow.session).get_or_create_user(
            "web", "koordinator", clock.now(), display_name="Bag. Organisasi"
        )
        coordinator.role, coordinator.consent_at = "coordinator", clock.now()
        await uow.commit()
    dispatcher = Dispatcher(db, build_router(), settings, clock=clock, renderers={"web": web_render})
    for typed, expected in [
        ("/triase abc", '"abc" bukan nomor halaman. Cara pakai: /triase [halaman]'),
        ("/triase 0", '"0" bukan nomor halaman. Cara pakai: /triase [halaman]'),
        ("/triase ²", '"²" bukan nomor halaman.'),
        ("/triase", "Belum diarahkan — 20 laporan, halaman 1/3"),
        ("/triase 3", "Belum diarahkan — 20 laporan, halaman 3/3"),
        ("/antrian 0 PUPR", '"0" bukan nomor halaman. Cara pakai: /antrian [halaman]'),
        ("/antrian PUPR", "halaman 1/"),
        ("/antrian 2 PUPR", "halaman 2/"),
    ]:
        await dispatcher.handle(text("koordinator", typed))
        body = await _last_text(db, "koordinator")
        assert expected in body, (typed, body)
