"""Hypothesis over the real dispatcher: random sequences of citizen, officer and coordinator
commands on one complaint never raise, never reach an inconsistent state, and never show the
complaint to someone who may not see it."""

from __future__ import annotations

import itertools
import logging

from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.channels.web.web_channel import render as web_render
from bot.domain import complaint_rules as rules
from bot.domain.messages import Inbound, Kind
from bot.domain.region import load_region_file
from bot.engine.dispatch import Dispatcher
from bot.services.regions import store_region
from handlers import build_router
from storage import Repo
from storage.models import AuditEvent, Complaint, OutboxMessage

TEXT = "Jalan rusak parah di depan pasar desa, banyak lubang besar dan sering terjadi kecelakaan motor."
_ids = itertools.count()

ACTORS = ("citizen", "pupr", "dlh", "coord", "stranger")
TEMPLATES = [
    "/balas {n} kami tindak lanjuti",
    "/balas {n}",
    "/selesai {n} sudah diperbaiki",
    "/selesai {n}",
    "/teruskan {n} DLH salah alamat",
    "/teruskan {n} PUPR",
    "/teruskan {n} XYZ",
    "/kembalikan {n} bukan kewenangan",
    "/arahkan {n} PUPR",
    "/arahkan {n} DLH",
    "/arahkan {n}",
    "/nilai {n} puas",
    "/nilai {n} tidak",
    "/nilai {n} mungkin",
    "alasannya jalan masih rusak",
    "/lihat {n}",
    "/status {n}",
    "/status",
    "/antrian",
    "/antrian 2",
    "/triase",
    "/cari rusak",
    "/batal",
    "/lihat ADU-2026-99999",
    "/balas ADU-2026-0 x",
    "jawaban teks bebas",
]
step = st.tuples(st.sampled_from(ACTORS), st.sampled_from(TEMPLATES))


async def setup(db, settings, clock):
    await store_region(db, load_region_file(), clock.now())
    dispatcher = Dispatcher(db, build_router(), settings, clock=clock, renderers={"web": web_render})
    async with db.unit_of_work() as uow:
        repo = Repo(uow.session)
        for key, role, opd in (("pupr", "officer", "PUPR"), ("dlh", "officer", "DLH"), ("coord", "coordinator", None)):
            user = await repo.get_or_create_user("web", f"staff-{key}", clock.now(), display_name=key)
            user.role, user.opd_code, user.consent_at = role, opd, clock.now()
        await uow.commit()
    return dispatcher


async def say(dispatcher, user_key: str, text: str) -> None:
    kind = Kind.CHOICE if text.startswith("lapor:") else Kind.TEXT
    await dispatcher.handle(
        Inbound(
            channel="web",
            user_key=user_key,
            external_id=f"p{next(_ids)}",
            kind=kind,
            text=text if kind is Kind.TEXT else None,
            choice=text if kind is Kind.CHOICE else None,
            display_name="Warga Uji",
        )
    )


@hsettings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(steps=st.lists(step, min_size=1, max_size=12), privacy=st.sampled_from(rules.PRIVACY))
async def test_any_command_sequence_keeps_the_complaint_consistent(db, settings, clock, caplog, steps, privacy):
    if not hasattr(db, "_prop_dispatcher"):
        db._prop_dispatcher = await setup(db, settings, clock)
    dispatcher = db._prop_dispatcher
    caplog.set_level(logging.ERROR)
    n = next(_ids)
    citizen, stranger = f"citizen-{n}", f"stranger-{n}"
    for text in (
        "/start",
        "lapor:x",
        "/lapor",
        TEXT,
        "lapor:next",
        "lapor:skip",
        f"lapor:privacy:{privacy}",
        "lapor:send",
    ):
        await say(dispatcher, citizen, "consent:yes" if text == "lapor:x" else text)
    async with db.unit_of_work() as uow:
        mine = (await uow.session.execute(select(Complaint).order_by(Complaint.id.desc()).limit(1))).scalar_one()
        number = mine.number
        first_out = (
            await uow.session.execute(select(OutboxMessage.id).order_by(OutboxMessage.id.desc()).limit(1))
        ).scalar_one()
    await say(dispatcher, stranger, "/start")
    await say(dispatcher, stranger, "/batal")

    keys = {"citizen": citizen, "pupr": "staff-pupr", "dlh": "staff-dlh", "coord": "staff-coord", "stranger": stranger}
    for actor, template in steps:
        await say(dispatcher, keys[actor], template.format(n=number))
        async with db.unit_of_work() as uow:
            c = await uow.session.get(Complaint, mine.id)
            assert c.state in rules.STATES
            assert (c.opd_code is None) == (c.state == "triase"), (c.state, c.opd_code)
            assert (c.closed_at is not None) == (c.state == "ditutup")
            if c.state == "selesai":
                assert c.resolved_at is not None

    async with db.unit_of_work() as uow:
        failed = (
            (await uow.session.execute(select(AuditEvent).where(AuditEvent.action == "turn_failed"))).scalars().all()
        )
        rows = (await uow.session.execute(select(OutboxMessage).where(OutboxMessage.id > first_out))).scalars().all()
    assert not failed, [f.detail for f in failed]
    stranger_text = " ".join(r.payload.get("text", "") for r in rows if r.address == stranger)
    assert TEXT[:30] not in stranger_text and "Warga Uji" not in stranger_text
    if privacy == "anonim":
        staff = " ".join(str(r.payload) for r in rows if r.address.startswith("staff-"))
        assert "Warga Uji" not in staff and citizen not in staff
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [r.getMessage() for r in caplog.records]
