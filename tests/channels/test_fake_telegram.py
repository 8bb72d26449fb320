"""The fake Bot API server and our aiohttp request class, driven by a real ``telegram.Bot``.

These pin down the two test/benchmark fixtures everything else relies on: that the fake answers
like Telegram (formats, errors, 429s, long polling) and that :class:`AiohttpRequest` maps the wire
to PTB's exceptions without ever leaking the token.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
import socket
import time
import traceback
import warnings

import aiohttp
import pytest
from aiohttp import web
from telegram import Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.request import HTTPXRequest, RequestData
from telegram.request._requestparameter import RequestParameter
from telegram.warnings import PTBDeprecationWarning

from bot.channels.telegram.telegram_request import AiohttpRequest, JsonRequestData, redact
from testkit.fakes.telegram_api import FakeTelegramServer, parse_html

TOKEN = "123456:SECRET-token_value-xyz"
# A 1×1 PNG (header says 1×1).
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def keyboard(*data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(f"b{i}", callback_data=d)] for i, d in enumerate(data)])


def full_text(exc: BaseException) -> str:
    """Everything a log line with ``exc_info`` would show: message, repr and the whole chain."""
    return str(exc) + repr(exc) + "".join(traceback.format_exception(exc))


def retry_after_seconds(exc: RetryAfter) -> float:
    """``RetryAfter.retry_after`` is an int (with a deprecation warning) unless ``PTB_TIMEDELTA`` is set."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


@pytest.fixture
async def tg():
    async with FakeTelegramServer(token=TOKEN) as server:
        yield server


def make_bot(tg: FakeTelegramServer, **request_kwargs) -> Bot:
    return Bot(
        TOKEN,
        base_url=tg.base_url,
        base_file_url=tg.base_file_url,
        request=AiohttpRequest(**request_kwargs),
        get_updates_request=AiohttpRequest(),
    )


@pytest.fixture
async def bot(tg):
    async with make_bot(tg) as b:
        yield b


# ---- messages ---------------------------------------------------------------------------------
async def test_send_message_round_trip(tg, bot):
    me = await bot.get_me()
    assert me.is_bot and me.id == 123456 and me.username == "kanal_test_bot"

    msg = await bot.send_message(
        1001, "<b>Halo</b> Budi &amp; 👋 <i>semua</i>", parse_mode="HTML", reply_markup=keyboard("menu:a", "menu:b")
    )
    assert msg.text == "Halo Budi & 👋 semua"
    assert [(e.type, e.offset, e.length) for e in msg.entities] == [
        ("bold", 0, 4),
        ("italic", 15, 5),
    ]  # 👋 is 2 UTF-16 units
    assert msg.from_user.id == me.id and msg.chat.id == 1001 and msg.chat.type == "private"
    assert msg.reply_markup.inline_keyboard[1][0].callback_data == "menu:b"

    second = await bot.send_message(1001, "dua")
    other = await bot.send_message(2002, "lain")
    assert (msg.message_id, second.message_id, other.message_id) == (1, 2, 1)  # per chat

    sent = tg.sent(chat_id=1001)
    assert [s["visible_text"] for s in sent] == ["Halo Budi & 👋 semua", "dua"]
    assert sent[0]["text"].startswith("<b>Halo</b>") and sent[0]["method"] == "sendMessage"
    assert sent[0]["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "menu:a"
    assert len(tg.sent()) == 3 and tg.sent(chat_id="2002")[0]["message_id"] == 1
    assert [r.method for r in tg.requests] == ["getMe", "getMe", "sendMessage", "sendMessage", "sendMessage"]


async def test_incoming_message_and_callback(tg, bot):
    tg.push_message(1001, "/start skm_1", first_name="Siti", username="siti", language_code="en")
    (update,) = await bot.get_updates(timeout=0)
    msg = update.message
    assert msg.text == "/start skm_1" and msg.chat.id == 1001 and msg.chat.type == "private"
    assert (
        msg.from_user.first_name == "Siti" and msg.from_user.language_code == "en" and msg.from_user.username == "siti"
    )
    assert msg.entities[0].type == "bot_command" and msg.entities[0].length == len("/start")
    tg.push_message(1001, "lagi")  # the profile stays what it was
    (again,) = await bot.get_updates(offset=update.update_id + 1, timeout=0)
    assert (again.message.from_user.first_name, again.message.from_user.language_code) == ("Siti", "en")
    update, msg = again, again.message

    reply = await bot.send_message(1001, "Pilih:", reply_markup=keyboard("consent:yes"))
    assert reply.message_id == msg.message_id + 1  # one counter per chat for both sides
    tg.push_callback(1001, "consent:yes")
    (press,) = await bot.get_updates(offset=update.update_id + 1, timeout=0)
    assert press.update_id == update.update_id + 1
    q = press.callback_query
    assert q.data == "consent:yes" and q.message.message_id == reply.message_id and q.from_user.id == 1001
    assert await bot.answer_callback_query(q.id)
    assert q.id in tg.callback_answers
    with pytest.raises(BadRequest, match="(?i)query ID is invalid"):
        await bot.answer_callback_query("999")


async def test_media_and_other_pushes(tg, bot):
    tg.push_photo(7, caption="jalan rusak")
    tg.push_location(7, -7.25, 112.75, address="Jl. Pemuda 1")
    tg.push_sticker(7)
    tg.push_voice(7)
    tg.push_contact(7, "+628111")
    tg.push_document(7, filename="foto.png", mime_type="image/png", data=PNG)
    updates = await bot.get_updates(timeout=0)
    photo, loc, sticker, voice, contact, document = (u.message for u in updates)
    assert photo.caption == "jalan rusak" and photo.photo[-1].width == 1280
    assert loc.location.latitude == -7.25 and loc.venue.address == "Jl. Pemuda 1"
    assert sticker.sticker.emoji and voice.voice.file_size and contact.contact.phone_number == "+628111"
    assert document.document.mime_type == "image/png"
    file = await bot.get_file(document.document.file_id)
    assert bytes(await file.download_as_bytearray()) == PNG


# ---- long polling -----------------------------------------------------------------------------
async def test_long_poll_returns_as_soon_as_an_update_is_pushed(tg, bot):
    t0 = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=20))
    await asyncio.sleep(0.05)
    assert not poll.done()
    tg.push_message(5, "halo")
    (update,) = await asyncio.wait_for(poll, 2)
    assert update.message.text == "halo" and time.monotonic() - t0 < 1.0

    # not confirmed yet: delivered again; confirmed by offset: gone; an empty poll honours timeout
    assert [u.update_id for u in await bot.get_updates(timeout=0)] == [update.update_id]
    t0 = time.monotonic()
    assert await bot.get_updates(offset=update.update_id + 1, timeout=0.3) == ()
    assert 0.25 < time.monotonic() - t0 < 2
    assert tg.pending_updates == []


async def test_offset_limit_and_redelivery(tg, bot):
    pushed = [tg.push_message(9, f"m{i}") for i in range(5)]
    assert [u["update_id"] for u in pushed] == [1, 2, 3, 4, 5]
    first = await bot.get_updates(limit=2, timeout=0)
    assert [u.message.text for u in first] == ["m0", "m1"]
    rest = await bot.get_updates(offset=3, timeout=0)
    assert [u.update_id for u in rest] == [3, 4, 5]
    assert [u.update_id for u in await bot.get_updates(offset=-1, timeout=0)] == [5]

    # Telegram re-sends an update the bot has already confirmed (e.g. after a timeout)
    await bot.get_updates(offset=6, timeout=0)
    tg.push_update(pushed[0])
    tg.push_message(9, "after")
    again = await bot.get_updates(offset=6, timeout=0)
    assert [(u.update_id, u.message.text) for u in again] == [(1, "m0"), (6, "after")]
    assert await bot.get_updates(offset=7, timeout=0) == ()  # the redelivery is not repeated


async def test_second_poll_conflicts_with_the_first(tg, bot):
    first = asyncio.create_task(bot.get_updates(timeout=20))
    await asyncio.sleep(0.05)
    second = asyncio.create_task(bot.get_updates(timeout=0.1))
    with pytest.raises(Conflict, match="terminated by other getUpdates"):
        await asyncio.wait_for(first, 2)
    assert await second == ()


async def test_closing_releases_pending_long_polls():
    async with FakeTelegramServer(token=TOKEN) as server, make_bot(server) as b:
        poll = asyncio.create_task(b.get_updates(timeout=30))
        await asyncio.sleep(0.05)
        t0 = time.monotonic()
        await server.close()
        assert await asyncio.wait_for(poll, 3) == ()
        assert time.monotonic() - t0 < 3


async def test_wait_for_sent(tg, bot):
    asyncio.get_running_loop().call_later(0.05, lambda: asyncio.ensure_future(bot.send_message(3, "nanti")))
    (msg,) = await tg.wait_for_sent(1, chat_id=3, timeout=2)
    assert msg["visible_text"] == "nanti"
    with pytest.raises(AssertionError, match=r"(?s)expected at least 2 message\(s\) to chat 3.*nanti"):
        await tg.wait_for_sent(2, chat_id=3, timeout=0.1)


# ---- errors like Telegram's ---------------------------------------------------------------------
# PTB warns about the int-typed retry_after already when it builds a RetryAfter.
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_flood_control_answers_429_with_retry_after(monkeypatch):
    limits = {"rate_limits": True, "per_chat_per_second": 20.0, "per_chat_burst": 3}
    async with FakeTelegramServer(token=TOKEN, **limits) as server, make_bot(server) as b:
        for i in range(3):
            await b.send_message(42, f"ok {i}")
        with pytest.raises(RetryAfter) as info:
            await b.send_message(42, "too fast")
        monkeypatch.delenv("PTB_TIMEDELTA", raising=False)  # (the bot.channels.telegram package sets it process-wide)
        with pytest.warns(PTBDeprecationWarning, match="PTB_TIMEDELTA"):  # PTB 22 default: an int, and a warning
            assert isinstance(info.value.retry_after, int) and info.value.retry_after >= 1
        monkeypatch.setenv("PTB_TIMEDELTA", "1")
        assert info.value.retry_after >= dtm.timedelta(seconds=1)  # opted in: a timedelta, no warning
        assert retry_after_seconds(info.value) >= 1
        assert server.rejected_429 == 1 and len(server.sent(chat_id=42)) == 3  # rejected: not sent
        await b.send_message(43, "another chat is not limited")
        await asyncio.sleep(0.06)  # the bucket refills at 20/s here
        await b.send_message(42, "paced")
        assert [s["visible_text"] for s in server.sent(chat_id=42)][-1] == "paced"


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_global_flood_control():
    limits = {"rate_limits": True, "global_per_second": 1.0, "global_burst": 2}
    async with FakeTelegramServer(token=TOKEN, **limits) as server, make_bot(server) as b:
        await b.send_message(1, "a")
        await b.send_message(2, "b")
        with pytest.raises(RetryAfter) as info:
            await b.send_message(3, "c")
        assert server.rejected_429 == 1 and retry_after_seconds(info.value) >= 1


async def test_429_wire_format(tg):
    tg.rate_limits, tg.per_chat_burst = True, 1
    async with aiohttp.ClientSession() as http:
        url = f"{tg.base_url}{TOKEN}/sendMessage"
        async with http.post(url, json={"chat_id": 1, "text": "a"}) as r:
            assert r.status == 200
        async with http.post(url, json={"chat_id": 1, "text": "b"}) as r:
            body = await r.json()
            assert r.status == 429
    assert body["ok"] is False and body["error_code"] == 429
    assert isinstance(body["parameters"]["retry_after"], int) and body["parameters"]["retry_after"] >= 1
    assert body["description"] == f"Too Many Requests: retry after {body['parameters']['retry_after']}"


async def test_blocked_and_missing_chats(tg, bot):
    tg.block_chat(11)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(11, "halo")
    tg.missing_chat(12)
    with pytest.raises(BadRequest, match="(?i)chat not found"):
        await bot.send_message(12, "halo")
    assert tg.sent() == [] and [e.status for e in tg.errors] == [403, 400]
    await bot.send_message(-1001234567890, "any other id works")


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("x" * 4097, "message is too long"),
        ("   ", "message text is empty"),
        ("<b></b>", "message text is empty"),
    ],
)
async def test_text_validation(bot, text, error):
    with pytest.raises(BadRequest, match=f"(?i){error}"):
        await bot.send_message(1, text, parse_mode="HTML")


async def test_text_of_exactly_4096_characters_is_fine(tg, bot):
    await bot.send_message(1, "é" * 4096)
    await bot.send_message(1, "&lt;" * 4096, parse_mode="HTML")  # the limit is on the visible text
    assert len(tg.sent(chat_id=1)[1]["visible_text"]) == 4096


async def test_callback_data_over_64_bytes_is_rejected(tg, bot):
    await bot.send_message(1, "ok", reply_markup=keyboard("é" * 32))  # exactly 64 bytes
    with pytest.raises(BadRequest, match="(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(1, "too long", reply_markup=keyboard("é" * 32 + "x"))
    assert len(tg.sent()) == 1


@pytest.mark.parametrize(
    "html",
    ["<b>tebal", "<b>x</i>", "a < b", "Tom & Jerry", "<foo>x</foo>", "<br>", "<span>x</span>", "x</b>", "&nbsp;", "<b"],
)
async def test_broken_html_is_rejected(bot, html):
    with pytest.raises(BadRequest, match="(?i)can't parse entities"):
        await bot.send_message(1, html, parse_mode="HTML")


async def test_same_text_is_fine_without_parse_mode(tg, bot):
    await bot.send_message(1, "a < b & <foo>")
    assert tg.sent()[0]["visible_text"] == "a < b & <foo>"


def test_parse_html():
    text, entities = parse_html(
        '<b>B <i>BI</i></b> <a href="https://x.id/?a=1&amp;b=2">tautan</a> <tg-spoiler>s</tg-spoiler> '
        '<span class="tg-spoiler">t</span> <pre><code class="language-python">x = 1</code></pre> '
        "<blockquote expandable>q</blockquote> &lt;&gt;&amp;&quot;&#233;&#x1F600; <code>c</code> <s>x</s><u>y</u>"
    )
    assert text == 'B BI tautan s t x = 1 q <>&"é😀 c xy'
    kinds = {e["type"]: e for e in entities}
    assert kinds["bold"] == {"offset": 0, "length": 4, "type": "bold"}
    assert kinds["italic"]["offset"] == 2
    assert kinds["text_link"]["url"] == "https://x.id/?a=1&b=2"
    assert kinds["pre"]["language"] == "python" and "code" in kinds
    assert {"spoiler", "expandable_blockquote", "strikethrough", "underline"} <= set(kinds)
    assert [e["offset"] for e in entities] == sorted(e["offset"] for e in entities)


# ---- uploads ----------------------------------------------------------------------------------
async def test_send_photo_multipart_and_by_file_id(tg, bot):
    msg = await bot.send_photo(
        77,
        InputFile(PNG, filename="bukti.png"),
        caption="<b>Bukti</b> foto",
        parse_mode="HTML",
        reply_markup=keyboard("ok"),
    )
    assert msg.caption == "Bukti foto" and msg.caption_entities[0].type == "bold"
    assert (msg.photo[-1].width, msg.photo[-1].height) == (1, 1) and msg.photo[-1].file_size == len(PNG)
    (req,) = [r for r in tg.requests if r.method == "sendPhoto"]
    assert req.params["photo"].data == PNG and req.params["photo"].filename == "bukti.png"
    record = tg.sent(method="sendPhoto")[0]
    assert record["media"]["data"] == PNG and record["visible_text"] == "Bukti foto"

    again = await bot.send_photo(77, msg.photo[-1].file_id)  # no upload: a plain form
    assert again.photo[-1].file_id == msg.photo[-1].file_id
    with pytest.raises(BadRequest, match="(?i)wrong file identifier"):
        await bot.send_photo(77, "AgACAgUAAxkBAAInvented")

    doc = await bot.send_document(77, b"%PDF-1.4 laporan", filename="laporan.pdf")
    assert doc.document.file_name == "laporan.pdf" and doc.document.mime_type == "application/pdf"
    file = await bot.get_file(doc.document.file_id)
    assert bytes(await file.download_as_bytearray()) == b"%PDF-1.4 laporan"
    assert [s["method"] for s in tg.sent(chat_id=77)] == ["sendPhoto", "sendPhoto", "sendDocument"]


# ---- other methods ----------------------------------------------------------------------------
async def test_edits(tg, bot):
    msg = await bot.send_message(8, "Pilih", reply_markup=keyboard("a"))
    edited = await bot.edit_message_text("<i>Dipilih</i>", chat_id=8, message_id=msg.message_id, parse_mode="HTML")
    assert edited.text == "Dipilih" and edited.reply_markup is None and edited.edit_date is not None
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_text("<i>Dipilih</i>", chat_id=8, message_id=msg.message_id, parse_mode="HTML")
    await bot.edit_message_reply_markup(chat_id=8, message_id=msg.message_id, reply_markup=keyboard("b"))
    with pytest.raises(BadRequest, match="(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=8, message_id=999)
    assert [e["method"] for e in tg.edits(chat_id=8)] == ["editMessageText", "editMessageReplyMarkup"]
    assert len(tg.sent()) == 1  # edits are not new messages
    assert await bot.send_chat_action(8, "typing")
    assert await bot.delete_message(8, msg.message_id)


async def test_webhook_and_commands(tg, bot):
    assert await bot.set_webhook("https://kanal.example.go.id/webhooks/telegram", secret_token="s3cret_-x")
    info = await bot.get_webhook_info()
    assert info.url == "https://kanal.example.go.id/webhooks/telegram" and tg.webhook_secret == "s3cret_-x"
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates(timeout=0)
    with pytest.raises(BadRequest, match="(?i)HTTPS URL"):
        await bot.set_webhook("http://insecure.example/")
    tg.push_message(1, "x")
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert (await bot.get_webhook_info()).url == "" and await bot.get_updates(timeout=0) == ()

    await bot.set_my_commands([BotCommand("mulai", "Mulai"), BotCommand("lapor", "Buat laporan")])
    await bot.set_my_commands([BotCommand("start", "Start")], language_code="en")
    assert [c.command for c in await bot.get_my_commands()] == ["mulai", "lapor"]
    assert [c.command for c in await bot.get_my_commands(language_code="en")] == ["start"]
    assert tg.commands("en") == [{"command": "start", "description": "Start"}]
    with pytest.raises(BadRequest, match="(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand("Bad-Name", "x")])
    await bot.delete_my_commands(language_code="en")
    assert await bot.get_my_commands(language_code="en") == ()


async def test_deliver_webhook_sends_the_secret_header(tg):
    seen: list[tuple[str | None, dict]] = []

    async def hook(request: web.Request) -> web.Response:
        seen.append((request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json()))
        return web.Response(status=200 if seen[-1][0] == "ok-secret" else 403)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        update = {
            "update_id": 1,
            "message": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}, "text": "hi"},
        }
        assert await tg.deliver_webhook(f"http://127.0.0.1:{port}/hook", update, secret_token="ok-secret") == 200
        assert await tg.deliver_webhook(f"http://127.0.0.1:{port}/hook", update) == 403
    finally:
        await runner.cleanup()
    assert seen == [("ok-secret", update), (None, update)]


async def test_wire_format_json_form_query_and_method_case(tg):
    async with aiohttp.ClientSession() as http:
        base = f"{tg.base_url}{TOKEN}"
        async with http.post(f"{base}/SENDMESSAGE", json={"chat_id": 1, "text": "json"}) as r:
            body = await r.json()
            assert r.status == 200 and body["ok"] and body["result"]["text"] == "json"
        async with http.post(
            f"{base}/sendmessage",
            data={
                "chat_id": "1",
                "text": "form",
                "reply_markup": json.dumps({"inline_keyboard": [[{"text": "x", "callback_data": "y"}]]}),
            },
        ) as r:
            assert (await r.json())["result"]["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "y"
        async with http.get(f"{base}/sendMessage", params={"chat_id": "1", "text": "query"}) as r:
            assert r.status == 200
        async with http.post(f"{base}/fooBar") as r:
            assert r.status == 404 and await r.json() == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found: method not found",
            }
        async with http.post(f"{tg.base_url}123456:wrong/getMe") as r:
            assert r.status == 401
        async with http.post(f"{base}/sendMessage", json={"text": "no chat"}) as r:
            assert r.status == 400 and (await r.json())["description"] == "Bad Request: chat_id is empty"
    assert [s["visible_text"] for s in tg.sent(chat_id=1)] == ["json", "form", "query"]
    assert [r.method for r in tg.requests][:3] == ["SENDMESSAGE", "sendmessage", "sendMessage"]


async def test_unknown_method_and_wrong_token_through_ptb(tg, bot):
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("fooBar")
    with pytest.raises(InvalidToken):
        async with Bot("123456:not-the-token", base_url=tg.base_url, request=AiohttpRequest()):
            pass


@pytest.mark.parametrize("request_class", [AiohttpRequest, HTTPXRequest])
async def test_json_request_data_through_any_request_class(tg, request_class):
    """JsonRequestData: one JSON body through our request class, form fields through PTB's own;
    the server sees the same call, and error answers still become PTB's exceptions."""
    request = request_class()
    await request.initialize()
    try:
        markup = {"inline_keyboard": [[{"text": "Ya ✅", "callback_data": "consent:yes"}]]}
        url = f"{tg.base_url}{TOKEN}/sendMessage"
        result = await request.post(
            url,
            request_data=JsonRequestData(
                {
                    "chat_id": "41",
                    "text": "<b>halo</b> &amp; ü",
                    "parse_mode": "HTML",
                    "reply_markup": markup,
                    "unused": None,
                }
            ),
        )
        assert isinstance(result["message_id"], int)
        tg.block_chat(42)
        with pytest.raises(Forbidden):
            await request.post(url, request_data=JsonRequestData({"chat_id": 42, "text": "x"}))
        with pytest.raises(BadRequest, match="(?i)can't parse entities"):
            await request.post(url, request_data=JsonRequestData({"chat_id": 41, "text": "<b>", "parse_mode": "HTML"}))
    finally:
        await request.shutdown()
    (sent,) = tg.sent(chat_id=41)
    assert sent["visible_text"] == "halo & ü" and sent["reply_markup"] == markup


# ---- faults and the token -------------------------------------------------------------------------
async def test_injected_faults_map_to_ptb_errors_without_the_token(tg):
    async with make_bot(tg, read_timeout=0.3) as b:
        tg.fail_next("sendMessage", "timeout")
        t0 = time.monotonic()
        with pytest.raises(TimedOut) as timed_out:
            await b.send_message(1, "a")
        assert time.monotonic() - t0 < 2

        tg.fail_next("SendMessage", "reset")
        with pytest.raises(NetworkError) as reset:
            await b.send_message(1, "b")
        assert not isinstance(reset.value, (TimedOut, BadRequest)) and "aiohttp." in reset.value.message

        tg.fail_next("sendMessage", 500, count=2)
        for _ in range(2):
            with pytest.raises(NetworkError, match="Internal Server Error"):
                await b.send_message(1, "c")
        tg.fail_next("sendMessage", 502)
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await b.send_message(1, "d")

        await b.send_message(1, "e")  # faults used up
        assert [s["visible_text"] for s in tg.sent()] == ["e"]
        assert [e.status for e in tg.errors] == ["timeout", "reset", 500, 500, 502]
    for exc in (timed_out.value, reset.value):
        assert TOKEN not in full_text(exc) and TOKEN.split(":")[1] not in full_text(exc)


async def test_per_call_timeout_overrides_the_default(tg):
    async with make_bot(tg, read_timeout=30.0) as b:
        tg.fail_next("sendMessage", "timeout")
        t0 = time.monotonic()
        with pytest.raises(TimedOut):
            await b.send_message(1, "x", read_timeout=0.2)
        assert time.monotonic() - t0 < 2


async def test_pool_timeout(tg):
    async with make_bot(tg, connection_pool_size=1, pool_timeout=0.1, read_timeout=5.0) as b:
        tg.fail_next("sendMessage", "timeout")
        hung = asyncio.create_task(b.send_message(1, "occupies the only connection"))
        await asyncio.sleep(0.05)
        t0 = time.monotonic()
        with pytest.raises(TimedOut, match="Pool timeout.*not\\* sent"):
            await b.send_message(1, "waits for the pool")
        assert time.monotonic() - t0 < 1
        hung.cancel()
        await asyncio.gather(hung, return_exceptions=True)
        await b.send_message(1, "the slot is free again")
    assert [s["visible_text"] for s in tg.sent()] == ["the slot is free again"]


async def test_connect_timeout_has_no_token():
    """aiohttp's ConnectionTimeoutError says "Connection timeout to host <URL>": the URL must go."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)  # never accepted: once the backlog is full, further handshakes hang
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(3):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        fillers.append(s)
    try:
        async with AiohttpRequest(connect_timeout=0.2) as request:
            with pytest.raises(TimedOut, match="Connect timeout") as info:
                await request.post(f"http://127.0.0.1:{port}/bot{TOKEN}/getMe")
            with pytest.raises(NetworkError) as invalid:  # aiohttp's message is the URL itself
                await request.post(f"http://127.0.0.1:99999/bot{TOKEN}/getMe")
    finally:
        for s in [*fillers, listener]:
            s.close()
    assert "InvalidUrlClientError" in invalid.value.message
    for exc in (info.value, invalid.value):
        assert "SECRET-token" not in full_text(exc)


async def test_connection_refused_has_no_token():
    async with FakeTelegramServer(token=TOKEN) as server:
        base_url = server.base_url
    request = AiohttpRequest(connect_timeout=1.0)
    async with request:
        with pytest.raises(NetworkError) as info:
            await request.post(f"{base_url}{TOKEN}/getMe")
    assert "aiohttp.ClientConnectorError" in info.value.message
    assert "SECRET-token" not in full_text(info.value)


def test_redact():
    url = f"https://api.telegram.org/bot{TOKEN}/sendMessage"
    message = f"Connection timeout to host {url} (token {TOKEN}; file https://x/file/bot{TOKEN}/a.jpg)"
    cleaned = redact(message, url)
    assert "SECRET" not in cleaned and "<url>" in cleaned and "/file/bot<token>/a.jpg" in cleaned


async def test_request_lifecycle_and_defaults(tg):
    request = AiohttpRequest(read_timeout=7.5)
    assert request.read_timeout == 7.5
    with pytest.raises(RuntimeError, match="not initialized"):
        await request.do_request(f"{tg.base_url}{TOKEN}/getMe", "POST")
    await request.initialize()
    await request.initialize()  # idempotent
    data = RequestData(
        [
            RequestParameter.from_input("chat_id", 5),
            RequestParameter.from_input("text", "Halo & <x>"),
            RequestParameter.from_input("disable_notification", True),
        ]
    )
    status, body = await request.do_request(f"{tg.base_url}{TOKEN}/sendMessage", "POST", request_data=data)
    assert status == 200 and json.loads(body)["result"]["text"] == "Halo & <x>"
    assert tg.requests[-1].params == {"chat_id": "5", "text": "Halo & <x>", "disable_notification": "true"}
    await request.shutdown()
    await request.shutdown()  # idempotent
    await request.initialize()  # usable again
    status, _ = await request.do_request(f"{tg.base_url}{TOKEN}/getMe", "POST")
    assert status == 200
    await request.shutdown()


# ---- the benchmark baseline ---------------------------------------------------------------------
async def test_stock_httpx_request_works_against_the_fake(tg):
    async with Bot(
        TOKEN,
        base_url=tg.base_url,
        base_file_url=tg.base_file_url,
        request=HTTPXRequest(),
        get_updates_request=HTTPXRequest(),
    ) as b:
        assert (await b.get_me()).username == "kanal_test_bot"
        poll = asyncio.create_task(b.get_updates(timeout=10))
        await asyncio.sleep(0.05)
        tg.push_message(31, "halo")
        (update,) = await asyncio.wait_for(poll, 2)
        await update.message.reply_text("<b>halo</b>", parse_mode="HTML", reply_markup=keyboard("x"))
        await b.send_photo(31, PNG)
        with pytest.raises(BadRequest, match="(?i)can't parse entities"):
            await b.send_message(31, "<b>", parse_mode="HTML")
    assert [s["method"] for s in tg.sent(chat_id=31)] == ["sendMessage", "sendPhoto"]
    assert tg.sent(chat_id=31)[0]["visible_text"] == "halo" and tg.sent(chat_id=31)[1]["media"]["data"] == PNG
