"""Whatever a person sends, the bot answers with a message and never raises (hypothesis)."""

from __future__ import annotations

import itertools
import logging

from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.channels.telegram.telegram_channel import render as tg_render
from bot.channels.web.web_channel import render as web_render
from bot.domain.messages import Inbound, Kind, Voice
from bot.domain.region import load_region_file
from bot.engine.dispatch import Dispatcher
from bot.services.regions import store_region
from handlers import build_router
from storage.models import OutboxMessage

COMMANDS = [
    "/start",
    "/menu",
    "/bantuan",
    "/help",
    "/batal",
    "/bahasa",
    "/bahasa xx",
    "/language en",
    "/hapusdata",
    "/gabung",
    "/gabung AAAA-BBBB-CCCC",
    "/survei",
    "/lapor",
    "/status ADU-2026-00001",
    "/forum",
    "/tidakada",
    "/",
]
CHOICES = ["consent:yes", "consent:no", "lang:en", "lang:id", "lang:xx", "erase:no", "/menu", "m:??", "x" * 64]
hostile_text = st.one_of(
    st.text(min_size=1, max_size=300),
    st.sampled_from(COMMANDS),
    st.builds(lambda c, t: f"{c} {t}", st.sampled_from(COMMANDS), st.text(max_size=80)),
    st.sampled_from(
        [
            "<b>unclosed",
            "&amp;&lt;",
            "'; DROP TABLE users; --",
            "\x00\x07\u202e",
            "🙂" * 500,
            "a" * 5000,
            "*_`[]()~",
            "0",
            "-1e309",
        ]
    ),
)
message = st.one_of(
    st.tuples(st.just(Kind.TEXT), hostile_text),
    st.tuples(st.just(Kind.CHOICE), st.one_of(st.sampled_from(CHOICES), st.text(min_size=1, max_size=20))),
    st.tuples(st.just(Kind.UNSUPPORTED), st.sampled_from(["sticker", "poll", None])),
    st.tuples(st.just(Kind.VOICE), st.one_of(st.none(), st.integers(-5, 10**7))),  # its length in seconds
)
_ids = itertools.count()


@hsettings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(sequence=st.lists(message, min_size=1, max_size=6), channel=st.sampled_from(["web", "telegram"]))
async def test_any_sequence_gets_answers_and_no_errors(db, settings, clock, caplog, sequence, channel):
    # fixtures are shared by the examples; each example is a new person
    if not hasattr(db, "_hostile_dispatcher"):
        await store_region(db, load_region_file(), clock.now())
        db._hostile_dispatcher = Dispatcher(
            db, build_router(), settings, clock=clock, renderers={"web": web_render, "telegram": tg_render}
        )
    dispatcher = db._hostile_dispatcher
    caplog.set_level(logging.ERROR)
    user = f"h{next(_ids)}"
    for kind, value in sequence:
        inbound = Inbound(
            channel=channel,
            user_key=user,
            external_id=f"x{next(_ids)}",
            kind=kind,
            text=value if kind is Kind.TEXT else None,
            choice=value if kind is Kind.CHOICE else None,
            unsupported_type=value if kind is Kind.UNSUPPORTED else None,
            voice=Voice(f"AwACfake{next(_ids)}", "audio/ogg", value, 4096) if kind is Kind.VOICE else None,
        )
        async with db.unit_of_work() as uow:
            before = (await uow.session.execute(select(func.max(OutboxMessage.id)))).scalar_one() or 0
        outcome = await dispatcher.handle(inbound)
        assert outcome.handled and outcome.replies >= 1, (kind, value)
        async with db.unit_of_work() as uow:
            rows = (await uow.session.execute(select(OutboxMessage).where(OutboxMessage.id > before))).scalars().all()
        assert rows and all(r.address == user for r in rows)  # nobody else is told anything
        if channel == "telegram":  # split and escaped for Telegram's 4096-character limit
            assert all(len(r.payload.get("text", "")) <= 4096 + 2000 for r in rows)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [r.getMessage() for r in caplog.records]
