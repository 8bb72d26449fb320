"""Issue 23: the web chat across two instances on one PostgreSQL (LISTEN/NOTIFY relay).

Two whole apps in this process share the test database; a page is open on A. What B's outbox
claims for that person reaches the page on A and is recorded as delivered to a page; a frame too
big for a notification travels by reference; an instance that stops answering is forgotten within
the acknowledgement timeout and the message is kept for the page's history instead."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from datetime import UTC, datetime

import aiohttp
import pytest
from sqlalchemy import select

from bot.app import KanalApp
from bot.channels.web.web_relay import ACK_TIMEOUT
from storage.models import OutboxMessage
from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(
    not PG_URL, reason="the relay is PostgreSQL's LISTEN/NOTIFY: set KANAL_TEST_DATABASE_URL"
)


@pytest.fixture
def settings(settings):
    return dataclasses.replace(settings, web_secret="relay-test-secret-23", web_turns_per_identity=0)


@pytest.fixture
async def two(settings):
    a, b = KanalApp(settings), KanalApp(settings)
    await a.start()
    await b.start()
    try:
        yield a, b
    finally:
        await b.stop()
        await a.stop()


async def open_page(app: KanalApp) -> tuple[aiohttp.ClientSession, aiohttp.ClientWebSocketResponse]:
    base = f"http://127.0.0.1:{app.port}"
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with session.post(base + "/session") as resp:
        assert resp.status == 204
    ws = await session.ws_connect(base + "/ws")
    await ws.send_json({"type": "hello", "start": None, "last_seen": 0})
    return session, ws


async def frames_until(ws, predicate, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        msg = await asyncio.wait_for(ws.receive(), max(0.01, deadline - time.monotonic()))
        frame = json.loads(msg.data)
        if predicate(frame):
            return frame


async def person_on(app: KanalApp) -> str:
    for _ in range(100):
        if app.webchat._sockets:
            return next(iter(app.webchat._sockets))
        await asyncio.sleep(0.02)
    raise AssertionError("no page connected")


async def until_known(app: KanalApp, person: str) -> None:
    for _ in range(100):
        if app.webchat.relay.open_elsewhere(person):
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the other instance never heard of the page")


async def queue(app: KanalApp, person: str, text: str) -> int:
    async with app.db.unit_of_work() as uow:
        row = OutboxMessage(
            channel="web",
            address=person,
            payload={"type": "message", "title": None, "text": text, "choices": [], "image": None, "document": None},
            purpose="notify",
            status="pending",
            next_attempt_at=datetime.now(UTC),
            created_at=datetime.now(UTC),
        )
        uow.session.add(row)
        await uow.commit()
        return row.id


async def outcome(app: KanalApp, ref: int) -> str | None:
    """What the row's delivery recorded, once it is recorded (within 5 s)."""
    for _ in range(250):
        async with app.db.unit_of_work() as uow:
            row = (await uow.session.execute(select(OutboxMessage).where(OutboxMessage.id == ref))).scalar_one()
        if row.status != "pending" and row.status != "sending":
            return row.platform_message_id
        await asyncio.sleep(0.02)
    return f"still {row.status}"


async def test_what_b_claims_reaches_the_page_on_a(two):
    a, b = two
    await a.outbox.stop()  # only B sends
    session, ws = await open_page(a)
    try:
        person = await person_on(a)
        await frames_until(ws, lambda f: f.get("type") == "message", 5)  # the welcome, sent by B
        await until_known(b, person)
        assert b._presence("web", person) is True  # staff are told the page is open (issue 12)

        for n in range(3):
            ref = await queue(b, person, f"Balasan petugas nomor {n}")
            b.outbox.wake()
            t0 = time.monotonic()
            frame = await frames_until(ws, lambda f, n=n: f"nomor {n}" in (f.get("text") or ""), 5)
            lag = time.monotonic() - t0
            assert frame["id"] == ref and lag < 1.0, lag
            assert await outcome(b, ref) == f"web:{ref}"  # delivered to a page, not just kept

        # 3,000 two-byte letters: over NOTIFY's 8,000 bytes, sent by reference and read on A
        big = "é" * 3000 + " akhir"
        ref = await queue(b, person, big)
        b.outbox.wake()
        frame = await frames_until(ws, lambda f: (f.get("text") or "").endswith("akhir"), 5)
        assert frame["text"] == big and frame["id"] == ref
        assert a.webchat.relay.stats["received"] >= 4
    finally:
        await ws.close()
        await session.close()
    for _ in range(100):  # the page closed: B hears it
        if not b.webchat.relay.open_elsewhere(person):
            break
        await asyncio.sleep(0.02)
    assert not b.webchat.relay.open_elsewhere(person)


async def test_an_instance_that_stops_answering_is_forgotten_and_the_message_kept(two):
    a, b = two
    await a.outbox.stop()
    session, ws = await open_page(a)
    try:
        person = await person_on(a)
        await until_known(b, person)
        await a.webchat.relay.bus.stop()  # as if A's process froze or died: no goodbye
        ref = await queue(b, person, "Pesan saat instance A mati")
        t0 = time.monotonic()
        b.outbox.wake()
        assert await outcome(b, ref) == f"web:kept:{ref}"
        assert time.monotonic() - t0 < ACK_TIMEOUT + 3
        assert not b.webchat.relay.open_elsewhere(person)
        assert b._presence("web", person) is False
    finally:
        await ws.close()
        await session.close()


async def test_a_rotated_identity_is_handed_over_by_any_instance(two):
    """A role change (/gabung) gives the person a new identity; the page fetches it with
    ``POST /session``, which the load balancer may send to another instance."""
    a, b = two
    session, ws = await open_page(a)
    try:
        person = await person_on(a)
        await frames_until(ws, lambda f: f.get("type") == "message", 5)  # the welcome: the person is stored
        await a.webchat._rotate(person)
        await frames_until(ws, lambda f: f.get("type") == "rotate", 5)
        for _ in range(100):
            if person in b.webchat._handoff:
                break
            await asyncio.sleep(0.02)
        async with session.post(f"http://127.0.0.1:{b.port}/session") as resp:  # at B
            assert resp.status == 204
        page = await session.ws_connect(f"http://127.0.0.1:{b.port}/ws")
        await page.send_json({"type": "hello", "start": None, "last_seen": 0})
        new = await person_on(b)
        assert new != person  # the new identity, not a new visitor's: the history moved with it
        assert new == next(k for k in b.webchat._sockets)
        await page.close()
    finally:
        await ws.close()
        await session.close()
