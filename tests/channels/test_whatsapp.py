"""WhatsApp Cloud API channel: through the real webhook endpoint of KanalApp (signed like Meta
signs) and a fake Graph API server that checks Meta's limits (tests/fakes/whatsapp_api.py)."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select, update

from bot.app import KanalApp
from bot.channels.whatsapp.whatsapp_parse import numbered_choice, parse_webhook
from bot.channels.whatsapp.whatsapp_render import MAX_BODY, choice_style, flatten, render, split_text, wlen
from bot.domain.messages import Attachment, Choice, Kind, Reply, SendError
from bot.settings import Settings, SettingsError
from storage import Repo
from storage.models import InboundMessage, OutboxMessage, User, WebhookInbox
from testkit.fakes.whatsapp_api import FakeWhatsAppServer, sign

DATA = Path(__file__).parents[1] / "data" / "whatsapp"
TOKEN = "EAAKanalTestTokenZX81pQ3vTq0wYb5"
APP_SECRET = "f3a9c1e07b2d4e6a8c0b1d2e3f405162"
VERIFY_TOKEN = "kanal-verify-7Gh2Lq"
PNID = "106540352242922"  # the phone number id in the recorded payloads
WA = "6281234567890"  # the person in the recorded payloads


def load(name: str) -> dict:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def wa_settings(settings: Settings, base_url: str, **extra) -> Settings:
    values = {
        **settings.__dict__,
        "whatsapp_token": TOKEN,
        "whatsapp_phone_number_id": PNID,
        "whatsapp_app_secret": APP_SECRET,
        "whatsapp_verify_token": VERIFY_TOKEN,
        "whatsapp_api_base_url": base_url,
        "whatsapp_template_notice": "kanal_notice",
    }
    values.update(extra)
    return Settings(**values)


@pytest.fixture
async def wa():
    async with FakeWhatsAppServer(token=TOKEN, phone_number_id=PNID, app_secret=APP_SECRET) as server:
        yield server


@pytest.fixture
async def app(wa, settings):
    application = KanalApp(wa_settings(settings, wa.base_url))
    await application.start()
    wa.webhook_url = f"http://127.0.0.1:{application.port}/webhooks/whatsapp"
    yield application
    await application.stop()


def spy(app: KanalApp) -> list:
    """Record every Inbound the channel hands to the dispatcher."""
    seen: list = []
    real = app.whatsapp._handle

    async def recording(inbound):
        seen.append(inbound)
        return await real(inbound)

    app.whatsapp._handle = recording
    return seen


async def eventually(check, timeout: float = 5.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = await check()
        if result or loop.time() > deadline:
            return result
        await asyncio.sleep(0.05)


async def rows(app: KanalApp, model) -> list:
    async with app.db.unit_of_work() as uow:
        return list((await uow.session.execute(select(model).order_by(model.id))).scalars().all())


async def count(app: KanalApp, model) -> int:
    async with app.db.unit_of_work() as uow:
        return (await uow.session.execute(select(func.count()).select_from(model))).scalar_one()


async def consented(wa: FakeWhatsAppServer, who: str) -> list[dict]:
    await wa.push_text(who, "/start", name="Ani")
    await wa.wait_for_sent(1, to=who)
    await wa.push_choice(who, "consent:yes")
    return await wa.wait_for_sent(3, to=who)


# ---- recorded payloads through the real endpoint -----------------------------------------
MESSAGE_CASES = [
    ("text.json", {"kind": Kind.TEXT, "text": "Halo, saya mau melapor jalan rusak"}),
    ("button_reply.json", {"kind": Kind.CHOICE, "choice": "consent:yes"}),
    ("list_reply.json", {"kind": Kind.CHOICE, "choice": "/bantuan", "answer": "Perintah yang bisa Anda pakai"}),
    ("location.json", {"kind": Kind.LOCATION, "location": (-6.914744, 107.60981, "Jl. Merdeka No. 1, Sukamaju")}),
    ("image.json", {"kind": Kind.PHOTO, "photo": ("1479537139650973", "Lubang di depan SD Negeri 3", "image/jpeg")}),
    ("contacts.json", {"kind": Kind.CONTACT, "contact": ("6281298765432", "Budi Santoso")}),
    ("sticker.json", {"kind": Kind.UNSUPPORTED, "unsupported_type": "sticker"}),
    ("voice.json", {"kind": Kind.VOICE, "voice": ("1357924680135792", "audio/ogg; codecs=opus", None)}),
    ("audio.json", {"kind": Kind.VOICE, "voice": ("2468013579246801", "audio/mpeg", None)}),
    ("unsupported.json", {"kind": Kind.UNSUPPORTED, "unsupported_type": "edit"}),
    ("group_text.json", {"kind": Kind.UNSUPPORTED, "unsupported_type": "group"}),
    ("system.json", {"kind": Kind.UNSUPPORTED, "unsupported_type": "system"}),
]


@pytest.mark.parametrize("name,expected", MESSAGE_CASES, ids=[c[0].removesuffix(".json") for c in MESSAGE_CASES])
async def test_recorded_message_through_the_webhook(wa, app, name, expected):
    seen = spy(app)
    payload = load(name)
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    assert await wa.deliver(payload) == 200
    sent = await wa.wait_for_sent(1, to=WA)  # every person gets an answer (mostly the consent notice)
    (inbound,) = seen
    assert (inbound.channel, inbound.user_key, inbound.external_id) == ("whatsapp", WA, message["id"])
    assert inbound.display_name == "Siti Aminah" and inbound.received_at is not None
    assert inbound.kind is expected["kind"]
    if "text" in expected:
        assert inbound.text == expected["text"]
    if "choice" in expected:
        assert inbound.choice == expected["choice"]
    if "location" in expected:
        assert (inbound.location.latitude, inbound.location.longitude, inbound.location.address) == expected["location"]
    if "photo" in expected:
        assert (inbound.photo.file_ref, inbound.photo.caption, inbound.photo.mime_type) == expected["photo"]
    if "voice" in expected:
        assert (inbound.voice.file_ref, inbound.voice.mime_type, inbound.voice.duration) == expected["voice"]
    if "contact" in expected:
        assert (inbound.contact.phone, inbound.contact.name) == expected["contact"]
    if "unsupported_type" in expected:
        assert inbound.unsupported_type == expected["unsupported_type"]
    stored = await rows(app, InboundMessage)
    assert [(r.channel, r.external_id) for r in stored] == [("whatsapp", message["id"])]
    (user,) = await rows(app, User)
    # no consent yet: the chat id is kept for the conversation, the name only once they agree
    assert (user.channel, user.external_id, user.display_name) == ("whatsapp", WA, None)
    assert expected.get("answer", "UU No. 27/2022") in sent[0]["text"]


async def test_unsupported_message_gets_the_friendly_hint(wa, app):
    await consented(wa, WA)
    assert await wa.deliver(load("sticker.json")) == 200
    sent = await wa.wait_for_sent(4, to=WA)
    assert "(stiker)" in sent[3]["text"] and "belum bisa kami baca" in sent[3]["text"]


async def test_reaction_is_not_a_message(wa, app):
    seen = spy(app)
    assert await wa.deliver(load("reaction.json")) == 200
    await wa.push_text("6280000000001", "/start")  # a marker that the webhook before it was handled
    await wa.wait_for_sent(1, to="6280000000001")
    assert [i.user_key for i in seen] == ["6280000000001"] and wa.sent(to=WA) == []


STATUS_CASES = [
    (["status_sent.json"], "sent", None),
    (["status_sent.json", "status_delivered.json"], "delivered", None),
    (["status_read.json", "status_delivered.json", "status_sent.json"], "read", None),  # out of order: never backwards
    (["status_sent.json", "status_failed.json"], "failed", "re-engagement required"),
]


@pytest.mark.parametrize("files,status,error", STATUS_CASES, ids=["sent", "delivered", "read-first", "failed"])
async def test_recorded_statuses_are_recorded_on_the_outbox_row(wa, app, files, status, error):
    wamid = load("status_sent.json")["entry"][0]["changes"][0]["value"]["statuses"][0]["id"]
    async with app.db.unit_of_work() as uow:
        repo = Repo(uow.session)
        repo.enqueue(
            channel="whatsapp", address=WA, payload={"type": "text", "text": {"body": "x"}}, now=app.clock.now()
        )
        (claimed,) = await repo.claim_due(app.clock.now(), limit=1, lease=timedelta(minutes=5))
        await repo.mark_sent(claimed.id, app.clock.now(), wamid)
        await uow.commit()
    for name in files:
        assert await wa.deliver(load(name)) == 200
        await app.whatsapp.idle()  # one report after the other, as Meta sends them

    async def done():
        (r,) = await rows(app, OutboxMessage)
        return r if r.delivery_status == status else None

    row = await eventually(done)
    assert row is not None, "status not recorded"
    assert row.status == "sent" and row.delivery_status_at is not None
    if error:
        assert error in row.last_error and "131047" in row.last_error
    else:
        assert row.last_error is None


async def test_status_for_a_message_sent_through_the_fake_lands_on_its_row(settings):
    async with FakeWhatsAppServer(token=TOKEN, phone_number_id=PNID, app_secret=APP_SECRET, auto_status=True) as wa:
        application = KanalApp(wa_settings(settings, wa.base_url))
        await application.start()
        try:
            wa.webhook_url = f"http://127.0.0.1:{application.port}/webhooks/whatsapp"
            await wa.push_text(WA, "/start")
            (sent,) = await wa.wait_for_sent(1, to=WA)

            async def delivered():
                (r,) = await rows(application, OutboxMessage)
                return r if r.delivery_status == "delivered" else None

            row = await eventually(delivered)
            assert row is not None and row.platform_message_id == sent["id"]
        finally:
            await application.stop()


# ---- signatures, sizes, verification ---------------------------------------------------
async def test_forged_or_missing_signature_is_refused_and_nothing_stored(wa, app):
    payload = load("text.json")
    body = json.dumps(payload).encode()
    assert await wa.deliver(body, signature=None) == 401
    assert await wa.deliver(body, signature="sha256=" + "0" * 64) == 403
    assert await wa.deliver(body, signature=sign("another-app-secret", body)) == 403
    assert (
        await wa.deliver(body.replace(b"rusak", b"bagus"), signature=sign(APP_SECRET, body)) == 403
    )  # body changed after signing
    assert await wa.deliver(body, signature=sign(APP_SECRET, body).replace("sha256=", "sha1=")) == 403
    await app.whatsapp.idle()
    await app.outbox.drain()
    assert (await count(app, User), await count(app, InboundMessage), await count(app, OutboxMessage)) == (0, 0, 0)
    assert wa.sent() == []
    assert await wa.deliver(body, signature=sign(APP_SECRET, body)) == 200  # the genuine one is taken
    await wa.wait_for_sent(1, to=WA)


async def test_junk_and_oversized_bodies(wa, app):
    junk = b"{not json"
    assert await wa.deliver(junk, signature=sign(APP_SECRET, junk)) == 400
    big = b'{"object": "whatsapp_business_account", "pad": "' + b"x" * 600_000 + b'"}'
    assert await wa.deliver(big, signature=sign(APP_SECRET, big)) == 413
    other = json.dumps({"object": "page", "entry": []}).encode()
    assert await wa.deliver(other, signature=sign(APP_SECRET, other)) == 200  # not ours: acknowledged, ignored
    await app.whatsapp.idle()
    assert await count(app, InboundMessage) == 0


async def test_payload_for_another_business_number_is_ignored(wa, app):
    payload = load("text.json")
    payload["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "999999999999999"
    assert await wa.deliver(payload) == 200
    await app.whatsapp.idle()
    await app.outbox.drain()
    assert await count(app, InboundMessage) == 0 and wa.sent() == []


async def test_verification_handshake(app):
    url = f"http://127.0.0.1:{app.port}/webhooks/whatsapp"
    async with aiohttp.ClientSession() as http:
        ok = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}
        async with http.get(url, params=ok) as resp:
            assert (resp.status, await resp.text()) == (200, "1158201444")
        for bad in ({**ok, "hub.verify_token": "wrong"}, {**ok, "hub.mode": "unsubscribe"}, {"hub.challenge": "1"}):
            async with http.get(url, params=bad) as resp:
                assert resp.status == 403 and "1158201444" not in await resp.text()


async def test_same_webhook_delivered_twice_has_one_effect(wa, app):
    payload = load("text.json")
    assert await wa.deliver(payload) == 200
    assert await wa.deliver(payload) == 200  # Meta retries, e.g. after a slow answer
    await wa.push_text(WA, "/bantuan")  # a marker: handled after both copies (one chain per person)
    sent = await wa.wait_for_sent(2, to=WA)
    await app.whatsapp.idle()
    await app.outbox.drain()
    assert len(wa.sent(to=WA)) == 2 and "UU No. 27/2022" in sent[0]["text"]
    assert await count(app, InboundMessage) == 2 and await count(app, User) == 1


# ---- conversation ----------------------------------------------------------------------
async def test_start_consent_menu_with_buttons_and_lists(wa, app):
    await wa.push_text(WA, "/start", name="Budi")
    (consent,) = await wa.wait_for_sent(1, to=WA)
    assert consent["type"] == "interactive" and consent["body"]["interactive"]["type"] == "button"
    assert consent["choices"] == ["consent:yes", "consent:no", "consent:more"]
    assert consent["body"]["interactive"]["header"]["text"] == "Selamat datang di Kanal Partisipasi"

    await wa.push_choice(WA, "consent:yes")
    sent = await wa.wait_for_sent(3, to=WA)
    thanks, menu = sent[1], sent[2]
    assert thanks["type"] == "text" and thanks["text"].startswith("Terima kasih")
    assert menu["type"] == "interactive" and menu["body"]["interactive"]["type"] == "list"
    assert {"/survei", "/lapor", "/status", "/forum", "/bahasa", "/bantuan"} <= set(menu["choices"])
    assert menu["body"]["interactive"]["action"]["button"] == "Pilih"

    await wa.push_choice(WA, "/bantuan")
    sent = await wa.wait_for_sent(4, to=WA)
    assert "Perintah yang bisa Anda pakai" in sent[3]["text"]
    (user,) = await rows(app, User)
    assert user.consent_at is not None and user.display_name == "Budi"


async def test_numbered_menu_answered_with_a_number(wa, app):
    await consented(wa, WA)
    (user,) = await rows(app, User)
    choices = [Choice(f"Pilihan nomor {i}", f"/bahasa {'en' if i == 2 else 'id'}") for i in range(1, 13)]
    async with app.db.unit_of_work() as uow:
        app.dispatcher.enqueue_reply(
            Repo(uow.session),
            channel="whatsapp",
            address=WA,
            user_id=user.id,
            reply=Reply("Pilih salah satu:", tuple(choices)),
            now=app.clock.now(),
        )
        await uow.commit()
    app.outbox.wake()
    sent = await wa.wait_for_sent(4, to=WA)
    assert sent[3]["type"] == "text" and "12. Pilihan nomor 12" in sent[3]["text"] and "1–12" in sent[3]["text"]
    await app.outbox.drain()
    seen = spy(app)
    await wa.push_text(WA, "2")  # the 2nd choice: /bahasa en
    sent = await wa.wait_for_sent(5, to=WA)
    assert seen[0].kind is Kind.CHOICE and seen[0].choice == "/bahasa en"
    assert "Language changed to English" in sent[4]["text"]
    menu = sent[4]
    assert menu["type"] == "interactive" and menu["body"]["interactive"]["type"] == "list"
    await app.outbox.drain()
    await wa.push_text(WA, "2")  # a list: the 2nd row
    sent = await wa.wait_for_sent(6, to=WA)
    assert seen[1].kind is Kind.CHOICE and seen[1].choice == menu["choices"][1]
    assert "File a complaint" in sent[5]["text"]  # the 2nd row was "/lapor"
    await app.outbox.drain()
    await wa.push_text(WA, "2")  # the newest message has no menu: plain text (a too short complaint)
    sent = await wa.wait_for_sent(7, to=WA)
    assert seen[2].kind is Kind.TEXT and seen[2].text == "2" and "3 words" in sent[6]["text"]
    await app.outbox.drain()
    await wa.push_text(WA, "The street lamp in front of the mosque has been broken for two weeks.")
    sent = await wa.wait_for_sent(8, to=WA)
    assert sent[7]["body"]["interactive"]["type"] == "button" and "/batal" in sent[7]["choices"]
    await app.outbox.drain()
    await wa.push_text(WA, "2")  # reply buttons are not numbered: plain text, not the 2nd button (/batal)
    sent = await wa.wait_for_sent(9, to=WA)
    assert seen[4].kind is Kind.TEXT and seen[4].text == "2" and "lapor:next" in sent[8]["choices"]


async def test_image_is_uploaded_then_sent_by_media_id(wa, app):
    await consented(wa, WA)
    (user,) = await rows(app, User)
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
    async with app.db.unit_of_work() as uow:
        app.dispatcher.enqueue_reply(
            Repo(uow.session),
            channel="whatsapp",
            address=WA,
            user_id=user.id,
            reply=Reply("Kode QR survei", image=Attachment("qr.png", "image/png", data=png)),
            now=app.clock.now(),
        )
        await uow.commit()
    app.outbox.wake()
    sent = await wa.wait_for_sent(4, to=WA)
    image = sent[3]
    assert image["type"] == "image" and image["text"] == "Kode QR survei"
    assert image["media"].data == png and image["media"].mime_type == "image/png"
    assert [r.endpoint for r in wa.requests].count("media") == 1


# ---- the 24-hour window --------------------------------------------------------------------
async def notify(app: KanalApp, user_id: int, reply: Reply) -> None:
    async with app.db.unit_of_work() as uow:
        app.dispatcher.enqueue_reply(
            Repo(uow.session),
            channel="whatsapp",
            address=WA,
            user_id=user_id,
            reply=Reply(**{**{f: getattr(reply, f) for f in reply.__dataclass_fields__}, "purpose": "notification"}),
            now=app.clock.now(),
        )
        await uow.commit()
    app.outbox.wake()


async def age_last_message(app: KanalApp, hours: float) -> int:
    async with app.db.unit_of_work() as uow:
        await uow.session.execute(
            update(User).where(User.external_id == WA).values(last_inbound_at=app.clock.now() - timedelta(hours=hours))
        )
        user = (await uow.session.execute(select(User).where(User.external_id == WA))).scalar_one()
        await uow.commit()
        return user.id


async def test_notification_inside_the_window_is_free_form(wa, app):
    await consented(wa, WA)
    uid = await age_last_message(app, 23)
    await notify(app, uid, Reply("Laporan Anda sudah dijawab.", (Choice("Lihat", "/status"),)))
    sent = await wa.wait_for_sent(4, to=WA)
    assert sent[3]["type"] == "interactive" and sent[3]["template"] is None


async def test_notification_outside_the_window_goes_out_as_a_template(wa, app):
    await consented(wa, WA)
    uid = await age_last_message(app, 25)
    png = b"\x89PNG\r\n\x1a\n" + b"\x01" * 20
    await notify(
        app,
        uid,
        Reply(
            "Laporan LPR-2026-0001 sudah dijawab:\n\nJalan sudah\tditambal.",
            (Choice("Lihat", "/status"),),
            title="Kabar laporan",
            image=Attachment("foto.png", "image/png", data=png),
        ),
    )
    sent = await wa.wait_for_sent(4, to=WA)
    await app.outbox.drain()
    template = sent[3]
    assert template["type"] == "template" and template["template"] == "kanal_notice"
    assert template["body"]["template"]["language"] == {"code": "id"}
    assert template["params"] == ["Kabar laporan: Laporan LPR-2026-0001 sudah dijawab: · Jalan sudah ditambal."]
    assert len(wa.sent(to=WA)) == 4  # the other parts of that notification are not sent free-form
    rows_ = [r for r in await rows(app, OutboxMessage) if r.purpose == "notification"]
    assert [r.status for r in rows_] == ["sent", "failed"]  # the first part went as the template, the rest not at all
    assert "template message stands for this part" in rows_[1].last_error


async def test_outside_the_window_without_a_template_fails_clearly(wa, settings):
    application = KanalApp(wa_settings(settings, wa.base_url, whatsapp_template_notice=None))
    await application.start()
    try:
        wa.webhook_url = f"http://127.0.0.1:{application.port}/webhooks/whatsapp"
        await consented(wa, WA)
        uid = await age_last_message(application, 30)
        await notify(application, uid, Reply("Pengingat forum besok."))
        await application.outbox.drain()
        (row,) = [r for r in await rows(application, OutboxMessage) if r.purpose == "notification"]
        assert (
            row.status == "failed"
            and "KANAL_WHATSAPP_TEMPLATE_NOTICE" in row.last_error
            and "re-engagement" in row.last_error
        )
        assert len(wa.sent(to=WA)) == 3
    finally:
        await application.stop()


async def test_131047_from_meta_is_recorded_as_re_engagement_required(wa, app):
    await consented(wa, WA)
    wa.expire_window(WA)  # Meta thinks otherwise than our clock: it accepts, then reports failure
    uid = await age_last_message(app, 1)
    await notify(app, uid, Reply("Kabar terbaru."))
    await wa.wait_for_sent(4, to=WA)

    async def failed():
        rs = [r for r in await rows(app, OutboxMessage) if r.purpose == "notification"]
        return rs[0] if rs and rs[0].delivery_status == "failed" else None

    row = await eventually(failed)
    assert row is not None and "re-engagement required" in row.last_error and "131047" in row.last_error

    wa.window = "error"  # the synchronous variant: a permanent failure, not retried
    await notify(app, uid, Reply("Kabar lain."))
    await app.outbox.drain()
    row = [r for r in await rows(app, OutboxMessage) if r.purpose == "notification"][-1]
    assert row.status == "failed" and "re-engagement required" in row.last_error and row.attempts == 1


# ---- errors and rate limits ---------------------------------------------------------------
async def test_429_is_retried_and_delivered_once(wa, app):
    wa.fail_next("messages", 429, code=130429, retry_after=1)
    await wa.push_text(WA, "/start")
    (consent,) = await wa.wait_for_sent(1, to=WA, timeout=10)
    await app.outbox.drain()
    assert len(wa.rejected(130429)) == 1 and len(wa.sent(to=WA)) == 1
    (row,) = await rows(app, OutboxMessage)
    assert row.status == "sent" and row.platform_message_id == consent["id"]
    attempts = [r for r in wa.requests if r.endpoint == "messages"]
    assert len(attempts) == 2 and attempts[1].time - attempts[0].time >= 0.9  # retry_after waited out


@pytest.mark.parametrize(
    "status,code,retryable",
    [
        (400, 131056, True),
        (400, 80007, True),
        (400, 4, True),
        (503, 131000, True),
        ("reset", None, True),
        (400, 131026, False),
        (400, 100, False),
        (401, 190, False),
    ],
)
async def test_graph_errors_map_to_retryable_or_permanent(wa, app, status, code, retryable):
    wa.fail_next("messages", status, code=code, retry_after=None)
    with pytest.raises(SendError) as err:
        await app.whatsapp.send(WA, {"type": "text", "text": {"body": "halo"}})
    assert err.value.retryable is retryable
    if code in (131056, 80007, 4):
        assert err.value.retry_after is not None and err.value.retry_after >= 1
    if code == 131026:
        assert "undeliverable" in str(err.value)
    if code == 190:
        assert "KANAL_WHATSAPP_TOKEN" in str(err.value)


async def test_secrets_never_logged(wa, app, caplog):
    caplog.set_level(logging.DEBUG)
    wa.fail_next("messages", "reset")
    await wa.push_text(WA, "/start")  # reset, then retried and delivered
    await wa.wait_for_sent(1, to=WA, timeout=10)
    await app.outbox.drain()
    wa.fail_next("messages", 401, code=190)  # one after the other: which send meets which fault is fixed
    await wa.push_text("6280000000002", "/start")  # token refused: failed for good
    await app.whatsapp.idle()
    junk = b"[]"
    await wa.deliver(junk, signature="sha256=00")
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            f"http://127.0.0.1:{app.port}/webhooks/whatsapp",
            params={"hub.mode": "subscribe", "hub.verify_token": "x", "hub.challenge": "1"},
        ),
    ):
        pass
    await app.outbox.drain()
    assert "whatsapp" in caplog.text.lower()  # the failures above were logged …
    for secret in (TOKEN, APP_SECRET, VERIFY_TOKEN):
        assert secret not in caplog.text  # … without any secret
    assert TOKEN not in repr(app.whatsapp) and TOKEN not in repr(app.settings)


# ---- rendering (pure) ----------------------------------------------------------------------
def test_render_styles_and_limits():
    three = (Choice("✅ Saya setuju", "a"), Choice("❌ Tidak setuju", "b"), Choice("🌐 Bahasa / Language", "c"))
    (p,) = render(Reply("Setuju?", three, title="Judul"))
    assert p["interactive"]["type"] == "button" and p["interactive"]["header"] == {"type": "text", "text": "Judul"}
    long_label = (Choice("Dinas Pekerjaan Umum dan Penataan Ruang", "pupr"), Choice("Ya", "y"))
    (p,) = render(Reply("Pilih:", long_label))
    rows_ = p["interactive"]["action"]["sections"][0]["rows"]
    assert p["interactive"]["type"] == "list" and wlen(rows_[0]["title"]) <= 24 and rows_[0]["title"].endswith("…")
    assert rows_[0]["description"] == "Dinas Pekerjaan Umum dan Penataan Ruang"
    eleven = tuple(Choice(f"Opsi {i}", f"v{i}") for i in range(1, 12))
    (p,) = render(Reply("Pilih:", eleven))
    assert p["type"] == "text" and p["_numbered"] == [f"v{i}" for i in range(1, 12)]
    assert "11. Opsi 11" in p["text"]["body"] and "Balas dengan angka 1–11." in p["text"]["body"]
    (p,) = render(Reply("Choose:", eleven, extra={"lang": "en"}))
    assert "Reply with a number 1–11." in p["text"]["body"]
    same_titles = tuple(Choice("Layanan administrasi kependudukan " + x, x) for x in "ab")
    (p,) = render(Reply("Pilih:", same_titles))  # titles would collide once cut: the rows are numbered
    rows_ = p["interactive"]["action"]["sections"][0]["rows"]
    assert [r["title"] for r in rows_] == ["1. Layanan administrasi…", "2. Layanan administrasi…"]
    assert [r["description"] for r in rows_] == [c.label for c in same_titles] and p["_numbered"] == ["a", "b"]
    assert all(wlen(r["title"]) <= 24 for r in rows_)
    assert choice_style((Choice("a", "x"), Choice("b", "x"))) == "numbered"
    (p,) = render(Reply("Choose:", long_label, extra={"lang": "en"}))
    assert p["interactive"]["action"]["button"] == "Choose"


def test_render_long_body_keeps_choices_last_within_limits():
    body = ("Paragraf yang cukup panjang untuk memenuhi pesan. " * 30 + "\n\n") * 6
    payloads = render(Reply(body, (Choice("OK", "ok"),), title="Judul"))
    assert all(p["type"] == "text" for p in payloads[:-1]) and payloads[-1]["type"] == "interactive"
    assert wlen(payloads[-1]["interactive"]["body"]["text"]) <= MAX_BODY
    assert all(wlen(p["text"]["body"]) <= 4096 for p in payloads[:-1])
    assert payloads[0]["text"]["body"].startswith("*Judul*\n")
    joined = " ".join([p["text"]["body"] for p in payloads[:-1]] + [payloads[-1]["interactive"]["body"]["text"]])
    assert joined.replace("*Judul*", "").split() == body.split()


def test_render_media_and_notifications():
    att = Attachment("foto.jpg", "image/jpeg", file_ref="1479537139650973")
    (p,) = render(Reply("Foto laporan", image=att))
    assert p == {"type": "image", "image": {"id": "1479537139650973", "caption": "Foto laporan"}}
    doc = Attachment(
        "rekap.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", data=b"PK\x03\x04"
    )
    payloads = render(Reply("Rekap", (Choice("Menu", "/menu"),), document=doc, purpose="notification"))
    assert [p["type"] for p in payloads] == ["document", "interactive"]
    assert (
        base64.b64decode(payloads[0]["_upload"]["data_b64"]) == b"PK\x03\x04"
        and payloads[0]["document"]["filename"] == "rekap.xlsx"
    )
    assert (
        all(p["_notify"] for p in payloads) and payloads[0]["_template"] == "Rekap" and "_template" not in payloads[1]
    )
    assert render(Reply("halo"))[0] == {"type": "text", "text": {"body": "halo", "preview_url": False}}
    # audio carries no caption (Meta allows none): the text goes first, then the audio by media id
    voice = Attachment("pesan-suara.ogg", "audio/ogg; codecs=opus", file_ref="1357924680135792")
    payloads = render(Reply("🎤 Pesan suara laporan ADU-2026-00001", audio=voice, purpose="notification"))
    assert [p["type"] for p in payloads] == ["text", "audio"]
    assert payloads[1]["audio"] == {"id": "1357924680135792"} and payloads[0]["_template"]


def test_flatten_split_and_numbers():
    assert flatten("a\n\n b\tc     d\n") == "a · b c d"
    assert wlen(flatten("x" * 5000)) <= 700
    assert all(wlen(part) <= 50 for part in split_text("😀 " * 200, 50))
    menu = {"_numbered": ["/a", "/b"]}
    assert numbered_choice(" 2 ", menu) == "/b" and numbered_choice("2.", menu) == "/b"
    assert (
        numbered_choice("3", menu) is None
        and numbered_choice("0", menu) is None
        and numbered_choice("2 dan 3", menu) is None
    )
    assert numbered_choice("1", {"type": "text"}) is None


def test_parse_webhook_reads_batches_and_skips_junk():
    payload = load("text.json")
    value = payload["entry"][0]["changes"][0]["value"]
    value["messages"].append(
        {"from": WA, "id": "wamid.second", "timestamp": "1763863201", "type": "text", "text": {"body": "dua"}}
    )
    value["messages"].append({"from": WA, "id": "wamid.broken", "type": "location", "location": {}})
    value["messages"].append("junk")
    events = parse_webhook(payload, phone_number_id=PNID)
    assert [m.text for m in events.messages] == ["Halo, saya mau melapor jalan rusak", "dua"]
    assert parse_webhook(payload, phone_number_id="1").messages == []
    assert parse_webhook({"object": "whatsapp_business_account", "entry": "x"}).messages == []
    (status,) = parse_webhook(load("status_failed.json")).statuses
    assert status.status == "failed" and status.error.startswith("re-engagement required") and status.recipient == WA


def test_settings_require_the_whole_whatsapp_set():
    base = {
        "KANAL_WHATSAPP_TOKEN": TOKEN,
        "KANAL_WHATSAPP_PHONE_NUMBER_ID": PNID,
        "KANAL_WHATSAPP_APP_SECRET": APP_SECRET,
        "KANAL_WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
    }
    s = Settings.from_env(base)
    assert s.whatsapp_api_base_url == "https://graph.facebook.com/v25.0" and s.whatsapp_user_rate > 0
    shown = " ".join(v for _, v, _ in s.describe())
    assert TOKEN not in shown and APP_SECRET not in shown and VERIFY_TOKEN not in shown
    for missing in ("KANAL_WHATSAPP_PHONE_NUMBER_ID", "KANAL_WHATSAPP_APP_SECRET", "KANAL_WHATSAPP_VERIFY_TOKEN"):
        with pytest.raises(SettingsError, match=missing):
            Settings.from_env({k: v for k, v in base.items() if k != missing})
    with pytest.raises(SettingsError, match="KANAL_WHATSAPP_TEMPLATE_NOTICE"):
        Settings.from_env({**base, "KANAL_WHATSAPP_TEMPLATE_NOTICE": "Kanal Notice"})
    with pytest.raises(SettingsError) as err:
        Settings.from_env({**base, "KANAL_WHATSAPP_TOKEN": "short"})
    assert "short" not in str(err.value)


# ---- the webhook inbox: stored before acknowledged ------------------------------------------------
async def test_a_webhook_that_cannot_be_stored_is_answered_500_and_nothing_is_handled(app, wa):
    seen = spy(app)

    async def broken(body: bytes) -> int:
        raise OSError("database down")

    app.whatsapp._inbox.store_webhook = broken  # type: ignore[union-attr]
    payload = wa.message_payload("6281200001111", {"type": "text", "text": {"body": "/start"}})
    assert await wa.deliver(payload) == 500  # Meta sends it again
    await app.whatsapp.idle()
    assert seen == [] and await count(app, WebhookInbox) == 0


async def test_a_body_whose_message_was_not_stored_stays_in_the_inbox_for_the_next_start(wa, settings):
    s = wa_settings(settings, wa.base_url)
    first = KanalApp(s)
    await first.start()
    wa.webhook_url = f"http://127.0.0.1:{first.port}/webhooks/whatsapp"
    try:
        first.whatsapp.store_retry_window = 0.0

        async def down(inbound):
            raise OSError("database down")

        first.whatsapp._handle = down
        await wa.push_text("6281200002222", "/start")
        await first.whatsapp.idle()
        assert await count(first, WebhookInbox) == 1 and await count(first, InboundMessage) == 0
    finally:
        await first.stop()
    second = KanalApp(s)
    await second.start()
    try:
        await wa.wait_for_sent(1, to="6281200002222", timeout=10)
        await second.whatsapp.idle()
        assert await count(second, WebhookInbox) == 0 and await count(second, InboundMessage) == 1
    finally:
        await second.stop()
