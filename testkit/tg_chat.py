"""Drive whole conversations through the Telegram channel: a person in a chat sends or presses
something and gets back everything the bot sent them for it (the turn is over when the bot has
been quiet for a moment and the outbox is empty)."""

from __future__ import annotations

import asyncio
import json
import re
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from bot.app import KanalApp
from bot.services.invites import new_invite_code
from bot.settings import Settings
from storage import Repo
from testkit.fakes.telegram_api import FakeTelegramServer

TOKEN = "123456:FLOW-token-value-xyz"


def buttons(message: dict) -> list[str]:
    markup = message.get("reply_markup") or {}
    if isinstance(markup, str):
        markup = json.loads(markup)
    return [b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row]


def labels(message: dict) -> dict[str, str]:
    markup = message.get("reply_markup") or {}
    if isinstance(markup, str):
        markup = json.loads(markup)
    return {b["text"]: b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row}


def text_of(messages: list[dict]) -> str:
    return "\n---\n".join(m.get("visible_text") or m.get("caption") or "" for m in messages)


NUMBER_RE = re.compile(r"ADU-\d{4}-\d{5,}")


class Chat:
    def __init__(
        self, tg: FakeTelegramServer, app: KanalApp, chat_id: int, name: str, username: str | None = None
    ) -> None:
        self.tg, self.app, self.id, self.name, self.username = tg, app, chat_id, name, username
        self.seen = 0

    def _profile(self) -> dict[str, Any]:
        return {"first_name": self.name, "username": self.username, "language_code": "id"}

    async def send(self, text: str) -> list[dict]:
        self.tg.push_message(self.id, text, **self._profile())
        return await self.settle()

    async def press(self, value: str) -> list[dict]:
        self.tg.push_callback(self.id, value, **self._profile())
        return await self.settle()

    async def photo(self, caption: str | None = None) -> list[dict]:
        self.tg.push_photo(self.id, caption=caption, first_name=self.name, username=self.username)
        return await self.settle()

    async def voice(self, duration: int = 3) -> tuple[str, list[dict]]:
        """Send a voice note; its file id and what the bot answered."""
        update = self.tg.push_voice(self.id, duration=duration, first_name=self.name, username=self.username)
        return update["message"]["voice"]["file_id"], await self.settle()

    async def audio(self, duration: int = 95) -> tuple[str, list[dict]]:
        """Send an audio file (an mp3); its file id and what the bot answered."""
        update = self.tg.push_audio(self.id, duration=duration, first_name=self.name, username=self.username)
        return update["message"]["audio"]["file_id"], await self.settle()

    async def location(self, lat: float, lon: float) -> list[dict]:
        self.tg.push_location(self.id, lat, lon)
        return await self.settle()

    async def settle(self, expect_new: bool = True, timeout: float = 10.0) -> list[dict]:
        if expect_new:
            await self.tg.wait_for_sent(self.seen + 1, chat_id=self.id, timeout=timeout)
        await quiet(self.tg, self.app)
        return self.new()

    def new(self) -> list[dict]:
        """Messages this chat received since last asked (e.g. notifications from others' turns)."""
        sent = self.tg.sent(self.id)
        fresh = sent[self.seen :]
        self.seen = len(sent)
        return fresh

    async def consent(self) -> None:
        await self.send("/start")
        await self.press("consent:yes")


async def quiet(tg: FakeTelegramServer, app: KanalApp, window: float = 0.15) -> None:
    """Wait until nothing is pending: no queued updates, empty outbox, no new messages for ``window``."""
    last = -1
    for _ in range(200):
        await app.outbox.drain()
        now = len(tg.sent())
        if now == last and not tg.pending_updates:
            return
        last = now
        await asyncio.sleep(window)


async def invite_code(app: KanalApp, role: str, opd: str | None = None) -> str:
    code = new_invite_code()
    async with app.db.unit_of_work() as uow:
        Repo(uow.session).create_invite(
            code=code, role=role, opd_code=opd, now=app.clock.now(), valid_for=timedelta(days=1)
        )
        await uow.commit()
    return code


@asynccontextmanager
async def running(settings: Settings, **app_kw):
    """A KanalApp on Telegram (fake server without rate limits) plus the server."""
    async with FakeTelegramServer(token=TOKEN) as tg:
        s = Settings(
            **{
                **settings.__dict__,
                "telegram_token": TOKEN,
                "telegram_base_url": tg.base_url,
                "telegram_global_rate": 0.0,
                "telegram_chat_rate": 0.0,
            }
        )
        app = KanalApp(s, **app_kw)
        await app.start()
        try:
            yield tg, app
        finally:
            await app.stop()


async def person(
    tg, app, chat_id: int, name: str, *, role: str | None = None, opd: str | None = None, username: str | None = None
) -> Chat:
    chat = Chat(tg, app, chat_id, name, username)
    await chat.consent()
    if role:
        code = await invite_code(app, role, opd)
        await chat.send(f"/gabung {code}")
    chat.new()
    return chat
