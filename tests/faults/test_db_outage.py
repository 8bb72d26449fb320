"""PostgreSQL goes away mid-load and comes back: the running bot recovers by itself and loses nothing.

A real ``python -m bot run`` process long-polls the fake Bot API server; its database URL points at
a TCP proxy (``tests/fakes/tcp_proxy.py``) in front of the real PostgreSQL. The real server is never
stopped (others share it): during the outage the proxy resets every open connection and refuses
new ones, afterwards it forwards again. Several chats write before, during and after the outage —
some fire commands without waiting (each names a unique number the reply echoes), some walk through
the complaint flow step by step as a person would. Afterwards, counted at the fake server and in
the database: every update was stored exactly once, got exactly one reply, every filed complaint
exists exactly once, nothing was answered with the "try again" apology, and the process never
exited. The CI variant has a ~3 s outage; the long one (``--run-slow``) 10 s.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from storage import Database
from storage.models import AuditEvent, Complaint, InboundMessage, OutboxMessage, User
from testkit.fakes.tcp_proxy import TcpProxy
from testkit.fakes.telegram_api import FakeTelegramServer
from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL: set KANAL_TEST_DATABASE_URL")

TOKEN = "777001:OUTAGE-test-token"
NUMBER_RE = re.compile(r"ADU-2026-9\d{5}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Load:
    """What the test pushed, by chat."""

    fired: dict[int, list[str]] = field(default_factory=dict)  # chatty chat -> numbers asked for
    filed: dict[int, list[str]] = field(default_factory=dict)  # talker chat -> complaint texts submitted
    pushes: int = 0
    pushed_during_outage: int = 0


async def wait_for_new(tg: FakeTelegramServer, chat: int, have: int, timeout: float) -> list[dict]:
    """Wait for the chat's next message(s); then a short quiet so a multi-message reply is whole."""
    await tg.wait_for_sent(have + 1, chat_id=chat, timeout=timeout)
    while True:
        n = len(tg.sent(chat_id=chat))
        await asyncio.sleep(0.15)
        if len(tg.sent(chat_id=chat)) == n:
            return tg.sent(chat_id=chat)[have:]


async def chatty(
    tg: FakeTelegramServer, chat: int, load: Load, stop: asyncio.Event, proxy: TcpProxy, base: int
) -> None:
    """Fire ``/status <unique number>`` every 0.15 s without waiting for the answers."""
    numbers = load.fired.setdefault(chat, [])
    while not stop.is_set():
        number = f"ADU-2026-9{base + len(numbers):05d}"
        numbers.append(number)
        tg.push_message(chat, f"/status {number}")
        load.pushes += 1
        load.pushed_during_outage += proxy.down
        await asyncio.sleep(0.15)


async def talker(
    tg: FakeTelegramServer, chat: int, load: Load, stop: asyncio.Event, proxy: TcpProxy, reply_timeout: float
) -> None:
    """File complaints step by step, each step only after the bot answered the previous one."""
    texts = load.filed.setdefault(chat, [])
    while not stop.is_set():
        text = f"Lampu jalan di gang {chat} nomor {len(texts) + 1} mati sejak minggu lalu, mohon diperbaiki"
        steps = [f"/lapor {text}", "lanjut", "lewati", "1", "kirim"]
        for step in steps:
            have = len(tg.sent(chat_id=chat))
            tg.push_message(chat, step)
            load.pushes += 1
            load.pushed_during_outage += proxy.down
            await wait_for_new(tg, chat, have, reply_timeout)
        texts.append(text)


async def run_outage(
    db_url: str,
    tmp_path: Path,
    *,
    outage: float,
    before: float = 1.5,
    after: float = 1.5,
    chatty_chats: int = 3,
    talker_chats: int = 2,
) -> None:
    url = make_url(db_url)
    async with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy, FakeTelegramServer(token=TOKEN) as tg:
        proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("KANAL_")},
            "KANAL_DATABASE_URL": proxied,
            "KANAL_TELEGRAM_TOKEN": TOKEN,
            "KANAL_TELEGRAM_BASE_URL": tg.base_url,
            "KANAL_TELEGRAM_GLOBAL_RATE": "0",
            "KANAL_TELEGRAM_CHAT_RATE": "0",
            "KANAL_HTTP_PORT": str(free_port()),
            "KANAL_WEBCHAT": "false",
            # many people report the same street lamp here on purpose: no "laporan serupa" offer
            "KANAL_SIMILAR_COMPLAINTS": "false",
            "KANAL_SCHEDULER": "false",
            "KANAL_LOG_LEVEL": "INFO",
        }
        log_path = tmp_path / "bot.log"
        with open(log_path, "wb") as log_file:
            bot = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "run",
                env=env,
                cwd=str(tmp_path),
                stdout=log_file,
                stderr=asyncio.subprocess.STDOUT,
            )
        try:
            chats = [610_000 + i for i in range(chatty_chats + talker_chats)]
            for chat in chats:  # consent first: every later message is a plain turn
                tg.push_message(chat, "/start")
            for chat in chats:
                await tg.wait_for_sent(1, chat_id=chat, timeout=60)
                tg.push_callback(chat, "consent:yes")
            for chat in chats:
                await tg.wait_for_sent(3, chat_id=chat, timeout=20)
            await asyncio.sleep(0.3)
            start_counts = {chat: len(tg.sent(chat_id=chat)) for chat in chats}
            connections_before = proxy.connections

            load, stop = Load(), asyncio.Event()
            reply_timeout = outage + 60
            workers = [
                asyncio.create_task(chatty(tg, chat, load, stop, proxy, base=i * 10_000))
                for i, chat in enumerate(chats[:chatty_chats])
            ]
            workers += [
                asyncio.create_task(talker(tg, chat, load, stop, proxy, reply_timeout)) for chat in chats[chatty_chats:]
            ]
            await asyncio.sleep(before)
            await proxy.outage()
            await asyncio.sleep(outage)
            assert bot.returncode is None, "the bot exited during the outage"
            await proxy.restore()
            came_back = time.monotonic()
            await asyncio.sleep(after)
            stop.set()
            await asyncio.wait_for(asyncio.gather(*workers), timeout=reply_timeout + 30)

            # every chatty update answered (talkers waited for theirs already)
            for chat, numbers in load.fired.items():
                await tg.wait_for_sent(start_counts[chat] + len(numbers), chat_id=chat, timeout=reply_timeout)
            await asyncio.sleep(1.0)  # anything extra (a duplicate) would show up now
            assert bot.returncode is None, "the bot process exited"

            # ---- the outage was real and felt -------------------------------------------------
            assert proxy.dropped >= 1, "no pooled connection was open when the database went away"
            assert proxy.connections > connections_before, "the bot never reconnected"
            assert load.pushed_during_outage >= chatty_chats
            late = [m for chat in chats for m in tg.sent(chat_id=chat) if m["time"] > came_back]
            assert late, "nothing waited for the database to come back"

            # ---- exactly one reply per update, at the fake server -----------------------------
            for chat, numbers in load.fired.items():
                replies = tg.sent(chat_id=chat)[start_counts[chat] :]
                # each reply names its number (the "not found" line and its PIN hint: twice, one reply)
                echoed = [n for m in replies for n in set(NUMBER_RE.findall(m["visible_text"]))]
                assert len(replies) == len(numbers), (chat, len(replies), len(numbers))
                assert sorted(echoed) == sorted(numbers), f"chat {chat}: missing or doubled answers"
            for chat, texts in load.filed.items():
                replies = tg.sent(chat_id=chat)[start_counts[chat] :]
                assert len(replies) == 5 * len(texts), (chat, [m["visible_text"][:60] for m in replies])
                assert len([m for m in replies if re.search(r"ADU-2026-\d{5}", m["visible_text"])]) == len(texts)
        finally:
            if bot.returncode is None:
                bot.send_signal(signal.SIGTERM)
            await asyncio.wait_for(bot.wait(), timeout=30)
        log = log_path.read_text(errors="replace")
        assert bot.returncode == 0, log[-3000:]
        assert "not stored" in log or "database unavailable" in log, "the bot never noticed the outage"
        assert "Traceback" not in log, log[-5000:]

    # ---- exactly one effect per update, in the database ------------------------------------
    db = Database(db_url)
    try:
        async with db.unit_of_work() as uow:
            s = uow.session
            inbound = (await s.execute(select(func.count()).select_from(InboundMessage))).scalar_one()
            statuses = (
                await s.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
            ).all()
            failed_turns = (
                await s.execute(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "turn_failed"))
            ).scalar_one()
            filed = (
                await s.execute(
                    select(User.external_id, Complaint.text).join(User, User.id == Complaint.citizen_user_id)
                )
            ).all()
    finally:
        await db.dispose()
    chats_total = chatty_chats + talker_chats
    assert inbound == 2 * chats_total + load.pushes  # /start + consent per chat, then every push once
    sent_total = sum(len(tg.sent(chat_id=c)) for c in chats)
    assert dict(statuses) == {"sent": sent_total}, statuses
    assert failed_turns == 0  # no update was "handled" by apologising
    by_chat: dict[int, list[str]] = {}
    for external_id, text in filed:
        by_chat.setdefault(int(external_id), []).append(text)
    assert {c: sorted(t) for c, t in by_chat.items()} == {c: sorted(t) for c, t in load.filed.items() if t}


async def test_bot_survives_short_database_outage(db_url, tmp_path):
    await run_outage(db_url, tmp_path, outage=3.0)


@pytest.mark.slow
async def test_bot_survives_ten_second_database_outage(db_url, tmp_path):
    await run_outage(db_url, tmp_path, outage=10.0, before=3.0, after=3.0, chatty_chats=4, talker_chats=3)
