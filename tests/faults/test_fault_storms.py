"""429 storms and network faults on the way out: every reply is delivered exactly once.

Many people write at once while the fake platform servers answer a random share of the bot's send
calls with 429 (``retry_after``), 5xx, a dropped connection or (Telegram) no answer at all until
the client times out. The fakes inject a fault *before* processing the call, as a proxy or an
overloaded front end would, so a faulted call delivered nothing and a retry is the only copy.
Afterwards, per chat, the messages the server accepted must be exactly the bot's outbox rows, in
order, each once, and every row ``sent``. A person who blocked the bot (Telegram 403) is recorded
as a permanent failure on the outbox row and tried exactly once per message, never again.

Delivery timing is shortened for the tests only: the exponential backoff (``bot.delivery.sender.
backoff_seconds``, 1 s, 2 s, 4 s … in production) is 50 ms here and the sender polls for due rows
every 0.1 s instead of 1 s; 429s keep the platform's own ``retry_after`` (1 s). Long variants
(``--run-slow``) push ten times as many messages.
"""

from __future__ import annotations

import asyncio
import random
import time
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import KanalApp
from bot.channels.telegram.telegram_request import AiohttpRequest
from bot.settings import Settings
from storage.models import OutboxMessage
from testkit.fakes.telegram_api import FakeTelegramServer
from testkit.fakes.whatsapp_api import FakeWhatsAppServer

TG_TOKEN = "777001:STORM-token-value"
WA_TOKEN = "EAAKanalStormToken0123456789abcdef"
WA_SECRET = "storm-app-secret-0123456789abcdef"
PNID = "106540352242922"
TG_FAULTS: list[Any] = [429, 500, 502, 503, "reset", "timeout"]
WA_FAULTS: list[tuple[Any, int | None]] = [
    (429, 130429),
    (500, None),
    (503, None),
    ("reset", None),
    (400, 131000),
]  # 131000 is transient
TEXTS = ["/start", "/bantuan", "/menu"]


@pytest.fixture
def fast_retries(monkeypatch) -> None:
    monkeypatch.setattr("bot.delivery.sender.backoff_seconds", lambda attempts: 0.05)


@asynccontextmanager
async def storm_app(settings: Settings, **servers: Any):
    """A KanalApp on the given fakes (real clock: retries must come due), no rate limits of ours."""
    extra: dict[str, Any] = {
        "telegram_global_rate": 0.0,
        "telegram_chat_rate": 0.0,
        "whatsapp_global_rate": 0.0,
        "whatsapp_user_rate": 0.0,
    }
    tg: FakeTelegramServer | None = servers.get("tg")
    wa: FakeWhatsAppServer | None = servers.get("wa")
    if tg is not None:
        extra |= {"telegram_token": TG_TOKEN, "telegram_base_url": tg.base_url}
    if wa is not None:
        extra |= {
            "whatsapp_token": WA_TOKEN,
            "whatsapp_phone_number_id": PNID,
            "whatsapp_app_secret": WA_SECRET,
            "whatsapp_verify_token": "storm-verify-token",
            "whatsapp_api_base_url": wa.base_url,
        }
    s = Settings(**{**settings.__dict__, **extra})
    # a hung sendMessage ("timeout") gives up after 0.5 s instead of PTB's 5 s
    app = KanalApp(s, telegram_request=AiohttpRequest(connection_pool_size=256, read_timeout=0.5))
    app.outbox.poll_interval = 0.1
    await app.start()
    if wa is not None:
        wa.webhook_url = f"http://127.0.0.1:{app.port}/webhooks/whatsapp"
    try:
        yield app
    finally:
        await app.stop()


async def outbox(app: KanalApp, channel: str) -> list[OutboxMessage]:
    async with app.db.unit_of_work() as uow:
        stmt = select(OutboxMessage).where(OutboxMessage.channel == channel).order_by(OutboxMessage.id)
        return list((await uow.session.execute(stmt)).scalars().all())


async def settled(app: KanalApp, channel: str, timeout: float) -> list[OutboxMessage]:
    """Wait until no row of ``channel`` is pending or being sent; the rows."""
    deadline = time.monotonic() + timeout
    while True:
        rows = await outbox(app, channel)
        if rows and all(r.status in ("sent", "failed") for r in rows):
            return rows
        busy = [(r.id, r.status, r.attempts, r.last_error) for r in rows if r.status not in ("sent", "failed")]
        assert time.monotonic() < deadline, f"{len(busy)} row(s) not settled after {timeout}s: {busy[:5]}"
        await asyncio.sleep(0.1)


async def faults_while(rng: random.Random, inject, share: float, until: asyncio.Event) -> int:
    """Arm a fault with probability ``share`` every 5 ms (``inject`` decides whether one may be armed now)."""
    injected = 0
    while not until.is_set():
        if rng.random() < share and inject():
            injected += 1
        await asyncio.sleep(0.005)
    return injected


def text_of(payload: dict[str, Any]) -> str:
    return payload.get("text") or payload.get("caption") or ""


async def telegram_storm(settings: Settings, *, chats: int, seed: int, share: float, budget: float) -> dict[str, Any]:
    rng = random.Random(seed)
    async with FakeTelegramServer(token=TG_TOKEN, rate_limits=False) as tg, storm_app(settings, tg=tg) as app:
        blocked = 90_000  # wrote to the bot, then blocked it before the answers went out
        tg.block_chat(blocked)

        armed_at = [-10]

        def inject() -> bool:
            # one fault at a time, and at least two calls between faults: a row is never starved
            # into MAX_ATTEMPTS by the storm alone (that would be a test artefact, not a bug)
            calls = sum(1 for r in tg.requests if r.method.lower() == "sendmessage")
            if tg._faults.get("sendmessage") or calls - armed_at[0] < 3:
                return False
            count = rng.choice((1, 1, 2))
            tg.fail_next("sendMessage", rng.choice(TG_FAULTS), count=count)
            armed_at[0] = calls + count
            return True

        stop = asyncio.Event()
        storm = asyncio.create_task(faults_while(rng, inject, share, stop))
        ids = [80_000 + i for i in range(chats)] + [blocked]
        for text in TEXTS:  # every person writes three times; the traffic spreads over a second or two
            for chat in ids:
                tg.push_message(chat, text, first_name=f"Warga{chat}", language_code="id")
                await asyncio.sleep(0.01)
        try:
            rows = await settled(app, "telegram", budget)
        finally:
            stop.set()
            injected = await storm
        await asyncio.sleep(1.5)  # time for a (wrong) retry of the blocked chat's messages
        rows = await outbox(app, "telegram")

        calls: dict[int, int] = {}
        for r in tg.requests:
            if r.method.lower() == "sendmessage":
                calls[int(r.params["chat_id"])] = calls.get(int(r.params["chat_id"]), 0) + 1
        injected_errors = [e for e in tg.errors if str(e.description).startswith("injected fault")]
        result = {
            "rows": len(rows),
            "chats": chats,
            "injected": len(injected_errors),
            "armed": injected,
            "kinds": sorted({str(e.status) for e in injected_errors}),
            "stats": dict(app.outbox.stats),
        }

        out_of_order = 0
        for chat in ids[:-1]:
            expected = [text_of(r.payload) for r in rows if r.address == str(chat)]
            got = [m["text"] for m in tg.sent(chat)]
            assert expected and sorted(got) == sorted(expected), (
                f"chat {chat}: received {[g[:30] for g in got]}, the outbox has "
                f"{[(r.id, r.status, r.attempts, r.last_error, r.platform_message_id, text_of(r.payload)[:30]) for r in rows if r.address == str(chat)]}; "
                f"calls {[(round(q.time, 3), q.params.get('text', '')[:20]) for q in tg.requests if q.method.lower() == 'sendmessage' and str(q.params.get('chat_id')) == str(chat)]}; "
                f"errors {[(round(e.time, 3), e.status) for e in tg.errors if str(e.params.get('chat_id')) == str(chat)]}"
            )
            # and each row is the one accepted message it recorded (same text, each message once)
            accepted = {str(m["message_id"]): m["text"] for m in tg.sent(chat)}
            recorded = [(r.platform_message_id, text_of(r.payload)) for r in rows if r.address == str(chat)]
            assert sorted(recorded) == sorted(accepted.items())
            out_of_order += got != expected
        result["out_of_order_chats"] = out_of_order
        # a paused lane holds the rows written to its chat meanwhile: each chat in outbox order
        assert out_of_order == 0, result
        mine = [r for r in rows if r.address != str(blocked)]
        assert {r.status for r in mine} == {"sent"}
        # the blocked person: each message tried once, recorded as failed for good
        theirs = [r for r in rows if r.address == str(blocked)]
        assert theirs and tg.sent(blocked) == []
        assert [r.status for r in theirs] == ["failed"] * len(theirs)
        assert all("403" in (r.last_error or "") for r in theirs), [r.last_error for r in theirs]
        forbidden = [e for e in tg.errors if e.status == 403 and str(e.params.get("chat_id")) == str(blocked)]
        # every call for them either met an injected fault (then it was retried) or the 403 — once per message
        assert len(forbidden) == len(theirs), (
            f"{len(forbidden)} 403 answers for {len(theirs)} messages: retried after a permanent failure"
        )
        faulted = [e for e in injected_errors if str(e.params.get("chat_id")) == str(blocked)]
        assert calls.get(blocked, 0) == len(theirs) + len(faulted)
        # the storm did happen, in all its kinds
        assert len(injected_errors) >= 6, result
        return result


async def test_telegram_storm_every_message_once(settings, fast_retries):
    """20 chats × 3 messages (each answered with one or more replies) under ~25 % injected faults."""
    started = time.monotonic()
    result = await telegram_storm(settings, chats=20, seed=429, share=1.0, budget=40)
    assert len(result["kinds"]) >= 3, result
    print(f"telegram storm: {result}, {time.monotonic() - started:.1f}s")


@pytest.mark.slow
async def test_telegram_storm_every_message_once_long(settings, fast_retries):
    """200 chats × 3 messages under the same storm."""
    started = time.monotonic()
    result = await telegram_storm(settings, chats=200, seed=4290, share=1.0, budget=180)
    print(f"telegram storm (long): {result}, {time.monotonic() - started:.1f}s")


async def whatsapp_storm(settings: Settings, *, people: int, seed: int, share: float, budget: float) -> dict[str, Any]:
    rng = random.Random(seed)
    async with (
        FakeWhatsAppServer(token=WA_TOKEN, phone_number_id=PNID, app_secret=WA_SECRET, window="off") as wa,
        storm_app(settings, wa=wa) as app,
    ):
        armed_at = [-10]

        def inject() -> bool:
            calls = sum(1 for r in wa.requests if r.endpoint == "messages")
            if wa._faults.get("messages") or calls - armed_at[0] < 3:
                return False
            status, code = rng.choice(WA_FAULTS)
            count = rng.choice((1, 1, 2))
            wa.fail_next("messages", status, code=code, retry_after=1 if status == 429 else None, count=count)
            armed_at[0] = calls + count
            return True

        stop = asyncio.Event()
        storm = asyncio.create_task(faults_while(rng, inject, share, stop))
        numbers = [f"62812000{i:05d}" for i in range(people)]
        for text in ("Halo", "/bantuan", "/menu"):
            for n in numbers:
                await wa.push_text(n, text, name=f"Warga {n[-3:]}")
                await asyncio.sleep(0.01)
        try:
            await app.whatsapp.idle()
            rows = await settled(app, "whatsapp", budget)
        finally:
            stop.set()
            armed = await storm
        injected = [
            e for e in wa.errors if e.endpoint == "messages" and (e.status == "reset" or e.code in (130429, 131000))
        ]
        out_of_order = 0
        for n in numbers:
            expected = [r.platform_message_id for r in rows if r.address == n]
            got = [m["id"] for m in wa.sent(to=n)]
            assert expected and sorted(got) == sorted(expected), (
                f"{n}: accepted {len(got)} message(s), the outbox has {len(expected)} rows"
            )
            out_of_order += got != expected
        assert {r.status for r in rows} == {"sent"}
        assert len(injected) >= 6
        assert out_of_order == 0, f"{out_of_order} of {people} people received their messages out of outbox order"
        return {
            "out_of_order_people": out_of_order,
            "rows": len(rows),
            "people": people,
            "injected": len(injected),
            "armed": armed,
            "kinds": sorted({str(e.status) for e in injected}),
            "stats": dict(app.outbox.stats),
        }


async def test_whatsapp_storm_every_message_once(settings, fast_retries):
    """20 people × 3 messages on WhatsApp under injected 429 / 5xx / transient 131000 / resets."""
    started = time.monotonic()
    result = await whatsapp_storm(settings, people=20, seed=130429, share=1.0, budget=40)
    print(f"whatsapp storm: {result}, {time.monotonic() - started:.1f}s")


@pytest.mark.slow
async def test_whatsapp_storm_every_message_once_long(settings, fast_retries):
    started = time.monotonic()
    result = await whatsapp_storm(settings, people=200, seed=1304290, share=1.0, budget=180)
    print(f"whatsapp storm (long): {result}, {time.monotonic() - started:.1f}s")
