"""Invisible characters (zero-width spaces, byte-order marks, direction overrides) are taken out of
what a person typed before any flow sees it: twenty zero-width spaces are not a 20-character report."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.channels.web.web_channel import render as web_render
from bot.domain.messages import Inbound, Kind, Photo, without_invisible
from bot.domain.region import load_region_file
from bot.engine.dispatch import Dispatcher, storable
from bot.services.regions import store_region
from handlers import build_router
from storage.models import Complaint, OutboxMessage
from testkit.helpers import choice, text

ZW = "\u200b"


@pytest.mark.parametrize(
    "typed, seen",
    [
        (ZW * 20, ""),
        ("\ufeff\u2060\u200c\u200d\u200e\u202e" * 5, ""),
        (f"jalan{ZW}rusak", "jalanrusak"),
        ("\u202eJl. Merdeka", "Jl. Merdeka"),
        ("keluarga 👨\u200d👩\u200d👧 kami", "keluarga 👨\u200d👩\u200d👧 kami"),  # the emoji joiner stays
        ("Jalan di depan rumah rusak", "Jalan di depan rumah rusak"),
        ("a\x00b", "ab"),
    ],
)
def test_without_invisible(typed, seen):
    assert without_invisible(typed) == seen


def test_storable_cleans_text_caption_and_name():
    inbound = Inbound(
        channel="web",
        user_key="u1",
        external_id="m1",
        kind=Kind.TEXT,
        text=ZW * 20,
        display_name="\u202eituS",
        photo=Photo(file_ref="f", caption=f"{ZW}lubang{ZW}"),
    )
    clean = storable(inbound)
    assert clean.text == "" and clean.display_name == "ituS" and clean.photo.caption == "lubang"


async def test_a_complaint_of_zero_width_spaces_is_refused(db, settings, clock):
    await store_region(db, load_region_file(), clock.now())
    dispatcher = Dispatcher(db, build_router(), settings, clock=clock, renderers={"web": web_render})
    for inbound in (text("zw", "/start"), choice("zw", "consent:yes"), text("zw", "/lapor"), text("zw", ZW * 20)):
        await dispatcher.handle(inbound)
    await dispatcher.handle(text("zw", "a" + ZW * 30))
    async with db.unit_of_work() as uow:
        rows = (await uow.session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars().all()
        assert (await uow.session.execute(select(Complaint))).scalars().all() == []
    last_two = [r.payload.get("text", "") for r in rows[-2:]]
    assert all("3 kata" in t for t in last_two), last_two
