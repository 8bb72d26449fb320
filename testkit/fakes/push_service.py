"""A fake Web Push service (what FCM or Mozilla's autopush are to a browser) on 127.0.0.1.

It takes what a push service takes — ``POST /push/<id>`` with an ``aes128gcm`` body, ``TTL``,
``Urgency`` and a VAPID ``Authorization: vapid t=<JWT>, k=<key>`` header — records it and answers
201, or what a test set for that id (404/410: gone, 429 or 5xx: busy). The test plays the browser:
it made the subscription's keys, so it can decrypt what arrived (``http_ece``) and check the JWT.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Delivery:
    sub_id: str
    headers: Any  # case-insensitive, as HTTP headers are
    body: bytes


@dataclass
class FakePushService:
    received: list[Delivery] = field(default_factory=list)
    answers: dict[str, int] = field(default_factory=dict)  # sub id → status to answer
    port: int | None = None

    def endpoint(self, sub_id: str) -> str:
        return f"http://127.0.0.1:{self.port}/push/{sub_id}"

    async def _push(self, request: web.Request) -> web.Response:
        sub_id = request.match_info["sub_id"]
        self.received.append(Delivery(sub_id, request.headers.copy(), await request.read()))
        status = self.answers.get(sub_id, 201)
        return web.Response(status=status, headers={"Retry-After": "1"} if status == 429 else {})

    async def wait_for(self, n: int, timeout: float = 10.0) -> list[Delivery]:
        async with asyncio.timeout(timeout):
            while len(self.received) < n:
                await asyncio.sleep(0.05)
        return self.received

    async def __aenter__(self) -> FakePushService:
        app = web.Application()
        app.add_routes([web.post("/push/{sub_id}", self._push)])
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc) -> None:
        await self._runner.cleanup()
