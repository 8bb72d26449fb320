"""A person on a feature phone, for tests: they text the bot through the fake SMS gateway
(``tests/fakes/sms_gateway.py``) and read the SMS it sends back; every action returns the texts
the bot sent for it, and :attr:`SmsPerson.turns` keeps what each turn cost in segments."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.channels.sms.sms_parse import normalise_number
from bot.channels.sms.sms_text import segments


class SmsPerson:
    def __init__(self, gateway: Any, app: Any, phone: str) -> None:
        self.gw, self.app, self.phone = gateway, app, phone
        self.seen = 0
        self.turns: list[tuple[str, list[str], int]] = []  # (what they typed, the answers, segments)

    def _mine(self) -> list[Any]:
        number = normalise_number(self.phone)
        return [m for m in self.gw.sent if normalise_number(m.to) == number]

    def new(self) -> list[str]:
        sent = self._mine()
        fresh, self.seen = sent[self.seen :], len(sent)
        return [m.text for m in fresh]

    async def settle(self, window: float = 0.15) -> None:
        last = -1
        for _ in range(200):
            await self.app.channels["sms"].idle()
            await self.app.outbox.drain()
            now = len(self.gw.sent)
            if now == last:
                return
            last = now
            await asyncio.sleep(window)
        raise AssertionError("SMS traffic did not settle")

    async def later(self) -> list[str]:
        """What reached the person without their writing (notifications from others' turns)."""
        await self.settle()
        return self.new()

    async def send(self, text: str, *, expect_answer: bool = True) -> list[str]:
        status = await self.gw.receive(self.phone, text)
        assert status == 200, f"the webhook answered {status}"
        await self.settle()
        out = self.new()
        if expect_answer:
            assert out, f"no answer to {text!r}"
        self.turns.append((text, out, sum(segments(t) for t in out)))
        return out

    def over_budget(self, budget: int = 2) -> list[tuple[str, list[str], int]]:
        return [t for t in self.turns if t[2] > budget]
