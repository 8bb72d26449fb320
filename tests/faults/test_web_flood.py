"""Issue 17: a web chat flood from one client, through the real aiohttp server and database.

One client (one address behind the trusted reverse proxy) asks for identities, sends turns and
files complaints as fast as it can; it gets exactly the configured number of each, a clear answer
(HTTP 429 with ``Retry-After``, an error frame, the daily-limit message) for the rest, and nothing
more in the database; another citizen behind another address is answered all along.
"""

from __future__ import annotations

import asyncio
import json
import logging

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.settings import Settings
from storage.models import Complaint, User

ROAD = "Jalan rusak parah di depan SDN 2 Sukamaju, lubangnya dalam sekali dan sudah ada motor jatuh kemarin sore."
FLOODER, CITIZEN = "203.0.113.9", "198.51.100.7"
IDENTITIES, TURNS, COMPLAINTS = 3, 15, 1


@pytest.fixture
async def app(settings):
    from bot.app import KanalApp

    limited = Settings(
        **{
            **settings.__dict__,
            "trusted_proxies": ("127.0.0.1",),  # the test plays the reverse proxy
            "web_identities_per_address": IDENTITIES,
            "web_turns_per_identity": TURNS,
            "complaints_per_day": COMPLAINTS,
        }
    )
    application = KanalApp(limited)
    await application.start()
    yield application
    await application.stop()


class Client:
    """A browser behind the proxy at ``address``."""

    def __init__(self, base: str, address: str) -> None:
        self.base = base
        self.http = aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True), headers={"X-Forwarded-For": f"{address}, 127.0.0.1"}
        )
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.frames: list[dict] = []
        self.n = 0

    async def connect(self) -> None:
        async with self.http.post(self.base + "/session") as resp:
            assert resp.status == 204
        self.ws = await self.http.ws_connect(self.base + "/ws")
        await self.ws.send_json({"type": "hello", "start": None, "last_seen": 0})

    async def send(self, kind: str, value: str) -> str:
        self.n += 1
        frame_id = f"f{self.n}"
        key = "text" if kind == "text" else "value"
        await self.ws.send_json({"type": kind, "id": frame_id, key: value, "label": value})
        return frame_id

    async def answer(self, frame_id: str) -> dict:
        """The ack or error for ``frame_id``, once the replies it caused are in."""
        while True:
            frame = await self.next()
            if frame["type"] in ("ack", "error") and frame.get("id") == frame_id:
                return frame

    async def next(self, timeout: float = 10.0) -> dict:
        msg = await asyncio.wait_for(self.ws.receive(), timeout)
        assert msg.type == aiohttp.WSMsgType.TEXT, msg
        frame = json.loads(msg.data)
        self.frames.append(frame)
        return frame

    async def message(self, needle: str) -> dict:
        for frame in self.frames:
            if frame["type"] == "message" and needle in frame["text"]:
                return frame
        while True:
            frame = await self.next()
            if frame["type"] == "message" and needle in frame["text"]:
                return frame

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        await self.http.close()


async def test_one_client_flooding_is_capped_while_another_citizen_is_answered(app, caplog):
    caplog.set_level(logging.WARNING)
    base = f"http://127.0.0.1:{app.port}"
    flooder, citizen = Client(base, FLOODER), Client(base, CITIZEN)
    try:
        # identities: 20 at once from one address → exactly the limit, the rest 429 + Retry-After
        async def ask() -> tuple[int, str | None, str]:
            async with (
                aiohttp.ClientSession(headers={"X-Forwarded-For": FLOODER}) as s,
                s.post(base + "/session") as resp,
            ):
                return resp.status, resp.headers.get("Retry-After"), await resp.text()

        answers = await asyncio.gather(*(ask() for _ in range(20)))
        assert sorted(status for status, _, _ in answers) == [204] * IDENTITIES + [429] * (20 - IDENTITIES)
        for status, retry_after, text in answers:
            if status == 429:
                assert int(retry_after) > 0 and "Terlalu banyak permintaan" in text and "Too many" in text
        async with flooder.http.post(base + "/session") as resp:  # the limit is per address, not per cookie jar
            assert resp.status == 429

        # the other citizen, at another address, is let in and answered
        await citizen.connect()
        await citizen.message("UU No. 27/2022")

        # complaints: the flooder (an identity from an earlier hour) files one, the next is refused
        flooder.http.headers["X-Forwarded-For"] = "203.0.113.10"  # a fresh address for its identity
        await flooder.connect()
        await flooder.message("UU No. 27/2022")
        await flooder.answer(await flooder.send("choice", "consent:yes"))
        await flooder.answer(await flooder.send("text", "/lapor " + ROAD))
        for step in ("lapor:next", "lapor:skip", "lapor:privacy:anonim", "lapor:send"):
            assert (await flooder.answer(await flooder.send("choice", step)))["type"] == "ack"
        await flooder.message("Laporan terkirim")
        assert (await flooder.answer(await flooder.send("text", "/lapor " + ROAD)))["type"] == "ack"
        refused = await flooder.message("batas harian")
        assert "besok" in refused["text"]
        used = 8  # hello, consent, /lapor, four steps, the refused /lapor

        # turns: 30 more at once → only what is left of the per-identity limit is taken
        ids = [await flooder.send("text", f"halo {i}") for i in range(30)]
        results = [await flooder.answer(i) for i in ids]
        acks = [r for r in results if r["type"] == "ack"]
        errors = [r for r in results if r["type"] == "error"]
        assert len(acks) == TURNS - used and len(errors) == 30 - len(acks)
        assert all(e["retry_after"] > 0 and "Terlalu banyak" in e["text"] for e in errors)

        # ... while the other citizen's turns are still answered
        await citizen.answer(await citizen.send("choice", "consent:yes"))
        menu = await citizen.message("Terima kasih")
        assert menu["text"]
        for i in range(5):
            assert (await citizen.answer(await citizen.send("text", f"apa kabar {i}")))["type"] == "ack"

        async with app.db.unit_of_work() as uow:
            people = (await uow.session.execute(select(func.count()).where(User.channel == "web"))).scalar_one()
            complaints = (await uow.session.execute(select(func.count()).select_from(Complaint))).scalar_one()
        assert people == 2  # identities issued but never used leave nothing behind
        assert complaints == COMPLAINTS
        # one log line per flooding address and minute, not one per refused request
        refusals = [r.getMessage() for r in caplog.records if "web chat: too many" in r.getMessage()]
        assert len(refusals) == 2 and FLOODER in refusals[0]
    finally:
        await flooder.close()
        await citizen.close()
