"""The web chat over its real HTTP + websocket protocol."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from sqlalchemy import select

from bot.channels.web.web_channel import render
from bot.domain.messages import Attachment, Reply
from storage.models import ConversationState


@pytest.fixture
def app(web_app):
    return web_app


class Page:
    """What a browser tab does: load the page, get the identity cookie, open the socket, read frames."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.seen: list[dict] = []

    async def open(self, *, start: str | None = None, last_seen: int = 0) -> None:
        async with self.session.get(self.base + "/") as resp:
            assert resp.status == 200 and "text/html" in resp.headers["Content-Type"]
        async with self.session.post(self.base + "/session") as resp:
            assert resp.status == 204
        self.ws = await self.session.ws_connect(self.base + "/ws")
        await self.ws.send_json({"type": "hello", "start": start, "last_seen": last_seen})

    async def frames(self, n: int, kind: str = "message", timeout: float = 5.0) -> list[dict]:
        got = [f for f in self.seen if f["type"] == kind]
        while len(got) < n:
            msg = await asyncio.wait_for(self.ws.receive(), timeout)
            assert msg.type == aiohttp.WSMsgType.TEXT, msg
            frame = json.loads(msg.data)
            self.seen.append(frame)
            if frame["type"] == kind:
                got.append(frame)
        return got

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        await self.session.close()


@pytest.fixture
async def page(app):
    p = Page(f"http://127.0.0.1:{app.port}")
    yield p
    await p.close()


async def test_conversation_over_websocket(page):
    await page.open()
    (consent,) = await page.frames(1)
    assert "UU No. 27/2022" in consent["text"] and consent["title"] == "Selamat datang di Kanal Partisipasi"
    assert "consent:yes" in [c["value"] for c in consent["choices"]]
    await page.ws.send_json({"type": "choice", "id": "c-1", "value": "consent:yes", "label": "Saya setuju"})
    messages = await page.frames(3)
    assert messages[1]["text"].startswith("Terima kasih") and messages[2]["title"] == "Menu utama"
    assert (await page.frames(1, "ack"))[0]["id"] == "c-1"
    await page.ws.send_json({"type": "text", "id": "t-1", "text": "<script>alert(1)</script>"})
    messages = await page.frames(4)
    assert "belum mengerti" in messages[3]["text"]


async def test_same_client_message_id_has_one_effect(page):
    await page.open()
    await page.frames(1)
    for _ in range(2):
        await page.ws.send_json({"type": "choice", "id": "dup", "value": "consent:yes", "label": "ok"})
    await page.frames(2, "ack")
    await page.frames(3)  # consent, thanks, menu
    with pytest.raises(TimeoutError):
        await page.frames(4, timeout=0.5)  # and nothing more: the second copy had no effect


async def test_reconnect_replays_only_what_was_missed(app, page):
    await page.open()
    (consent,) = await page.frames(1)
    await page.ws.send_json({"type": "choice", "id": "c-1", "value": "consent:yes", "label": "ok"})
    messages = await page.frames(3)
    await page.ws.close()
    again = Page(page.base)
    await again.session.close()
    again.session = page.session  # same browser, same cookie
    await again.open(last_seen=consent["id"])
    replay = await again.frames(3)
    # the person's own answer comes back too, in its place, with the page's id for it
    assert (replay[0]["from"], replay[0]["text"], replay[0]["cid"]) == ("user", "ok", "c-1")
    assert [f["id"] for f in replay[1:]] == [m["id"] for m in messages[1:]]
    assert (await again.frames(1, "history"))[0] == {"type": "history", "count": 3, "fresh": False}
    with pytest.raises(TimeoutError):
        await again.frames(4, timeout=0.5)  # no new /start on reconnect


async def test_bad_frames_get_clear_errors(page):
    await page.open()
    await page.frames(1)
    await page.ws.send_str("{not json")
    await page.ws.send_json({"type": "text", "id": "x", "text": "a" * 4001})
    await page.ws.send_json({"type": "teleport"})
    errors = await page.frames(3, "error")
    assert "tidak dapat dibaca" in errors[0]["text"]
    assert "terlalu panjang" in errors[1]["text"]
    assert "tidak didukung" in errors[2]["text"]


async def test_socket_needs_cookie_and_same_origin(app):
    base = f"http://127.0.0.1:{app.port}"
    async with aiohttp.ClientSession() as s, s.get(base + "/ws") as resp:
        assert resp.status == 401
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        async with s.get(base + "/") as resp:
            assert not resp.cookies  # the page alone makes no identity
        async with s.post(base + "/session") as resp:
            cookie = resp.cookies["kanal_web"]
            assert cookie["httponly"] and cookie["samesite"] == "Lax" and not cookie["secure"]
        with pytest.raises(aiohttp.WSServerHandshakeError) as err:
            await s.ws_connect(base + "/ws", headers={"Origin": "https://evil.example"})
        assert err.value.status == 403


async def test_deep_link_start_parameter_is_passed(app, page):
    await page.open(start="skm_PUPR-BM")
    (consent,) = await page.frames(1)
    assert "UU No. 27/2022" in consent["text"]
    async with app.db.unit_of_work() as uow:
        state = (await uow.session.execute(select(ConversationState))).scalar_one()
    assert state.data["start"] == "skm_PUPR-BM"


async def test_healthz(app):
    async with aiohttp.ClientSession() as s, s.get(f"http://127.0.0.1:{app.port}/healthz") as resp:
        body = await resp.json()
    assert resp.status == 200 and body["ok"] and body["database"] == "ok"


async def test_reload_shows_history_without_a_new_greeting(app, page):
    await page.open()
    await page.frames(1)
    await page.ws.send_json({"type": "choice", "id": "c-1", "value": "consent:yes", "label": "ok"})
    await page.frames(3)
    await page.ws.close()
    reloaded = Page(page.base)
    await reloaded.session.close()
    reloaded.session = page.session
    await reloaded.open(last_seen=0)  # a reload forgets what it showed
    shown = await reloaded.frames(4)  # both sides: the notice, "ok", the thanks and the menu
    assert [f.get("from", "bot") for f in shown] == ["bot", "user", "bot", "bot"]
    assert (await reloaded.frames(1, "history"))[0]["fresh"] is True
    with pytest.raises(TimeoutError):
        await reloaded.frames(5, timeout=0.5)


async def test_error_frames_name_the_message(page):
    await page.open()
    await page.frames(1)
    await page.ws.send_json({"type": "text", "id": "empty-1", "text": "   "})
    (err,) = await page.frames(1, "error")
    assert err["id"] == "empty-1" and "kosong" in err["text"]


def test_a_voice_note_is_a_line_of_text_in_the_web_chat():
    """The web chat cannot play a Telegram or WhatsApp file: it says there is one, in the reader's language."""
    note = Attachment("pesan-suara.ogg", "audio/ogg", file_ref="AwACAgUAAxkBVoice")
    (p,) = render(Reply("Laporan ADU-2026-00001", audio=note))
    assert p["text"] == "Laporan ADU-2026-00001\n(pesan suara)" and "AwAC" not in str(p)
    (p,) = render(Reply("Report ADU-2026-00001", audio=note, extra={"lang": "en"}))
    assert p["text"] == "Report ADU-2026-00001\n(voice message)"
