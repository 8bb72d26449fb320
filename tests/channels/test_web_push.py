"""Web Push: an officer's answer reaches a web chat reporter whose page is closed, encrypted for
their browser (RFC 8291) and signed with the app's VAPID key (RFC 8292), through a fake push
service; the test plays the browser (it made the subscription's keys) and decrypts what arrived
with ``http_ece``, the library ``pywebpush`` encrypts with. And honesty: without an open page or a
subscription the officer is told the answer waits for the reporter's next visit."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import uuid

import aiohttp
import http_ece
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from sqlalchemy import select

from storage.models import WebPushSubscription
from testkit.fakes.push_service import FakePushService
from testkit.tg_chat import person, running, text_of

STORY = "Jalan di gang Kenanga berlubang besar sekali, motor sering jatuh kalau hujan malam hari."


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Browser:
    """A web chat page over its real protocol, with the keys a browser makes for a subscription."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        self.last_seen = 0

    async def open(self) -> list[dict]:
        async with self.http.post(self.base + "/session") as resp:
            assert resp.status == 204
        self.ws = await self.http.ws_connect(self.base + "/ws")
        await self.ws.send_json({"type": "hello", "start": None, "last_seen": self.last_seen})
        return await self.read()

    async def read(self, quiet: float = 0.4) -> list[dict]:
        frames = []
        while True:
            try:
                msg = await asyncio.wait_for(self.ws.receive(), quiet)
            except TimeoutError:
                return frames
            frame = json.loads(msg.data)
            frames.append(frame)
            if frame.get("type") == "message" and isinstance(frame.get("id"), int):
                self.last_seen = max(self.last_seen, frame["id"])

    async def say(self, text: str) -> str:
        await self.ws.send_json({"type": "text", "id": str(uuid.uuid4()), "text": text})
        return "\n".join(f.get("text") or "" for f in await self.read() if f.get("type") == "message")

    def subscription(self, endpoint: str) -> dict:
        point = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {"endpoint": endpoint, "keys": {"p256dh": b64url(point), "auth": b64url(self.auth)}}

    def decrypt(self, body: bytes) -> dict:
        return json.loads(http_ece.decrypt(body, private_key=self.key, auth_secret=self.auth, version="aes128gcm"))

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        await self.http.close()


async def file_complaint(page: Browser) -> str:
    await page.open()
    await page.say("setuju")
    for answer in ("lapor", STORY, "lanjut", "lewati", "biasa", "lewati"):
        await page.say(answer)
    said = await page.say("kirim")
    return re.search(r"ADU-\d{4}-\d{5}", said).group(0)


def verify_vapid(header: str, public_key: str, audience: str) -> dict:
    """The VAPID JWT of an ``Authorization: vapid t=…, k=…`` header, checked against the key."""
    fields = dict(part.strip().split("=", 1) for part in header.removeprefix("vapid ").split(","))
    assert fields["k"] == public_key
    head, claims, signature = fields["t"].split(".")
    point = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(public_key))
    raw = unb64url(signature)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    point.verify(der, f"{head}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))  # raises when forged
    claims = json.loads(unb64url(claims))
    assert claims["aud"] == audience and claims["sub"]
    return claims


@pytest.fixture
async def world(settings):
    async with running(settings) as (tg, app), FakePushService() as push:
        yield tg, app, push


async def test_an_answer_reaches_a_closed_page_as_an_encrypted_notification(world, db):
    tg, app, push = world
    base = f"http://127.0.0.1:{app.port}"
    async with aiohttp.ClientSession() as http:
        async with http.get(base + "/push/key") as resp:
            key = (await resp.json())["key"]
        async with http.get(base + "/sw.js") as resp:
            worker = await resp.text()
            assert resp.headers["Content-Type"].startswith("application/javascript")
            assert resp.headers["Service-Worker-Allowed"] == "/"
    assert len(unb64url(key)) == 65 and "showNotification" in worker
    officer = await person(tg, app, 1401, "Petugas PU", role="officer", opd="PUPR")
    page = Browser(base)
    number = await file_complaint(page)
    await page.ws.send_json({"type": "subscribe", "id": "s1", "subscription": page.subscription(push.endpoint("a"))})
    assert {"type": "subscribed", "id": "s1"} in await page.read()
    await page.ws.close()  # the tab is closed

    out = await officer.send(f"/balas {number} Lubang sudah kami tambal tadi siang, terima kasih laporannya.")
    assert "Jawaban terkirim ke pelapor" in text_of(out)  # a subscription: it does reach them
    (delivery,) = await push.wait_for(1)
    assert delivery.headers["Content-Encoding"] == "aes128gcm" and int(delivery.headers["TTL"]) > 3600
    verify_vapid(delivery.headers["Authorization"], key, f"http://127.0.0.1:{push.port}")
    shown = page.decrypt(delivery.body)
    assert shown["title"] == "Kanal Partisipasi" and number in shown["body"] and "Jawaban" in shown["body"]
    assert len(shown["body"]) <= 120  # the first words only; the page shows the whole answer

    push.answers["a"] = 410  # the browser dropped the subscription: it is forgotten
    await officer.send(f"/balas {number} Mohon dicek lagi nanti malam.")
    await push.wait_for(2)
    for _ in range(50):
        async with db.unit_of_work() as uow:
            left = (await uow.session.execute(select(WebPushSubscription))).scalars().all()
        if not left:
            break
        await asyncio.sleep(0.1)
    assert left == []
    await page.close()


async def test_without_a_page_or_notifications_the_officer_is_told_it_waits(world):
    tg, app, push = world
    base = f"http://127.0.0.1:{app.port}"
    officer = await person(tg, app, 1402, "Petugas PU", role="officer", opd="PUPR")
    page = Browser(base)
    number = await file_complaint(page)

    out = await officer.send(f"/balas {number} Sedang kami periksa hari ini.")  # the page is still open
    assert "Jawaban terkirim ke pelapor" in text_of(out)
    await page.read()
    await page.ws.close()
    out = await officer.send(f"/balas {number} Petugas datang besok pagi jam sembilan.")
    assert "menunggu dibuka pelapor (web chat)" in text_of(out)
    out = await officer.send(f"/selesai {number} Lubang sudah ditambal hari ini.")
    assert "menunggu dibuka pelapor (web chat)" in text_of(out) and "selesai" in text_of(out)
    frames = await page.open()  # the next visit shows it
    assert any("Petugas datang besok pagi" in (f.get("text") or "") for f in frames)
    assert any("Lubang sudah ditambal hari ini" in (f.get("text") or "") for f in frames)
    assert push.received == []
    await page.close()


async def test_bad_subscriptions_are_refused_with_a_clear_message(world):
    tg, app, push = world
    page = Browser(f"http://127.0.0.1:{app.port}")
    await page.open()
    good = page.subscription("https://push.example.org/x/1")
    for bad in (
        {"endpoint": "http://evil.example/x", "keys": good["keys"]},  # plain http off this machine
        {"endpoint": good["endpoint"], "keys": {"p256dh": "not base64!", "auth": "x"}},
        "nonsense",
    ):
        await page.ws.send_json({"type": "subscribe", "id": "b", "subscription": bad})
        (error,) = [f for f in await page.read() if f["type"] == "error"]
        assert "tidak valid" in error["text"] and "Invalid" in error["text"]
    await page.close()
