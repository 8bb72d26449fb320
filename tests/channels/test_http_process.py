"""The Telegram HTTP process (KANAL_TELEGRAM_HTTP_PROCESS): the bot's messages and button answers
go out from a child process, against the fake Bot API server, with PTB's errors intact, and a dead
child costs no message."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest
from telegram.error import BadRequest, NetworkError, RetryAfter

import bot.channels.telegram.telegram_channel  # noqa: F401  (sets PTB_TIMEDELTA before PTB's errors are used)
from bot.channels.telegram.http_process import ProcessRequest
from bot.channels.telegram.telegram_request import JsonRequestData
from bot.settings import Settings
from testkit.fakes.telegram_api import FakeTelegramServer
from testkit.tg_chat import TOKEN, Chat, quiet, running


def child_of(app) -> asyncio.subprocess.Process:
    request = app.telegram.bot.request
    assert isinstance(request, ProcessRequest)
    child = request._child
    assert child is not None
    return child


async def test_a_conversation_goes_out_through_the_child(settings: Settings):
    async with running(settings.__class__(**{**settings.__dict__, "telegram_http_process": True})) as (tg, app):
        child = child_of(app)
        assert child.returncode is None and child.pid != os.getpid()
        chat = Chat(tg, app, 501, "Sari")
        got = await chat.send("/start")
        assert got and "consent:yes" in str(got[-1].get("reply_markup"))
        got = await chat.press("consent:yes")
        assert got, "no answer to the button"
        # the button's spinner was stopped (answerCallbackQuery), and both calls came from the child
        assert len(tg.callback_answers) == 1
        assert app.telegram.bot.request.calls >= 3  # two messages and the button answer
    assert child.returncode is not None, "the child outlived the bot"


async def test_a_killed_child_costs_no_message(settings: Settings):
    async with running(settings.__class__(**{**settings.__dict__, "telegram_http_process": True})) as (tg, app):
        first = child_of(app)
        chat = Chat(tg, app, 502, "Budi")
        await chat.consent()
        first.send_signal(signal.SIGKILL)
        await first.wait()
        got = await chat.send("/menu")  # the outbox retries the failed send; a new child sends it
        assert got and "menu" in (got[-1].get("visible_text") or "").lower()
        second = child_of(app)
        assert second.pid != first.pid and second.returncode is None
        await quiet(tg, app)


@pytest.fixture
async def request_and_server():
    async with FakeTelegramServer(token=TOKEN) as tg:
        req = ProcessRequest()
        await req.initialize()
        try:
            yield req, tg
        finally:
            await req.shutdown()


async def test_errors_keep_their_ptb_types(request_and_server):
    req, tg = request_and_server
    url = f"{tg.base_url}{TOKEN}/sendMessage"
    result = await req.post(url, request_data=JsonRequestData({"chat_id": 7, "text": "halo"}))
    assert result["text"] == "halo" and tg.sent(7)[0]["text"] == "halo"
    tg.fail_next("sendMessage", 429)
    with pytest.raises(RetryAfter):
        await req.post(url, request_data=JsonRequestData({"chat_id": 7, "text": "lagi"}))
    with pytest.raises(BadRequest):
        await req.post(url, request_data=JsonRequestData({"chat_id": 7, "text": ""}))
    tg.fail_next("sendMessage", "reset")
    with pytest.raises(NetworkError) as caught:
        await req.post(url, request_data=JsonRequestData({"chat_id": 7, "text": "putus"}))
    assert TOKEN not in str(caught.value) and TOKEN.split(":")[1] not in str(caught.value)
    assert req.calls == 4


async def test_an_unreachable_server_is_a_network_error_without_the_token():
    req = ProcessRequest()
    await req.initialize()
    try:
        with pytest.raises(NetworkError) as caught:  # a closed port
            await req.post(
                f"http://127.0.0.1:9/bot{TOKEN}/sendMessage", request_data=JsonRequestData({"chat_id": 1, "text": "x"})
            )
        assert TOKEN.split(":")[1] not in str(caught.value)
    finally:
        await req.shutdown()
    assert req._child is None
