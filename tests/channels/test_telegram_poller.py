"""Issue 23: one long-poller for the whole deployment (Telegram answers a second getUpdates client
with 409 Conflict). Two apps on one PostgreSQL and one fake Bot API server: one polls, the other
stands by and says so in /healthz; every message is answered once; when the poller stops, the other
takes over and answers the next message."""

from __future__ import annotations

import asyncio
import time
from contextlib import asynccontextmanager

import aiohttp
import pytest
from sqlalchemy import text

from bot.app import KanalApp
from bot.settings import Settings
from scheduler.leader import TELEGRAM_POLL_LOCK_KEY
from testkit.fakes.telegram_api import FakeTelegramServer
from testkit.tg_chat import TOKEN
from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(
    not PG_URL, reason="the election is a PostgreSQL advisory lock: set KANAL_TEST_DATABASE_URL"
)


def telegram_settings(settings: Settings, tg: FakeTelegramServer) -> Settings:
    return Settings(
        **{
            **settings.__dict__,
            "telegram_token": TOKEN,
            "telegram_base_url": tg.base_url,
            "telegram_global_rate": 0.0,
            "telegram_chat_rate": 0.0,
        }
    )


async def health(app: KanalApp) -> dict:
    async with aiohttp.ClientSession() as s, s.get(f"http://127.0.0.1:{app.port}/healthz") as resp:
        return await resp.json()


def conflicts(tg: FakeTelegramServer) -> int:
    return sum(1 for e in tg.errors if e.status == 409)


@asynccontextmanager
async def two_instances(settings):
    """Two apps long-polling one fake server from one database, checking the lock every 0.5 s
    (the default: every 15 s, waiting up to 15 s for an answer)."""
    async with FakeTelegramServer(token=TOKEN) as tg:
        s = telegram_settings(settings, tg)
        a, b = KanalApp(s), KanalApp(s)
        for app in (a, b):
            app.telegram.election.interval, app.telegram.election.timeout = 0.5, 1.0
        await a.start()
        await b.start()
        try:
            yield tg, a, b
        finally:
            await b.stop()
            await a.stop()


async def until_receiving(apps: list[KanalApp], want: list[str], why: str) -> None:
    t0 = time.monotonic()
    while [(await health(x))["telegram"] for x in apps] != want:
        assert time.monotonic() - t0 < 5, why
        await asyncio.sleep(0.1)


async def answered_once(tg: FakeTelegramServer, chat: int) -> None:
    tg.push_message(chat, "/start")
    await tg.wait_for_sent(1, chat_id=chat)
    await asyncio.sleep(1.0)  # nothing else turns up
    assert len(tg.sent(chat)) == 1 and conflicts(tg) == 0


async def test_one_instance_polls_and_the_other_takes_over(settings):
    async with two_instances(settings) as (tg, a, b):
        assert (await health(a))["telegram"] == "polling"
        assert (await health(b))["telegram"] == "standby"
        await answered_once(tg, 5001)

        await a.stop()  # the poller goes: it stops polling, then lets the lock go
        await until_receiving([b], ["polling"], "the standby instance did not take over")
        await answered_once(tg, 5002)


async def test_a_poller_whose_session_dies_stops_and_the_other_takes_over(settings):
    """As after kill -9 of the poller's database session: the lock goes with the session, the old
    poller notices at its next check and stops, the standby one takes over; no 409 on the way."""
    async with two_instances(settings) as (tg, a, b):
        assert (await health(a))["telegram"] == "polling"
        async with a.db.engine.connect() as conn:
            killed = await conn.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE locktype = 'advisory'"
                    " AND granted AND objid = :lo AND classid = :hi"
                    # advisory locks belong to a database: another test run's may be on the server
                    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                ),
                {"lo": TELEGRAM_POLL_LOCK_KEY & 0xFFFFFFFF, "hi": TELEGRAM_POLL_LOCK_KEY >> 32},
            )
        assert killed == 1
        await until_receiving([a, b], ["standby", "polling"], "no takeover after the poller's session died")
        await answered_once(tg, 5003)
