"""A real process killed between commit and delivery: after a restart the reply goes out exactly once,
and Telegram's redelivery of the same update (its offset was never confirmed) has no second effect."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys

import pytest

from .fakes.telegram_api import FakeTelegramServer

TOKEN = "654321:CRASH-test-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def start_bot(env: dict[str, str], cwd) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", env=env, cwd=str(cwd),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )


async def test_crash_between_commit_and_delivery(db_url, tmp_path):
    async with FakeTelegramServer(token=TOKEN, rate_limits=False) as tg:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("KANAL_")},
            "KANAL_DATABASE_URL": db_url, "KANAL_TELEGRAM_TOKEN": TOKEN, "KANAL_TELEGRAM_BASE_URL": tg.base_url,
            "KANAL_HTTP_PORT": str(free_port()), "KANAL_WEBCHAT": "false",
            "KANAL_LOG_LEVEL": "DEBUG",  # PTB logs its token-bearing base URL at DEBUG: must come out redacted
        }
        tg.push_message(4242, "/start")

        crashing = await start_bot({**env, "KANAL_FAILPOINT": "after-commit"}, tmp_path)
        out, _ = await asyncio.wait_for(crashing.communicate(), timeout=60)
        assert crashing.returncode == 137, out.decode(errors="replace")[-2000:]
        assert tg.sent(chat_id=4242) == []  # committed, not delivered

        bot = await start_bot(env, tmp_path)
        try:
            sent = await tg.wait_for_sent(1, chat_id=4242, timeout=30)
            assert "UU No. 27/2022" in sent[0]["visible_text"]
            tg.push_message(4242, "/bantuan")  # proves the process has consumed the redelivered update
            await tg.wait_for_sent(2, chat_id=4242, timeout=10)
            await asyncio.sleep(0.5)
            assert len(tg.sent(chat_id=4242)) == 2
        finally:
            bot.send_signal(signal.SIGTERM)
            out, _ = await asyncio.wait_for(bot.communicate(), timeout=30)
        assert bot.returncode == 0, out.decode(errors="replace")[-2000:]
        log = out.decode(errors="replace")
        assert TOKEN not in log and "[REDACTED]" in log  # the filter did meet the token, and removed it
