"""Crafted button values (a Telegram client can send any callback data of up to 64 bytes): every
step of the SKM questionnaire answers crafted values of every flow with a hint, never a traceback."""

from __future__ import annotations

import logging

from bot.channels.telegram.telegram_channel import render as tg_render
from bot.domain.region import load_region_file
from bot.engine.dispatch import Dispatcher
from bot.services.regions import store_region
from handlers import build_router
from testkit.helpers import choice, text

UNIT = "DISDUKCAPIL-PST"
CRAFTED = [
    "skm:a:0:1:2",
    "skm:a:x:y",
    "skm:a:99:4",
    "skm:a:0:9",
    "skm:a:-1:-1",
    "skm:a:",
    "skm:p:0:99",
    "skm:p:9:1",
    "skm:p:x",
    "skm:opd:",
    "skm:opd:NOPE",
    "skm:unit:NOPE:1",
    "skm:svc:NOPE",
    "skm:svc:",
    "skm:opdpage:-5",
    "skm:unitpage:DISDUKCAPIL:99999999999999999999",
    "skm:back:1",
    "skm:nosaran:x",
    "lapor:privacy:zz",
    "lapor:edit:",
    "forum:mode:x",
    "forumbaru:opd:",
    "forumhasil:publish:1",
]
# the way to each step of the questionnaire, after consent
PATHS = [
    [],
    ["/survei"],
    ["/survei", "skm:opd:DISDUKCAPIL"],
    ["/survei", f"skm:unit:{UNIT}"],
    [f"/survei {UNIT.lower()}", f"skm:svc:{UNIT}-01"],
    [f"/survei {UNIT.lower()}", f"skm:svc:{UNIT}-01", "skm:p:all"],
    [f"/survei {UNIT.lower()}", f"skm:svc:{UNIT}-01", "skm:p:all", "skm:a:0:4"],
    [f"/survei {UNIT.lower()}", f"skm:svc:{UNIT}-01", "skm:p:all", *(f"skm:a:{i}:3" for i in range(9))],
]


async def test_crafted_survey_buttons_get_an_answer_at_every_step(db, settings, clock, caplog):
    await store_region(db, load_region_file(), clock.now())
    dispatcher = Dispatcher(db, build_router(), settings, clock=clock, renderers={"telegram": tg_render})
    caplog.set_level(logging.ERROR)
    for n, path in enumerate(PATHS):
        user = f"crafted{n}"
        for step in ["/start", "consent:yes", *path]:
            await dispatcher.handle(
                text(user, step, channel="telegram") if step.startswith("/") else choice(user, step, channel="telegram")
            )
        for value in CRAFTED:
            outcome = await dispatcher.handle(choice(user, value, channel="telegram"))
            assert outcome.handled and outcome.replies >= 1, (path, value)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [(r.getMessage(), r.exc_text) for r in errors][:3]
