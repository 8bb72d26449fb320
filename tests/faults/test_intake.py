"""Nothing acknowledged is lost, no new message is taken for an old one (issue 17).

* WhatsApp: webhooks answered 200 are stored first. A real ``kanal run`` process acknowledges N
  signed messages while its turns cannot run (the dispatcher stalls, as under a slow database),
  is killed with SIGKILL at once, and a second process started on the same database answers
  every one of them exactly once, from the webhook inbox; no raw body stays in the inbox.
* SMS: the same, through the Android gateway's signed webhooks, with 200 people; the gateway's
  redelivery of an acknowledged SMS is not answered again.
* Telegram: after a week without updates Telegram starts update ids again at a random number, and
  a second bot on the same database starts at 1. The dedupe keys are message and callback ids,
  so every new message is answered after a restart against a server whose update ids start
  again at 1, and after a second bot on the same database.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections import Counter

import aiohttp
from sqlalchemy import func, select

from bot.app import KanalApp
from bot.settings import Settings
from storage import Database
from storage.models import InboundMessage, OutboxMessage, WebhookInbox
from testkit.fakes.telegram_api import FakeTelegramServer
from testkit.fakes.whatsapp_api import FakeWhatsAppServer
from tests.fakes.sms_gateway import FakeSmsGateway
from tests.faults.test_crash import free_port

WA_TOKEN = "EAAKanalIntakeTokenQ7x2Lm9Pv4Rt8Yw1"
APP_SECRET = "9c1e5b07d3a24f68b0c1e2d3f4a5b6c7"
PNID = "106540352242922"
N = 40

#: ``python -c`` program: the bot, whose turns never run (each waits forever, as if the database
#: were very slow): what the webhook acknowledged is only in the inbox when the process is killed
STALLED_TURNS = """
import asyncio, sys
from bot.engine.dispatch import Dispatcher
async def stalled(self, inbound):
    await asyncio.Event().wait()
Dispatcher.handle = stalled
from bot.cli import main
sys.exit(main(sys.argv[1:]))
"""


async def _start(program: list[str], env: dict[str, str], cwd, log_name: str) -> asyncio.subprocess.Process:
    log = open(cwd / log_name, "wb")
    try:
        return await asyncio.create_subprocess_exec(
            sys.executable, *program, "run", env=env, cwd=str(cwd), stdout=log, stderr=asyncio.subprocess.STDOUT
        )
    finally:
        log.close()


async def _serving(port: int, proc: asyncio.subprocess.Process, log_path) -> None:
    deadline = time.monotonic() + 60
    async with aiohttp.ClientSession() as http:
        while True:
            assert proc.returncode is None, log_path.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "the bot did not serve HTTP within 60 s"
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                    if resp.status in (200, 503):
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)


async def _counts(db_url: str) -> tuple[Counter, int, int]:
    """(inbound rows per external id, inbox rows, outbox rows not sent)."""
    db = Database(db_url)
    try:
        async with db.unit_of_work() as uow:
            s = uow.session
            inbound = Counter((await s.execute(select(InboundMessage.external_id))).scalars().all())
            inbox = (await s.execute(select(func.count()).select_from(WebhookInbox))).scalar_one()
            unsent = (
                await s.execute(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status != "sent"))
            ).scalar_one()
            return inbound, inbox, unsent
    finally:
        await db.dispose()


async def test_whatsapp_messages_acknowledged_then_killed_are_all_answered_once_after_restart(db_url, tmp_path):
    port = free_port()
    async with FakeWhatsAppServer(token=WA_TOKEN, phone_number_id=PNID, app_secret=APP_SECRET) as wa:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("KANAL_")},
            "KANAL_DATABASE_URL": db_url,
            "KANAL_WHATSAPP_TOKEN": WA_TOKEN,
            "KANAL_WHATSAPP_PHONE_NUMBER_ID": PNID,
            "KANAL_WHATSAPP_APP_SECRET": APP_SECRET,
            "KANAL_WHATSAPP_VERIFY_TOKEN": "intake-verify-4Tq9",
            "KANAL_WHATSAPP_API_BASE_URL": wa.base_url,
            "KANAL_WHATSAPP_GLOBAL_RATE": "0",
            "KANAL_WHATSAPP_USER_RATE": "0",
            "KANAL_HTTP_PORT": str(port),
            "KANAL_WEBCHAT": "false",
            "KANAL_SCHEDULER": "false",
            "KANAL_LOG_LEVEL": "INFO",
        }
        wa.webhook_url = f"http://127.0.0.1:{port}/webhooks/whatsapp"
        citizens = [f"62812000{i:05d}" for i in range(N)]

        first = await _start(["-c", STALLED_TURNS], env, tmp_path, "bot-0.log")
        try:
            await _serving(port, first, tmp_path / "bot-0.log")
            wamids = await asyncio.gather(*(wa.push_text(c, "/start", name=f"Warga {c[-3:]}") for c in citizens))
        finally:
            first.send_signal(signal.SIGKILL)  # at once: every message was acknowledged, none answered
            await first.wait()
        assert first.returncode == -signal.SIGKILL
        assert len(set(wamids)) == N and wa.webhook_responses == [200] * N
        inbound, inbox, _ = await _counts(db_url)
        assert not inbound and inbox == N  # nothing handled, everything stored

        second = await _start(["-m", "bot"], env, tmp_path, "bot-1.log")
        try:
            await _serving(port, second, tmp_path / "bot-1.log")
            for c in citizens:
                await wa.wait_for_sent(1, to=c, timeout=60)
            await wa.push_text(citizens[0], "/bantuan")  # proves the process is past the recovered ones
            await wa.wait_for_sent(2, to=citizens[0], timeout=30)
            await asyncio.sleep(0.5)
            # Meta's redelivery of an acknowledged message (it does, after a timeout on its side)
            await wa.push_text(citizens[1], "/start", wamid=wamids[1])
            await asyncio.sleep(0.5)
        finally:
            second.send_signal(signal.SIGTERM)
            await asyncio.wait_for(second.wait(), timeout=30)
        log = (tmp_path / "bot-1.log").read_text(errors="replace")
        assert second.returncode == 0, log[-3000:]
        assert f"whatsapp: {N} webhook bodies left by the last run handled from the inbox" in log

    inbound, inbox, unsent = await _counts(db_url)
    assert set(wamids) <= set(inbound) and max(inbound.values()) == 1  # each stored once
    assert inbox == 0 and unsent == 0  # no raw body outlives its processing; every answer went out
    consent = [m for c in citizens for m in wa.sent(to=c) if "UU No. 27/2022" in str(m)]
    assert Counter(m["to"] for m in consent) == Counter(citizens)  # each answered exactly once


# ---- SMS: the same durable intake, through the Android gateway's signed webhooks ----------------
SMS_KEY = "intake-sms-signing-key-5Hq"
SMS_N = 200


async def test_sms_acknowledged_then_killed_are_all_answered_once_after_restart(db_url, tmp_path):
    """200 SMS from 200 people, each answered 200 by a bot whose turns cannot run, then kill -9:
    the next process answers every one of them once, from the inbox; a redelivery is not answered."""
    port = free_port()
    async with FakeSmsGateway(signing_key=SMS_KEY, password="intake-sms-password", retries=0) as gw:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("KANAL_")},
            "KANAL_DATABASE_URL": db_url,
            "KANAL_SMS_TRANSPORT": "android",
            "KANAL_SMS_WEBHOOK_SECRET": SMS_KEY,
            "KANAL_SMS_GATEWAY_URL": gw.base_url,
            "KANAL_SMS_GATEWAY_PASSWORD": "intake-sms-password",
            "KANAL_SMS_RATE": "0",
            "KANAL_HTTP_PORT": str(port),
            "KANAL_WEBCHAT": "false",
            "KANAL_SCHEDULER": "false",
            "KANAL_LOG_LEVEL": "INFO",
        }
        gw.webhook_url = f"http://127.0.0.1:{port}/webhooks/sms"
        phones = [f"0812{i:08d}" for i in range(SMS_N)]

        first = await _start(["-c", STALLED_TURNS], env, tmp_path, "bot-0.log")
        try:
            await _serving(port, first, tmp_path / "bot-0.log")
            statuses = [await gw.receive(p, "Halo") for p in phones]
        finally:
            first.send_signal(signal.SIGKILL)  # at once: every SMS was acknowledged, none answered
            await first.wait()
        assert first.returncode == -signal.SIGKILL
        assert statuses == [200] * SMS_N
        inbound, inbox, _ = await _counts(db_url)
        assert not inbound and inbox == SMS_N  # nothing handled, everything stored

        second = await _start(["-m", "bot"], env, tmp_path, "bot-1.log")
        try:
            await _serving(port, second, tmp_path / "bot-1.log")
            await gw.wait_for_sent(SMS_N, timeout=120)
            event_id = gw.webhook_attempts[1][0]
            assert await gw.redeliver(event_id) == 200  # the gateway sends an acknowledged one again
            await asyncio.sleep(1.0)
        finally:
            second.send_signal(signal.SIGTERM)
            await asyncio.wait_for(second.wait(), timeout=30)
        log = (tmp_path / "bot-1.log").read_text(errors="replace")
        assert second.returncode == 0, log[-3000:]
        assert f"sms: {SMS_N} webhook bodies left by the last run handled from the inbox" in log

    inbound, inbox, unsent = await _counts(db_url)
    assert len(inbound) == SMS_N and max(inbound.values()) == 1  # each stored once
    assert inbox == 0 and unsent == 0
    consent = [m for m in gw.sent if "persetujuan" in m.text]
    assert sorted(m.to for m in consent) == sorted("+62" + p[1:] for p in phones)  # each answered exactly once


# ---- Telegram: update ids that start again ------------------------------------------------------
TG_TOKEN = "777001:INTAKE-test-token"
SECOND_BOT = "777002:INTAKE-second-bot"


def _telegram_settings(settings: Settings, token: str, tg: FakeTelegramServer) -> Settings:
    values = {
        **settings.__dict__,
        "telegram_token": token,
        "telegram_base_url": tg.base_url,
        "telegram_global_rate": 0.0,
        "telegram_chat_rate": 0.0,
        "webchat_enabled": False,
    }
    return Settings(**values)


async def _answered(tg: FakeTelegramServer, chats: list[int], texts: list[str], app: KanalApp) -> dict[int, int]:
    """Each chat sends ``texts`` one after the other (each answered before the next); the number
    of messages each chat received."""
    for text in texts:
        before = {c: len(tg.sent(c)) for c in chats}
        for c in chats:
            tg.push_message(c, text, first_name=f"Warga{c}", language_code="id")
        for c in chats:
            await tg.wait_for_sent(before[c] + 1, chat_id=c, timeout=30)
    await app.outbox.drain()
    return {c: len(tg.sent(c)) for c in chats}


async def test_telegram_update_ids_starting_again_never_eat_new_messages(settings, db, clock):
    chats = [91001, 91002, 91003]
    async with FakeTelegramServer(token=TG_TOKEN) as tg:
        app = KanalApp(_telegram_settings(settings, TG_TOKEN, tg), clock=clock)
        await app.start()
        try:
            await _answered(tg, chats, ["/start", "/bantuan", "/menu"], app)
        finally:
            await app.stop()
        tg.restart_update_ids(1)  # a quiet week: the next update id starts again; message ids go on
        app = KanalApp(_telegram_settings(settings, TG_TOKEN, tg), clock=clock)
        await app.start()
        try:
            before = {c: len(tg.sent(c)) for c in chats}
            pushed = [tg.push_message(c, "/bantuan", first_name=f"Warga{c}")["update_id"] for c in chats]
            assert pushed == [1, 2, 3]  # ids the first run used already
            for c in chats:
                await tg.wait_for_sent(before[c] + 1, chat_id=c, timeout=30)
        finally:
            await app.stop()

    # a second bot on the same database: its update ids and message ids start at 1 as well
    async with FakeTelegramServer(token=SECOND_BOT) as tg2:
        app = KanalApp(_telegram_settings(settings, SECOND_BOT, tg2), clock=clock)
        await app.start()
        try:
            sent = await _answered(tg2, chats, ["/start", "/bantuan"], app)
        finally:
            await app.stop()
        assert all(n >= 2 for n in sent.values())
    async with db.unit_of_work() as uow:
        keys = (await uow.session.execute(select(InboundMessage.external_id))).scalars().all()
    assert len(keys) == len(set(keys)) == len(chats) * (3 + 1 + 2)
    assert all(k.startswith(("m777001:", "m777002:")) for k in keys)
