"""Dedupe that cannot eat a new message: Telegram's keys are unique over time, a key older than
the horizon is handled (with a warning), the prune job forgets keys past the horizon, and the
webhook inbox keeps a body only until it is processed. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from telegram import Bot, Update

from bot.channels.telegram.telegram_parse import (
    bot_id_of,
    message_key,
    parse_raw,
    parse_update,
    press_key,
    read_updates,
    update_key,
)
from bot.channels.web.web_channel import render as web_render
from bot.domain.region import load_region_file
from bot.engine.dispatch import Dispatcher
from bot.services.regions import store_region
from handlers import build_router
from scheduler.job_context import JobContext
from scheduler.job_dedupe_prune import dedupe_prune
from storage.models import InboundMessage, WebhookInbox
from testkit.helpers import text

BOT = Bot("4242:KEYS-test")


def _message(update_id: int, chat: int, message_id: int, text: str = "halo") -> dict:
    person = {"id": chat, "is_bot": False, "first_name": "Sari", "language_code": "id"}
    msg = {"message_id": message_id, "date": 1764000000, "chat": {"id": chat, "type": "private"}, "from": person}
    return {"update_id": update_id, "message": {**msg, "text": text}}


def _press(update_id: int, chat: int, query_id: str) -> dict:
    person = {"id": chat, "is_bot": False, "first_name": "Sari"}
    message = {"message_id": 7, "date": 1764000000, "chat": {"id": chat, "type": "private"}, "text": "…"}
    query = {"id": query_id, "from": person, "message": message, "chat_instance": "-1", "data": "consent:yes"}
    return {"update_id": update_id, "callback_query": query}


def test_telegram_keys_are_message_and_press_ids_never_the_update_id():
    assert bot_id_of("4242:KEYS-test") == "4242"
    a, b = _message(1, 501, 10), _message(1, 501, 11)  # the same update id, later (ids started again)
    assert update_key("4242", a) == message_key("4242", 501, 10) == "m4242:501:10"
    assert update_key("4242", a) != update_key("4242", b)
    assert update_key("4242", a) != update_key("4243", a)  # a second bot on the same database
    assert update_key("4242", _message(9, 502, 10)) == "m4242:502:10"  # message ids count per chat
    assert update_key("4242", _press(1, 501, "99")) == press_key("4242", "99") == "q4242:99"
    edited = {"update_id": 3, "edited_message": {**a["message"], "edit_date": 1764000100}}
    assert update_key("4242", edited) == "e4242:501:10:1764000100" != update_key("4242", a)
    assert update_key("4242", {"update_id": 5, "my_chat_member": {}}) == "u4242:5"  # never an Inbound


@pytest.mark.parametrize("item", [_message(1, 501, 10), _press(2, 501, "4200000000000000001")])
def test_both_parsers_and_the_batch_reader_give_the_same_key(item):
    fast = parse_raw(item, "4242")
    slow = parse_update(Update.de_json(item, BOT), "4242")
    [(_query, batch)], _last = read_updates([item], BOT)
    assert fast.external_id == slow.external_id == batch.external_id == update_key("4242", item)
    edited = {"update_id": 3, "edited_message": {**_message(1, 501, 10)["message"], "edit_date": 1764000100}}
    assert parse_update(Update.de_json(edited, BOT), "4242").external_id == update_key("4242", edited)


@pytest.fixture
async def dispatcher(db, settings, clock):
    await store_region(db, load_region_file(), clock.now())
    return Dispatcher(db, build_router(), settings, clock=clock, renderers={"web": web_render})


async def _handled(dispatcher: Dispatcher, ext: str, user: str = "d1") -> bool:
    return (await dispatcher.handle(text(user, "/bantuan", ext=ext))).handled


async def test_a_repeat_within_the_horizon_is_ignored_and_one_past_it_is_handled_with_a_warning(
    dispatcher, db, clock, caplog
):
    assert await _handled(dispatcher, "k1")
    clock.advance(timedelta(hours=dispatcher.settings.dedupe_hours - 1))
    assert not await _handled(dispatcher, "k1")  # a redelivery
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING and "k1" in r.getMessage()]
    clock.advance(timedelta(hours=2))  # the prune has not run yet: the old row is still there
    with caplog.at_level(logging.WARNING):
        assert await _handled(dispatcher, "k1")
    assert any(r.levelno == logging.WARNING and "already seen" in r.getMessage() for r in caplog.records)
    assert not await _handled(dispatcher, "k1")  # its time was renewed: a redelivery again


async def test_group_commit_handles_stale_keys_too(db, settings, clock, caplog):
    await store_region(db, load_region_file(), clock.now())
    dispatcher = Dispatcher(db, build_router(), settings, clock=clock, renderers={"web": web_render})
    for i in range(4):
        assert await _handled(dispatcher, f"g{i}", user=f"p{i}")
    clock.advance(timedelta(hours=settings.dedupe_hours + 1))
    dispatcher.group_commit.batch_size = 8
    with caplog.at_level(logging.WARNING):
        outcomes = await asyncio.gather(
            *(dispatcher.group_commit.submit(text(f"p{i}", "/bantuan", ext=f"g{i}")) for i in range(4))
        )
    assert [o.handled for o in outcomes] == [True] * 4
    assert sum("already seen" in r.getMessage() for r in caplog.records) == 4
    outcomes = await asyncio.gather(
        *(dispatcher.group_commit.submit(text(f"p{i}", "/bantuan", ext=f"g{i}")) for i in range(4))
    )
    assert [o.handled for o in outcomes] == [False] * 4


async def test_the_prune_job_forgets_keys_past_the_horizon_only(dispatcher, db, settings, clock):
    for i in range(7):
        await _handled(dispatcher, f"old{i}", user=f"o{i}")
    clock.advance(timedelta(hours=settings.dedupe_hours + 1))
    await _handled(dispatcher, "new", user="o0")
    ctx = JobContext(db, settings, dispatcher.notifier, clock=clock, chunk_size=0)  # chunks of 1: the loop
    result = await dedupe_prune(ctx)
    assert result.counts == {"pruned": 7}
    async with db.unit_of_work() as uow:
        left = (await uow.session.execute(select(InboundMessage.external_id))).scalars().all()
    assert left == ["new"]
    assert (await dedupe_prune(ctx)).counts == {"pruned": 0}


async def test_the_inbox_keeps_a_body_until_it_is_forgotten(db, clock):
    async with db.unit_of_work() as uow:
        first = await uow.inbox.store("whatsapp", b'{"a": 1}', clock.now())
        second = await uow.inbox.store("whatsapp", b'{"b": 2}', clock.now())
        await uow.inbox.store("other", b"{}", clock.now())
        await uow.commit()
    async with db.unit_of_work() as uow:
        assert await uow.inbox.pending("whatsapp") == [(first, b'{"a": 1}'), (second, b'{"b": 2}')]
        assert await uow.inbox.pending("whatsapp", after_id=first, limit=5) == [(second, b'{"b": 2}')]
        await uow.inbox.forget(first)
        await uow.commit()
    async with db.unit_of_work() as uow:
        assert [i for i, _ in await uow.inbox.pending("whatsapp")] == [second]
        assert (await uow.session.execute(select(func.count()).select_from(WebhookInbox))).scalar_one() == 2
