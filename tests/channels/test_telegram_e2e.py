"""End to end through PTB's real HTTP stack (our aiohttp request) against a fake Bot API server
that speaks Telegram's wire format and answers 429 with retry_after when rates are exceeded."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from sqlalchemy import func, select

from bot.app import KanalApp
from bot.channels.telegram.telegram_channel import render, split_text
from bot.domain.messages import Attachment, Choice, Reply
from bot.engine.dispatch import DatabaseUnavailable
from bot.settings import Settings
from storage.models import InboundMessage, OutboxMessage, User
from testkit.fakes.telegram_api import FakeTelegramServer

TOKEN = "123456:TEST-token-value-abc"


def buttons(message: dict) -> list[str]:
    markup = message.get("reply_markup") or {}
    if isinstance(markup, str):
        markup = json.loads(markup)
    return [b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row]


async def consented(tg, chat: int, **profile) -> list[dict]:
    """/start and "Saya setuju" for ``chat``; returns the three messages it got."""
    tg.push_message(chat, "/start", **profile)
    await tg.wait_for_sent(1, chat_id=chat)
    tg.push_callback(chat, "consent:yes", **profile)
    return await tg.wait_for_sent(3, chat_id=chat)


@pytest.fixture
async def tg():
    # Telegram's flood control has slack; one message of it here, so that network jitter between
    # our bucket (1/s, burst 3) and the server's clock is not mistaken for our pacing failing
    async with FakeTelegramServer(token=TOKEN, rate_limits=True, per_chat_burst=4) as server:
        yield server


@pytest.fixture
async def app(tg, settings):
    s = Settings(**{**settings.__dict__, "telegram_token": TOKEN, "telegram_base_url": tg.base_url})
    application = KanalApp(s)
    await application.start()
    yield application
    await application.stop()


async def test_start_consent_menu_language_english(tg, app):
    chat = 1001
    tg.push_message(chat, "/start", first_name="Budi", language_code="id")
    (consent,) = await tg.wait_for_sent(1, chat_id=chat)
    assert "UU No. 27/2022" in consent["visible_text"]
    assert "consent:yes" in buttons(consent)

    tg.push_callback(chat, "consent:yes", message_id=consent.get("message_id"))
    sent = await tg.wait_for_sent(3, chat_id=chat)
    assert sent[1]["visible_text"].startswith("Terima kasih")
    menu = sent[2]
    assert "Menu utama" in menu["visible_text"]
    assert {"/survei", "/lapor", "/status", "/forum", "/bahasa", "/bantuan"} <= set(buttons(menu))

    tg.push_message(chat, "/bahasa")
    sent = await tg.wait_for_sent(4, chat_id=chat)
    assert set(buttons(sent[3])) == {"lang:id", "lang:en"}
    tg.push_callback(chat, "lang:en")
    sent = await tg.wait_for_sent(5, chat_id=chat)
    assert sent[4]["visible_text"] == "Main menu\nLanguage changed to English."
    assert "Main menu" in sent[4]["visible_text"]

    tg.push_message(chat, "/help")
    sent = await tg.wait_for_sent(6, chat_id=chat)
    assert "Commands you can use" in sent[5]["visible_text"]
    # every button press was acknowledged (spinner stopped)
    assert sum(1 for method, _, _ in tg.requests if method.lower() == "answercallbackquery") == 2


async def test_same_update_delivered_twice_has_one_effect(tg, app):
    update = tg.push_message(2002, "/start")
    await tg.wait_for_sent(1, chat_id=2002)
    tg.push_update(update)  # Telegram re-sends it (e.g. after a timeout)
    tg.push_message(2002, "/bantuan")  # a marker that the duplicate has been consumed
    await tg.wait_for_sent(2, chat_id=2002)
    await asyncio.sleep(0.2)
    assert len(tg.sent(chat_id=2002)) == 2
    async with app.db.unit_of_work() as uow:
        n_inbound = (await uow.session.execute(select(func.count()).select_from(InboundMessage))).scalar_one()
        n_users = (await uow.session.execute(select(func.count()).select_from(User))).scalar_one()
    assert (n_inbound, n_users) == (2, 1)


async def test_user_content_is_escaped_for_html(tg, app):
    chat = 3003
    name = "<b>Budi & Co</b>"
    await consented(tg, chat, first_name=name)
    tg.push_message(chat, "/start", first_name=name)
    sent = await tg.wait_for_sent(4, chat_id=chat)
    # the fake rejects broken HTML with 400, so arriving at all proves the escaping
    assert "Halo <b>Budi & Co</b>!" in sent[3]["visible_text"]


async def test_unsupported_messages_get_a_hint(tg, app):
    chat = 4004
    await consented(tg, chat)
    tg.push_sticker(chat)
    sent = await tg.wait_for_sent(4, chat_id=chat)
    assert "(stiker)" in sent[3]["visible_text"] and "belum bisa kami baca" in sent[3]["visible_text"]
    tg.push_voice(chat)  # a voice note is read (issue 18): offered as a complaint
    sent = await tg.wait_for_sent(5, chat_id=chat)
    assert "Mau dijadikan pengaduan?" in sent[4]["visible_text"] and "pesan suara" in sent[4]["visible_text"]


async def test_burst_to_one_chat_is_paced_not_lost(tg, app):
    """Eight quick messages: the fake answers 429 above 1/s per chat; every reply still arrives."""
    chat = 5005
    tg.push_message(chat, "/start")
    await tg.wait_for_sent(1, chat_id=chat)
    for _ in range(6):
        tg.push_message(chat, "/bahasa id")
    sent = await tg.wait_for_sent(7, chat_id=chat, timeout=15)
    assert len(sent) == 7
    assert tg.rejected_429 == 0  # our own buckets kept under Telegram's limits
    await app.outbox.drain()
    async with app.db.unit_of_work() as uow:
        statuses = (await uow.session.execute(select(OutboxMessage.status))).scalars().all()
    assert statuses == ["sent"] * 7


async def test_429_retry_after_is_honoured(settings):
    """A platform stricter than our buckets: the 429's retry_after is waited out, nothing lost."""
    async with FakeTelegramServer(token=TOKEN, rate_limits=True, per_chat_per_second=0.5, per_chat_burst=1) as strict:
        s = Settings(**{**settings.__dict__, "telegram_token": TOKEN, "telegram_base_url": strict.base_url})
        application = KanalApp(s)
        await application.start()
        try:
            strict.push_message(9009, "/start")
            strict.push_message(9009, "/bahasa id")
            strict.push_message(9009, "/bantuan")
            sent = await strict.wait_for_sent(3, chat_id=9009, timeout=20)
            assert strict.rejected_429 >= 1
            assert "UU No. 27/2022" in sent[0]["visible_text"]  # order kept through the retries
            gaps = [b["time"] - a["time"] for a, b in zip(sent, sent[1:], strict=False)]
            assert min(gaps) >= 0.9  # retry_after (≥ 1 s) was waited out, not hammered
        finally:
            await application.stop()


async def test_blocked_user_is_recorded_not_retried(tg, app):
    chat = 6006
    tg.block_chat(chat)
    tg.push_message(chat, "/start")
    for _ in range(100):
        async with app.db.unit_of_work() as uow:
            row = (await uow.session.execute(select(OutboxMessage))).scalar_one_or_none()
        if row is not None and row.status == "failed":
            break
        await asyncio.sleep(0.05)
    assert row.status == "failed" and "blocked" in row.last_error
    attempts = sum(1 for m, p, _ in tg.requests if m.lower() == "sendmessage" and str(p.get("chat_id")) == str(chat))
    await asyncio.sleep(0.3)
    assert (
        sum(1 for m, p, _ in tg.requests if m.lower() == "sendmessage" and str(p.get("chat_id")) == str(chat))
        == attempts
        == 1
    )


async def test_token_never_logged(tg, app, caplog):
    caplog.set_level(logging.DEBUG)
    tg.fail_next("sendMessage", status="reset")
    tg.push_message(7007, "/start")
    await tg.wait_for_sent(1, chat_id=7007, timeout=10)
    assert TOKEN not in caplog.text


def test_render_splits_long_text_and_keeps_buttons_last():
    body = ("Paragraf panjang dengan <tanda> & simbol. " * 60 + "\n\n") * 5
    payloads = render(Reply(body, (Choice("OK", "ok"),), title="Judul"))
    assert len(payloads) >= 3
    assert all(len(p["text"]) <= 4096 + 200 for p in payloads)  # escaped entities add bytes, not characters
    assert all("<tanda>" not in p["text"] for p in payloads)
    assert "reply_markup" in payloads[-1] and all("reply_markup" not in p for p in payloads[:-1])
    assert all(len(part) <= 4096 for part in split_text(body))
    assert "".join(split_text(body)).replace(" ", "").replace("\n", "") == body.replace(" ", "").replace("\n", "")


def test_render_audio_by_file_id_with_the_text_as_caption():
    """A voice note goes out with sendVoice (OGG), an audio file with sendAudio, each by the
    citizen's file id, the reply's text as its caption (one message) and buttons on it; a text too
    long for a caption goes first, as its own message."""
    note = Attachment("pesan-suara.ogg", "audio/ogg", file_ref="AwACAgUAAxkBVoice")
    (p,) = render(Reply("Pesan suara <ADU-2026-00001>", (Choice("Lihat", "/lihat x"),), audio=note))
    assert (p["method"], p["field"], p["file_id"]) == ("sendVoice", "voice", "AwACAgUAAxkBVoice")
    assert p["caption"] == "Pesan suara &lt;ADU-2026-00001&gt;" and p["parse_mode"] == "HTML"
    assert p["reply_markup"] == {"inline_keyboard": [[{"text": "Lihat", "callback_data": "/lihat x"}]]}
    mp3 = Attachment("audio", "audio/mpeg", file_ref="CQACAgUAAxkBAudio")
    payloads = render(Reply("x" * 2000, audio=mp3))
    assert [q["method"] for q in payloads] == ["sendMessage", "sendAudio"] and "caption" not in payloads[1]
    assert payloads[1]["file_id"] == "CQACAgUAAxkBAudio"


def test_choice_values_over_64_bytes_are_refused():
    with pytest.raises(ValueError):
        Choice("x", "é" * 33)


class TestWebhook:
    SECRET = "hook-secret_123"

    @pytest.fixture
    async def hook_app(self, tg, settings):
        s = Settings(
            **{
                **settings.__dict__,
                "telegram_token": TOKEN,
                "telegram_base_url": tg.base_url,
                "telegram_webhook_url": "https://kanal.example.go.id/webhooks/telegram",
                "telegram_webhook_secret": self.SECRET,
            }
        )
        application = KanalApp(s)
        await application.start()
        yield application
        await application.stop()

    async def test_secret_checked_and_updates_processed_once(self, tg, hook_app):
        url = f"http://127.0.0.1:{hook_app.port}/webhooks/telegram"
        info = [p for m, p, _ in tg.requests if m.lower() == "setwebhook"]
        assert info and info[-1].get("secret_token") == self.SECRET
        update = {
            "update_id": 900,
            "message": {
                "message_id": 1,
                "date": 1700000000,
                "chat": {"id": 8008, "type": "private"},
                "from": {"id": 8008, "is_bot": False, "first_name": "Ani"},
                "text": "/start",
            },
        }
        assert await tg.deliver_webhook(url, update, secret_token="wrong") == 403
        assert await tg.deliver_webhook(url, update, secret_token=None) == 403
        assert await tg.deliver_webhook(url, update, secret_token=self.SECRET) == 200
        assert await tg.deliver_webhook(url, update, secret_token=self.SECRET) == 200  # redelivery
        await tg.wait_for_sent(1, chat_id=8008)
        await asyncio.sleep(0.2)
        assert len(tg.sent(chat_id=8008)) == 1


async def test_polled_update_is_retried_until_the_database_takes_it(tg, app):
    """Polling cannot give an update back to Telegram: while storing fails, the adapter retries."""
    real = app.dispatcher.handle
    failures = {"left": 2}

    async def flaky(inbound):
        if failures["left"]:
            failures["left"] -= 1
            raise DatabaseUnavailable("OperationalError")
        return await real(inbound)

    app.telegram._handle = flaky
    tg.push_message(9100, "/start")
    (sent,) = await tg.wait_for_sent(1, chat_id=9100, timeout=10)
    assert failures["left"] == 0 and "UU No. 27/2022" in sent["visible_text"]


async def test_polling_survives_an_update_it_cannot_read(tg, app):
    """An update of a shape Telegram never sends is skipped with a warning; the next one is answered."""
    tg.push_update(
        {
            "update_id": 9_000_001,
            "message": {"message_id": 5, "date": 0, "chat": {"id": 1, "type": "private"}, "from": []},
        }
    )
    tg.push_message(4242, "/start")
    out = await tg.wait_for_sent(1, 4242, timeout=10)
    assert "UU No. 27/2022" in out[-1]["visible_text"]
