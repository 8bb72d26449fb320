"""The SMS channel's own parts: GSM-7 and segments, rendering within two segments, numbers and
their hashed keys, the webhooks' checks, and the gateways' failures as the outbox sees them."""

from __future__ import annotations

import json
import time

import aiohttp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.channels.base import ChannelContext
from bot.channels.sms import sms_channel
from bot.channels.sms.sms_channel import SmsChannel, SmsConfig
from bot.channels.sms.sms_parse import (
    Fields,
    from_aggregator,
    from_android,
    is_start,
    is_stop,
    normalise_number,
    number_key,
)
from bot.channels.sms.sms_text import compose, is_gsm, render, segments, to_gsm
from bot.domain.clock import SystemClock
from bot.domain.i18n import Translator
from bot.domain.messages import SHORT, Choice, Reply, SendError, merge_replies
from bot.services.sms_cost import SmsMonth, cost_line
from tests.fakes.sms_gateway import FakeSmsGateway, sign

KEY = "unit-sms-signing-key"


# ---- GSM-7 and segments ----------------------------------------------------------------------------
def test_segments_count_as_phones_do():
    assert [segments("a" * n) for n in (1, 160, 161, 306, 307)] == [1, 1, 2, 2, 3]
    assert segments("{" * 80) == 1 and segments("{" * 81) == 2  # the extension table costs two
    assert segments("ř" * 70) == 1 and segments("ř" * 71) == 2 and segments("ř" * 134) == 2  # UCS-2: 70, 67
    assert segments("Sé à ñ") == 1 and is_gsm("é à ñ Ç")


def test_indonesian_text_is_written_in_gsm_7_where_it_can_be():
    assert to_gsm("✅ Laporan “terkirim” — cek… 👍🏽") == 'Laporan "terkirim" - cek...'
    assert to_gsm("Café Nusantara – jalan Sudirman") == "Café Nusantara - jalan Sudirman"
    assert to_gsm("Dinas 🏥 Kesehatan\u00a0Kota") == "Dinas Kesehatan Kota"
    assert to_gsm("مرحبا") == "مرحبا"  # another script stays (the SMS goes as UCS-2)


# ---- rendering -----------------------------------------------------------------------------------
def tr(msgid: str, **values) -> str:
    return Translator("id")(msgid, **values)


def test_choices_become_a_numbered_list_and_control_words_to_type():
    reply = Reply(
        "Bagaimana pendapat Anda tentang kecepatan waktu pelayanan?",
        (Choice("1 - Tidak cepat", "a:1"), Choice("Cepat", "a:2"), Choice("⬅️ Kembali", "b", "back")),
        title="Pertanyaan 3 dari 9",
    )
    (payload,) = render(reply)
    assert payload["text"] == (
        "Pertanyaan 3 dari 9\nBagaimana pendapat Anda tentang kecepatan waktu pelayanan?\n\n"
        "1 Tidak cepat\n2 Cepat\n\nBalas dengan angka 1-2. Atau ketik KEMBALI."
    )
    assert payload["segments"] == 1 and "_notify" not in payload
    (yes_no,) = render(Reply("Kirim laporan ini?", (Choice("✅ Ya", "y", "yes"), Choice("Tidak", "n", "no"))))
    assert yes_no["text"] == "Kirim laporan ini?\n\nKetik YA / TIDAK."
    (notice,) = render(Reply("Jawaban atas laporan Anda.", purpose="notification"))
    assert notice["_notify"] is True


def test_a_long_reply_is_shortened_and_its_short_text_used_when_it_still_does_not_fit():
    long = Reply("Kalimat panjang sekali. " * 20, (Choice("Lanjut", "x"),), extra={SHORT: "Versi singkat."})
    assert compose(long, tr).startswith("Versi singkat.")
    fits = Reply("Teks pendek.", extra={SHORT: "Singkat."})
    assert compose(fits, tr) == "Teks pendek."  # the own text when it fits


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(alphabet=st.characters(codec="latin-1", exclude_categories=("Cc",)), max_size=120),
    labels=st.lists(st.text(alphabet="abcdefghij klmnopqrstuvwxyz", min_size=1, max_size=60).filter(str.strip),
                    min_size=0, max_size=8, unique=True),
    title=st.one_of(st.none(), st.text(alphabet="ABCDEFGHIJ abc", max_size=40)),
)  # fmt: skip
def test_any_question_of_up_to_eight_choices_fits_two_segments(text, labels, title):
    reply = Reply(text, tuple(Choice(label, f"v:{i}") for i, label in enumerate(labels)), title=title)
    (payload,) = render(reply) or [{"text": "", "segments": 0}]
    assert payload["segments"] <= 2, payload["text"]
    assert all(f"{i} " in payload["text"] or f"{i}=" in payload["text"] for i in range(1, len(labels) + 1))


# ---- numbers, keys, keywords -------------------------------------------------------------------
def test_numbers_as_people_and_gateways_write_them():
    for raw in ("0857-1234-5678", "6285712345678", "+62 857 1234 5678", "(0857) 1234 5678", "0062857 1234 5678"):
        assert normalise_number(raw) == "+6285712345678", raw
    for raw in ("TELKOMSEL", "3636", "+622112345678", "", None, "08", "+62857123456789012"):
        assert normalise_number(raw) is None, raw


def test_the_key_is_stable_and_hides_the_number():
    a, b = number_key(b"k1", "+6285712345678"), number_key(b"k1", "+6285712345678")
    assert a == b and a != number_key(b"k2", "+6285712345678") and "857" not in a and len(a) == 33


def test_stop_and_mulai_are_whole_messages():
    assert all(is_stop(x) for x in ("STOP", "stop.", "Berhenti", " UNREG ", "stop sms"))
    assert not any(is_stop(x) for x in ("stop dulu ya pak", "jangan berhenti", "", None))
    assert is_start("MULAI") and not is_start("mulai survei")


def test_gateway_payloads_in_the_canonical_form():
    got = from_android({"event": "sms:received", "id": "ev1", "payload": {"phoneNumber": "+628571", "message": "hi"}})
    assert got["messages"] == [{"from": "+628571", "text": "hi", "id": "a:ev1", "at": None}]
    failed = from_android({"event": "sms:failed", "id": "ev2",
                           "payload": {"messageId": "kanal-1-x", "reason": "RESULT_ERROR_NO_SERVICE"}})  # fmt: skip
    assert failed["statuses"] == [
        {"id": "kanal-1-x", "status": "failed", "error": "RESULT_ERROR_NO_SERVICE: the gateway phone had no signal"}
    ]
    assert from_android({"event": "sms:received", "payload": "x"}) == {"messages": [], "statuses": []}
    fields = Fields.parse("sender=from,text=body")
    once = from_aggregator(fields, {"from": "62857", "body": "halo", "time": "t"}, report=False)
    again = from_aggregator(fields, {"from": "62857", "body": "halo", "time": "t"}, report=False)
    assert once == again and once["messages"][0]["id"].startswith("g:")  # no id given: the same message, the same id
    assert from_aggregator(fields, {"message_id": "9", "status": "DELIVRD"}, report=True)["statuses"][0]["status"] == (
        "delivered"
    )
    assert from_aggregator(fields, {"message_id": "9", "status": "?"}, report=True)["statuses"] == []
    assert (
        from_aggregator(fields, {"message_id": "9", "status": "FAILED"}, report=True)["statuses"][0]["status"]
        == "failed"
    )


def test_the_cost_line_in_the_readers_language():
    month = SmsMonth("2026-12-01", 1204, 1877, 350.0)
    assert cost_line(Translator("id"), month) == (
        "📱 SMS sejak 1 Des 2026: 1.204 pesan, 1.877 segmen, perkiraan biaya Rp 656.950."
    )
    assert "1,877 segments, estimated cost Rp 656,950" in cost_line(Translator("en"), month)


# ---- the webhook's checks --------------------------------------------------------------------------
class Ports:
    """The channel's database ports in memory; ``broken`` makes storing fail (a database down)."""

    def __init__(self) -> None:
        self.inbox: list[bytes] = []
        self.numbers: dict[str, str] = {}
        self.broken = False

    async def kept_secret(self, name, make):
        return "unit-secret"

    async def store_webhook(self, body: bytes) -> int:
        if self.broken:
            raise ConnectionError("database down")
        self.inbox.append(body)
        return len(self.inbox)

    async def stored_webhooks(self, after_id, limit):
        return []

    async def forget_webhook(self, inbox_id):
        return None

    async def sms_remember(self, key, number):
        self.numbers[key] = number

    async def sms_target(self, key):
        return sms_channel.Target(self.numbers[key], False, False) if key in self.numbers else None

    async def sms_before_send(self, key, day):
        return await self.sms_target(key), 0, False

    async def sms_count(self, key, day, segments, capped):
        return None

    async def sms_forget(self, key):
        return None

    async def record_status(self, *args):
        return True


async def served(channel: SmsChannel):
    from aiohttp import web

    app = web.Application()
    app.add_routes(channel.routes())
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"


@pytest.fixture
async def android():
    handled = []

    async def handle(inbound):
        handled.append(inbound)

    ports = Ports()
    config = SmsConfig(transport="android", webhook_secret=KEY, gateway_url="http://127.0.0.1:9", gateway_password="p")
    channel = sms_channel.build(config, ChannelContext(handle=handle, clock=SystemClock(), ports=ports))
    await channel.start()
    runner, url = await served(channel)
    yield channel, ports, handled, url
    await channel.stop()
    await runner.cleanup()


def event(text: str = "Halo", sender: str = "+6285712345678", event_id: str = "e1") -> bytes:
    body = {"deviceId": "d", "event": "sms:received", "id": event_id, "webhookId": "w",
            "payload": {"messageId": "m", "message": text, "phoneNumber": sender, "simNumber": 1,
                        "receivedAt": "2026-12-05T10:00:00.000+07:00"}}  # fmt: skip
    return json.dumps(body).encode()


async def test_android_webhooks_are_signed_fresh_and_stored_before_the_200(android):
    channel, ports, handled, url = android
    body = event()
    now = str(int(time.time()))
    async with aiohttp.ClientSession() as http:

        async def post(headers: dict, data: bytes = body) -> int:
            async with http.post(url + "/webhooks/sms", data=data, headers=headers) as resp:
                return resp.status

        assert await post({}) == 401
        assert await post({"X-Timestamp": now, "X-Signature": sign("wrong-key", body, now)}) == 403
        old = str(int(time.time()) - 3600)
        assert await post({"X-Timestamp": old, "X-Signature": sign(KEY, body, old)}) == 403  # a replay
        assert await post({"X-Timestamp": now, "X-Signature": sign(KEY, b"{", now)}, b"{") == 400
        big = b"x" * (70 * 1024)
        assert await post({"X-Timestamp": now, "X-Signature": sign(KEY, big, now)}, big) == 413
        assert ports.inbox == [] and handled == []
        ports.broken = True
        assert await post({"X-Timestamp": now, "X-Signature": sign(KEY, body, now)}) == 500  # not stored: not acked
        ports.broken = False
        assert await post({"X-Timestamp": now, "X-Signature": sign(KEY, body, now)}) == 200
        await channel.idle()
    assert len(ports.inbox) == 1 and b"+6285712345678" in ports.inbox[0]
    (inbound,) = handled
    assert inbound.user_key == number_key(b"unit-secret", "+6285712345678") and inbound.text == "Halo"
    assert inbound.external_id == "a:e1"


async def test_the_aggregator_webhook_wants_its_token(settings):
    handled = []

    async def handle(inbound):
        handled.append(inbound)

    config = SmsConfig(transport="aggregator", webhook_secret="agg-token-1", send_url="http://x/{to}{text}")
    channel = sms_channel.build(config, ChannelContext(handle=handle, clock=SystemClock(), ports=Ports()))
    await channel.start()
    runner, url = await served(channel)
    try:
        async with aiohttp.ClientSession() as http:
            form = {"msisdn": "6285712345678", "message": "Halo", "id": "77"}
            async with http.post(url + "/webhooks/sms?token=nope", data=form) as resp:
                assert resp.status == 403
            async with http.post(url + "/webhooks/sms", data=form, headers={"X-Kanal-Token": "agg-token-1"}) as resp:
                assert resp.status == 200
            await channel.idle()
    finally:
        await channel.stop()
        await runner.cleanup()
    assert [i.external_id for i in handled] == ["g:77"]


# ---- the gateway's failures, as the outbox sees them ----------------------------------------------
async def test_gateway_failures_are_retryable_or_final():
    async with FakeSmsGateway(password="pw-12345678") as gw:
        transport = sms_channel.AndroidGateway(gw.base_url, "sms", "pw-12345678")
        async with aiohttp.ClientSession() as http:
            gw.fail_next(503, retry_after=7)
            with pytest.raises(SendError) as err:
                await transport.send(http, "+6285712345678", "Halo", 1)
            assert err.value.retryable and err.value.retry_after == 7
            gw.fail_next(429)
            with pytest.raises(SendError) as err:
                await transport.send(http, "+6285712345678", "Halo", 1)
            assert err.value.retryable and err.value.retry_after
            mid = await transport.send(http, "+6285712345678", "Halo", 1)
            assert [m.id for m in gw.sent] == [mid] and mid.startswith("kanal-1-")
            gw.fail_next("reset")
            with pytest.raises(aiohttp.ClientError):  # the channel makes it a retryable SendError
                await transport.send(http, "+6285712345678", "Lagi", 2)
            wrong = sms_channel.AndroidGateway(gw.base_url, "sms", "wrong-password")
            with pytest.raises(SendError) as err:
                await wrong.send(http, "+6285712345678", "Halo", 3)
            assert not err.value.retryable and "401" in str(err.value)
    assert len(gw.sent) == 1  # every retry of row 1 used the same id: sent once


async def test_an_aggregator_answer_without_an_id_fails_for_good():
    async with FakeSmsGateway(mode="aggregator", password="pw-12345678") as gw:
        url = gw.base_url + "/api/send?user=sms&pass=pw-12345678&to={to}&text={text}"
        async with aiohttp.ClientSession() as http:
            ok = sms_channel.Aggregator(url, "POST", "message_id")
            assert await ok.send(http, "+6285712345678", "Halo & selamat pagi", 1) == gw.sent[0].id
            assert gw.sent[0].text == "Halo & selamat pagi" and gw.sent[0].to.lstrip("+") == "6285712345678"
            missing = sms_channel.Aggregator(url, "GET", "data.id")
            with pytest.raises(SendError) as err:
                await missing.send(http, "+6285712345678", "Halo", 2)
            assert not err.value.retryable and "data.id" in str(err.value)
            assert "pw-12345678" not in repr(missing)  # the credentials never show


def test_a_turns_replies_merge_into_as_few_messages_as_they_can():
    thanks = Reply("Terima kasih. Persetujuan Anda kami catat.")
    menu = Reply("Silakan pilih layanan:", (Choice("Survei", "/survei"),), title="Menu utama")
    note = Reply("Untuk petugas.", to_user_id=7, purpose="notification")
    merged = merge_replies([thanks, menu, note, Reply("Satu."), Reply("Dua.", extra={SHORT: "2"})])
    assert [r.text for r in merged] == [
        "Terima kasih. Persetujuan Anda kami catat.\n\nMenu utama\nSilakan pilih layanan:",
        "Untuk petugas.",
        "Satu.\n\nDua.",
    ]
    assert merged[0].choices == menu.choices and merged[0].title is None
    assert merged[2].extra[SHORT] == "Satu.\n2"
