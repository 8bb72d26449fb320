"""Hostile traffic at every HTTP entry point: the web chat (page + websocket frames), the WhatsApp
webhook and the Telegram webhook, all served by one running KanalApp on one port.

Malformed JSON, wrong content types, oversized and deeply nested bodies, forged or missing
signatures and secret tokens, and hypothesis-generated JSON shapes (random values where the
platform puts objects, ids of any length and type, …). What must hold, measured at the server:
every answer is a clean 2xx/4xx — never a 5xx, never a dropped connection — nothing is stored for
a forged request (no user, no inbound row, no outbox row), a well-formed websocket frame is
acknowledged or answered with an error frame and the socket stays usable, and nothing is logged at
ERROR (aiohttp's "Error handling request" included). ``tests/channels/test_whatsapp.py`` and
``tests/channels/test_webchat.py`` have the basic cases; this module adds the hostile ones. More
hypothesis examples with ``--run-slow``.
"""

from __future__ import annotations

import asyncio
import json
import logging

import aiohttp
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.app import KanalApp
from bot.settings import Settings
from storage.models import InboundMessage, OutboxMessage, User
from testkit.fakes.telegram_api import SECRET_HEADER, FakeTelegramServer
from testkit.fakes.whatsapp_api import FakeWhatsAppServer, sign

TG_TOKEN = "4440001:HOSTILE-webhook-token"
HOOK_SECRET = "hook_Secret-4f9Qx"
WA_TOKEN = "EAAHostileWebhookToken81pQ3vTq0w"
WA_SECRET = "0c1d2e3f405162738495a6b7c8d9e0f1"
WA_VERIFY = "verify-hostile-9Lq"
PNID = "106540352242922"
SLOW = {"max_examples": 200}
FAST = {"max_examples": 20}
COMMON = {"deadline": None, "suppress_health_check": list(HealthCheck)}

json_scalar = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False), st.text(max_size=40)
)
json_value = st.recursive(
    json_scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=5)),
    max_leaves=25,
)
long_id = st.one_of(st.text(min_size=1, max_size=300), st.integers(-(2**70), 2**70), st.none(), json_value)


class Stack:
    def __init__(self, app: KanalApp, tg: FakeTelegramServer, wa: FakeWhatsAppServer) -> None:
        self.app, self.tg, self.wa = app, tg, wa
        self.base = f"http://127.0.0.1:{app.port}"
        self.http: aiohttp.ClientSession | None = None

    async def post(
        self, path: str, body: bytes, headers: dict[str, str] | None = None, *, chunked: bool = False
    ) -> int:
        assert self.http is not None
        data = body
        if chunked:  # no Content-Length: the size check has to happen while reading

            async def gen():
                for i in range(0, len(body), 65536):
                    yield body[i : i + 65536]

            data = gen()
        async with self.http.post(self.base + path, data=data, headers=headers or {}) as resp:
            await resp.read()
            return resp.status

    async def wa_post(
        self, body: bytes, signature: str | None = "good", content_type: str = "application/json", **kw
    ) -> int:
        headers = {"Content-Type": content_type}
        if signature == "good":
            headers["X-Hub-Signature-256"] = sign(WA_SECRET, body)
        elif signature is not None:
            headers["X-Hub-Signature-256"] = signature
        return await self.post("/webhooks/whatsapp", body, headers, **kw)

    async def tg_post(
        self, body: bytes, secret: str | None = HOOK_SECRET, content_type: str = "application/json"
    ) -> int:
        headers = {"Content-Type": content_type}
        if secret is not None:
            headers[SECRET_HEADER] = secret
        return await self.post("/webhooks/telegram", body, headers)

    async def counts(self) -> tuple[int, int, int]:
        async with self.app.db.unit_of_work() as uow:
            s = uow.session
            return tuple(
                [
                    (await s.execute(select(func.count()).select_from(m))).scalar_one()
                    for m in (User, InboundMessage, OutboxMessage)
                ]
            )  # type: ignore[return-value]

    async def settle(self) -> None:
        await self.app.whatsapp.idle()
        await self.app.outbox.drain()


@pytest.fixture
async def stack(settings):
    async with (
        FakeTelegramServer(token=TG_TOKEN) as tg,
        FakeWhatsAppServer(token=WA_TOKEN, phone_number_id=PNID, app_secret=WA_SECRET, window="off") as wa,
    ):
        s = Settings(
            **{
                **settings.__dict__,
                "telegram_token": TG_TOKEN,
                "telegram_base_url": tg.base_url,
                "telegram_webhook_url": "https://kanal.example.go.id/webhooks/telegram",
                "telegram_webhook_secret": HOOK_SECRET,
                "telegram_global_rate": 0.0,
                "telegram_chat_rate": 0.0,
                "whatsapp_token": WA_TOKEN,
                "whatsapp_phone_number_id": PNID,
                "whatsapp_app_secret": WA_SECRET,
                "whatsapp_verify_token": WA_VERIFY,
                "whatsapp_api_base_url": wa.base_url,
                "whatsapp_user_rate": 0.0,
            }
        )
        app = KanalApp(s)
        await app.start()
        app.whatsapp.store_retry_window = (
            3.0  # a message that can never be stored fails the test, not hangs it for 10 min
        )
        wa.webhook_url = f"http://127.0.0.1:{app.port}/webhooks/whatsapp"
        st_ = Stack(app, tg, wa)
        st_.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        try:
            yield st_
        finally:
            await st_.http.close()
            await app.stop()


def no_errors(caplog) -> None:
    bad = [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.ERROR]
    assert not bad, bad[:5]


def assert_clean(status: int) -> None:
    assert 200 <= status < 500, status


DEEP = b"[" * 50_000 + b"]" * 50_000  # 100 kB: under every size limit, beyond json's recursion limit


# ---- WhatsApp -----------------------------------------------------------------------------
async def test_whatsapp_forged_and_malformed_requests(stack, caplog):
    caplog.set_level(logging.WARNING)
    genuine = json.dumps(
        stack.wa.message_payload("6281200000009", {"type": "text", "text": {"body": "/start"}})
    ).encode()
    forged = [
        (genuine, None),
        (genuine, ""),
        (genuine, "sha256="),
        (genuine, "sha256=" + "0" * 64),
        (genuine, "sha256=zz"),
        (genuine, "sha1=" + sign(WA_SECRET, genuine)[7:]),
        (genuine, sign("another-secret", genuine)),
        (genuine, "sha256=é" * 40),
        (genuine + b" ", sign(WA_SECRET, genuine)),
        (genuine, sign(WA_SECRET, genuine) + "00"),
        (genuine, " " + sign(WA_SECRET, b"")),
        (DEEP, "sha256=" + "1" * 64),
        (b"\xff\xfe" * 100, None),
    ]
    for body, signature in forged:
        status = await stack.wa_post(body, signature)
        assert status in (401, 403), (signature, status)
    await stack.settle()
    assert await stack.counts() == (0, 0, 0)  # nothing stored for a forged request
    # signed, but not what Meta sends: malformed JSON, other content types, JSON that is no object
    for body, ctype in [
        (b"{not json", "application/json"),
        (b"\xff\xfe\x00", "application/json"),
        (b"[]", "application/json"),
        (b"42", "application/json"),
        (b'"x"', "text/plain"),
        (b"a=1&b=2", "application/x-www-form-urlencoded"),
        (b"", "application/json"),
        (b"null", "application/json"),
        (DEEP, "application/json"),
        (b'{"object": "whatsapp_business_account", "entry": ' + DEEP + b"}", "application/json"),
    ]:
        assert_clean(await stack.wa_post(body, content_type=ctype))
    # oversized: announced (Content-Length) and streamed (chunked, no length)
    big = b'{"object": "whatsapp_business_account", "pad": "' + b"x" * 1_200_000 + b'"}'
    assert await stack.wa_post(big) == 413
    assert await stack.wa_post(big, chunked=True) == 413
    # the verification handshake with junk
    for params in (
        {},
        {"hub.mode": "subscribe"},
        {"hub.mode": "subscribe", "hub.verify_token": WA_VERIFY[:-1], "hub.challenge": "1"},
        {"hub.mode": "x", "hub.verify_token": WA_VERIFY, "hub.challenge": "1"},
        {"hub.verify_token": "é" * 1000},
    ):
        async with stack.http.get(stack.base + "/webhooks/whatsapp", params=params) as resp:
            assert resp.status in (400, 403)  # 400: a request line longer than aiohttp reads
    async with stack.http.get(
        stack.base + "/webhooks/whatsapp",
        params={"hub.mode": "subscribe", "hub.verify_token": WA_VERIFY, "hub.challenge": "<b>" * 500},
    ) as resp:
        assert resp.status == 200 and len(await resp.text()) <= 256 and resp.content_type == "text/plain"
    await stack.settle()
    assert await stack.counts() == (0, 0, 0)
    no_errors(caplog)


def wa_message(draw) -> dict:
    kind = draw(
        st.sampled_from(
            [
                "text",
                "interactive",
                "button",
                "location",
                "image",
                "document",
                "contacts",
                "audio",
                "sticker",
                "reaction",
                "unsupported",
                "order",
                "",
                None,
            ]
        )
    )
    msg = {
        "id": draw(long_id),
        "from": draw(st.one_of(st.text(alphabet="0123456789", min_size=1, max_size=200), long_id)),
        "timestamp": draw(st.one_of(st.integers(-(2**70), 2**70).map(str), json_scalar)),
        "type": kind,
    }
    if kind:
        msg[kind] = draw(
            st.one_of(
                json_value,
                st.fixed_dictionaries(
                    {},
                    optional={
                        "body": json_value,
                        "type": st.sampled_from(["button_reply", "list_reply", "nfm_reply"]),
                        "button_reply": json_value,
                        "list_reply": json_value,
                        "id": long_id,
                        "latitude": json_value,
                        "longitude": json_value,
                        "caption": json_value,
                        "mime_type": json_value,
                        "text": json_value,
                        "payload": json_value,
                        "voice": json_value,
                    },
                ),
            )
        )
    if draw(st.booleans()):
        msg.update(
            draw(
                st.dictionaries(st.sampled_from(["context", "group_id", "errors", "referral"]), json_value, max_size=2)
            )
        )
    return msg


@st.composite
def wa_payload(draw) -> dict:
    contacts = draw(
        st.one_of(
            json_value,
            st.lists(
                st.fixed_dictionaries(
                    {
                        "wa_id": long_id,
                        "profile": st.one_of(
                            json_value, st.fixed_dictionaries({"name": st.one_of(st.text(max_size=400), json_value)})
                        ),
                    }
                ),
                max_size=3,
            ),
        )
    )
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"phone_number_id": draw(st.sampled_from([PNID, PNID, "1", ""]))},
        "contacts": contacts,
        "messages": draw(
            st.one_of(
                json_value,
                st.lists(st.builds(dict), max_size=0),
                st.just([wa_message(draw) for _ in range(draw(st.integers(1, 3)))]),
            )
        ),
        "statuses": draw(
            st.one_of(
                json_value,
                st.lists(
                    st.fixed_dictionaries(
                        {
                            "id": long_id,
                            "status": json_value,
                            "timestamp": json_value,
                            "recipient_id": long_id,
                            "errors": json_value,
                        }
                    ),
                    max_size=2,
                ),
            )
        ),
    }
    change = draw(st.one_of(st.just({"field": "messages", "value": value}), json_value))
    entry = draw(st.one_of(st.just({"id": "0", "changes": [change]}), json_value))
    return draw(st.one_of(st.just({"object": "whatsapp_business_account", "entry": [entry]}), json_value))


async def wa_shapes(stack, caplog, payload) -> None:
    caplog.clear()  # caplog is shared by the examples of one test
    caplog.set_level(logging.ERROR)
    status = await stack.wa_post(json.dumps(payload).encode())
    assert status in (200, 400), status
    await stack.app.whatsapp.idle()
    no_errors(caplog)


@hsettings(**FAST, **COMMON)
@given(payload=wa_payload())
async def test_whatsapp_signed_payloads_of_any_shape(stack, caplog, payload):
    await wa_shapes(stack, caplog, payload)


@pytest.mark.slow
@hsettings(**SLOW, **COMMON)
@given(payload=wa_payload())
async def test_whatsapp_signed_payloads_of_any_shape_long(stack, caplog, payload):
    await wa_shapes(stack, caplog, payload)


@hsettings(**FAST, **COMMON)
@given(
    body=st.one_of(st.binary(max_size=300), json_value.map(lambda v: json.dumps(v).encode())),
    signature=st.one_of(st.none(), st.text(max_size=80), st.binary(max_size=40).map(lambda b: "sha256=" + b.hex())),
)
async def test_whatsapp_forged_signatures_of_any_shape_store_nothing(stack, caplog, body, signature):
    caplog.clear()
    caplog.set_level(logging.ERROR)
    try:
        status = await stack.wa_post(body, signature)
    except ValueError:  # a header value aiohttp's client itself refuses to send (e.g. a new line)
        return
    assert status in (401, 403), status
    await stack.app.whatsapp.idle()
    assert await stack.counts() == (0, 0, 0)
    no_errors(caplog)


# ---- Telegram webhook ---------------------------------------------------------------------
async def test_telegram_webhook_forged_and_malformed(stack, caplog):
    caplog.set_level(logging.WARNING)
    update = json.dumps(
        {
            "update_id": 77,
            "message": {
                "message_id": 1,
                "date": 1700000000,
                "chat": {"id": 8801, "type": "private"},
                "from": {"id": 8801, "is_bot": False, "first_name": "Eve"},
                "text": "/start",
            },
        }
    ).encode()
    # (" " + secret is the secret: HTTP strips whitespace around header values)
    for secret in (None, "", HOOK_SECRET[:-1], HOOK_SECRET + "x", HOOK_SECRET.upper(), "x" + HOOK_SECRET, "é" * 30):
        try:
            assert await stack.tg_post(update, secret) == 403, secret
        except ValueError:
            pass
    for body in (DEEP, b"x" * 2_000_000):
        assert await stack.tg_post(body, None) in (403, 413)
    assert await stack.counts() == (0, 0, 0)
    for body, ctype in [
        (b"{not json", "application/json"),
        (b"\xff\xfe", "application/json"),
        (b"[]", "application/json"),
        (b"42", "text/plain"),
        (b"", "application/json"),
        (b"null", "application/json"),
        (b'{"update_id": "x"}', "application/json"),
        (b"a=1", "application/x-www-form-urlencoded"),
        (DEEP, "application/json"),
        (b'{"update_id": 5, "message": ' + DEEP + b"}", "application/json"),
        (b'{"update_id": 5, "message": []}', "application/json"),
        (b'{"update_id": 5, "callback_query": "x"}', "application/json"),
    ]:
        assert_clean(await stack.tg_post(body, content_type=ctype))
    assert await stack.tg_post(b'{"update_id": 1, "pad": "' + b"x" * 2_000_000 + b'"}') == 413
    no_errors(caplog)


@st.composite
def tg_update(draw) -> dict:
    who = draw(
        st.one_of(
            st.fixed_dictionaries(
                {"id": st.integers(1, 2**40), "is_bot": st.booleans(), "first_name": st.text(max_size=80)},
                optional={"username": json_value, "language_code": json_value, "last_name": json_value},
            ),
            json_value,
        )
    )
    chat = draw(
        st.one_of(
            st.fixed_dictionaries(
                {"id": st.integers(-(2**52), 2**52), "type": st.sampled_from(["private", "group", "channel", "x"])}
            ),
            json_value,
        )
    )
    message = draw(
        st.one_of(
            st.fixed_dictionaries(
                {
                    "message_id": st.one_of(st.integers(0, 2**31), json_value),
                    "date": st.one_of(st.integers(0, 2**31), json_value),
                    "chat": st.just(chat),
                    "from": st.just(who),
                },
                optional={
                    "text": json_value,
                    "photo": json_value,
                    "location": json_value,
                    "contact": json_value,
                    "sticker": json_value,
                    "entities": json_value,
                    "caption": json_value,
                },
            ),
            json_value,
        )
    )
    kind = draw(st.sampled_from(["message", "edited_message", "callback_query", "channel_post", "poll", "zzz"]))
    body = (
        message
        if kind != "callback_query"
        else draw(
            st.one_of(
                st.fixed_dictionaries(
                    {
                        "id": st.text(max_size=20),
                        "from": st.just(who),
                        "chat_instance": st.text(max_size=5),
                        "data": json_value,
                    },
                    optional={"message": st.just(message)},
                ),
                json_value,
            )
        )
    )
    return draw(
        st.one_of(st.just({"update_id": draw(st.one_of(st.integers(0, 2**31), json_value)), kind: body}), json_value)
    )


_update_ids = iter(range(10**6, 10**9))


async def tg_shapes(stack, caplog, update) -> None:
    caplog.clear()  # caplog is shared by the examples of one test
    if isinstance(update, dict) and isinstance(update.get("update_id"), int):
        update["update_id"] = next(_update_ids)  # a repeated id is a redelivery: deduplicated, which hides a failure
    caplog.set_level(logging.ERROR)
    status = await stack.tg_post(json.dumps(update).encode())
    assert status in (200, 400), status
    no_errors(caplog)


@hsettings(**FAST, **COMMON)
@given(update=tg_update())
async def test_telegram_webhook_updates_of_any_shape(stack, caplog, update):
    await tg_shapes(stack, caplog, update)


@pytest.mark.slow
@hsettings(**SLOW, **COMMON)
@given(update=tg_update())
async def test_telegram_webhook_updates_of_any_shape_long(stack, caplog, update):
    await tg_shapes(stack, caplog, update)


# ---- web chat -----------------------------------------------------------------------------
async def test_webchat_http_junk(stack, caplog):
    caplog.set_level(logging.WARNING)
    base = stack.base
    async with aiohttp.ClientSession() as raw:
        for cookie in ("", "x", "a" * 19, "a" * 101, "é" * 30, "<script>", "a" * 4000, "../../etc/passwd" + "a" * 20):
            async with raw.get(base + "/", headers={"Cookie": f"kanal_web={cookie}"}) as resp:
                assert resp.status == 200
            async with raw.get(base + "/ws", headers={"Cookie": f"kanal_web={cookie}"}) as resp:
                assert resp.status in (400, 401)  # 400: aiohttp refuses the non-ASCII header itself
        good = "A" * 43
        for method, path, headers in [
            ("GET", "/ws", {"Cookie": f"kanal_web={good}"}),  # a valid cookie but no websocket upgrade
            ("POST", "/ws", {}),
            ("POST", "/", {}),
            ("PUT", "/webhooks/whatsapp", {}),
            ("GET", "/webhooks/telegram", {}),
            ("DELETE", "/healthz", {}),
            ("GET", "/%00", {}),
            ("GET", "/" + "a" * 5000, {}),
            ("GET", "/..%2f..%2fetc%2fpasswd", {}),
        ]:
            async with raw.request(method, base + path, headers=headers) as resp:
                assert_clean(resp.status)
        with pytest.raises(aiohttp.WSServerHandshakeError) as err:
            await raw.ws_connect(base + "/ws", headers={"Cookie": f"kanal_web={good}", "Origin": "null"})
        assert err.value.status == 403
    assert await stack.counts() == (0, 0, 0)
    no_errors(caplog)


async def open_page(stack: Stack) -> tuple[aiohttp.ClientSession, aiohttp.ClientWebSocketResponse]:
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with session.get(stack.base + "/") as resp:
        assert resp.status == 200
    async with session.post(stack.base + "/session") as resp:
        assert resp.status == 204
    ws = await session.ws_connect(stack.base + "/ws")
    return session, ws


async def answer_to(ws: aiohttp.ClientWebSocketResponse, frame_id: str | None, timeout: float = 5.0) -> dict:
    """The ack or error frame for ``frame_id`` (messages in between are skipped)."""
    while True:
        msg = await asyncio.wait_for(ws.receive(), timeout)
        assert msg.type == aiohttp.WSMsgType.TEXT, msg
        frame = json.loads(msg.data)
        if frame["type"] in ("ack", "error") and (
            frame_id is None or frame.get("id") == frame_id or frame.get("id") is None
        ):
            return frame


async def test_webchat_frames_that_break_parsers(stack, caplog):
    """Nested JSON past the recursion limit, huge frames, binary frames: the socket answers or
    closes cleanly and a new one works; nothing at ERROR."""
    caplog.set_level(logging.WARNING)
    session, ws = await open_page(stack)
    try:
        await ws.send_json({"type": "hello", "last_seen": 10**30})
        await ws.send_str("[" * 8000 + "]" * 8000)  # under the 16 KiB frame limit
        assert (await answer_to(ws, None))["type"] == "error"
        await ws.send_str('{"type": "text", "id": "n1", "text": ' + "[" * 5000 + "]" * 5000 + "}")
        assert (await answer_to(ws, None))["type"] == "error"
        await ws.send_bytes(b"\x00\xff" * 100)
        await ws.send_json({"type": "text", "id": "ok-1", "text": "/bantuan"})
        assert (await answer_to(ws, "ok-1"))["type"] == "ack"  # still usable
        await ws.send_str("x" * 20_000)  # over the frame limit: closed with 1009, not a crash
        msg = await asyncio.wait_for(ws.receive(), 5)
        assert msg.type in (
            aiohttp.WSMsgType.CLOSE,
            aiohttp.WSMsgType.CLOSED,
            aiohttp.WSMsgType.CLOSING,
            aiohttp.WSMsgType.ERROR,
        )
    finally:
        await ws.close()
        await session.close()
    session, ws = await open_page(stack)  # a new socket works
    try:
        await ws.send_json({"type": "text", "id": "ok-2", "text": "/menu"})
        assert (await answer_to(ws, "ok-2"))["type"] == "ack"
    finally:
        await ws.close()
        await session.close()
    no_errors(caplog)


frame_shape = st.one_of(
    st.fixed_dictionaries(
        {"type": st.sampled_from(["text", "choice", "hello", "ack", "message", "", "TEXT"])},
        optional={
            "id": st.one_of(json_value, st.text(max_size=300)),
            "text": st.one_of(json_value, st.text(max_size=5000)),
            "value": st.one_of(json_value, st.text(max_size=80)),
            "label": json_value,
            "start": st.one_of(json_value, st.text(max_size=80)),
            "last_seen": json_value,
        },
    ),
    json_value,
)


async def frames(stack, caplog, shapes: list) -> None:
    caplog.clear()  # caplog is shared by the examples of one test
    caplog.set_level(logging.ERROR)
    session, ws = await open_page(stack)
    try:
        for _i, shape in enumerate(shapes):
            raw = json.dumps(shape)
            if len(raw.encode()) > 16 * 1024:
                continue
            await ws.send_str(raw)
            is_hello = isinstance(shape, dict) and shape.get("type") == "hello"
            if not is_hello:  # anything else is acknowledged or refused with an error frame
                await answer_to(ws, None)
        await ws.send_json({"type": "text", "id": "final", "text": "/bantuan"})
        assert (await answer_to(ws, "final"))["type"] == "ack"
    finally:
        await ws.close()
        await session.close()
    no_errors(caplog)


@hsettings(**FAST, **COMMON)
@given(shapes=st.lists(frame_shape, min_size=1, max_size=6))
async def test_webchat_frames_of_any_shape(stack, caplog, shapes):
    await frames(stack, caplog, shapes)


@pytest.mark.slow
@hsettings(**SLOW, **COMMON)
@given(shapes=st.lists(frame_shape, min_size=1, max_size=10))
async def test_webchat_frames_of_any_shape_long(stack, caplog, shapes):
    await frames(stack, caplog, shapes)


async def test_whatsapp_signed_messages_with_extreme_fields(stack, caplog):
    """Ids and names longer than any column, NUL characters, numbers as strings: handled or skipped,
    never an ERROR (PostgreSQL refuses NUL and over-long values where SQLite does not)."""
    caplog.set_level(logging.ERROR)
    cases = [
        ("6281200000101", "wamid." + "A" * 300, "Ani", "/start"),
        ("6281200000102", "wamid.nul\x00id", "Bu\x00di", "te\x00ks"),
        ("6281200000103", "wamid.longname", "N" * 1000, "/bantuan"),
        ("6281200000104", "wamid.ctrl", "\u202e\x07", "\x00" * 10),
        ("6" * 200, "wamid.longsender", "Long", "/start"),
    ]
    for sender, wamid, name, text in cases:
        payload = stack.wa.message_payload(sender, {"type": "text", "text": {"body": text}}, name=name, wamid=wamid)
        assert await stack.wa_post(json.dumps(payload).encode()) == 200
        await stack.app.whatsapp.idle()
    await stack.settle()
    no_errors(caplog)
