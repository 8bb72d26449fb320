"""Web chat: a small page at ``/`` talking JSON over a websocket at ``/ws``.

Identity is a random token in an HttpOnly cookie; the database only ever sees a hash of it, so a
leaked database does not let anyone take over a conversation. Messages to a person are pushed to
their open sockets and stay in the outbox, so a reconnecting page replays what it missed
(``hello.last_seen``). Cross-site websocket hijacking is refused by checking ``Origin``.

Frames, client → server: ``hello {start, last_seen}``, ``text {id, text}``, ``choice {id, value, label}``.
Server → client: ``message {id, title, text, choices, image, document}``, ``ack {id}``, ``error {text}``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import secrets
import uuid
from dataclasses import dataclass
from importlib import resources
from typing import Any, Protocol
from urllib.parse import urlsplit

from aiohttp import WSMsgType, web

from bot.channels.base import ChannelContext, ChannelSpec, CommandMenu, Handle
from bot.domain.messages import Inbound, Kind, Reply, SendResult

log = logging.getLogger(__name__)

CHANNEL = "web"
COOKIE = "kanal_web"
MAX_FRAME = 16 * 1024
MAX_TEXT = 4000


class WebHistory(Protocol):
    """The database port of the web chat: what a reconnecting page missed."""

    async def sent_since(self, address: str, after_id: int) -> list[tuple[int, dict[str, Any]]]:
        """(outbox id, payload) of the messages sent to ``address`` after outbox id ``after_id``."""
        ...


@dataclass(frozen=True)
class WebConfig:
    """The web chat has nothing to configure but whether it is on."""


def config_from(settings: Any) -> WebConfig | None:
    return WebConfig() if settings.webchat_enabled else None


def build(config: WebConfig, context: ChannelContext) -> WebChatChannel:
    return WebChatChannel(handle=context.handle, history=context.ports)


def render(reply: Reply) -> list[dict[str, Any]]:
    payload: dict[str, Any] = {
        "type": "message",
        "title": reply.title,
        "text": reply.text,
        "choices": [{"label": c.label, "value": c.value} for c in reply.choices],
        "image": None,
        "document": None,
    }
    for key, att in (("image", reply.image), ("document", reply.document)):
        if att is not None and att.data is not None:
            payload[key] = {
                "url": f"data:{att.mime_type};base64,{base64.b64encode(att.data).decode()}",
                "filename": att.filename,
            }
    return [payload]


def user_key_for(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:40]


class WebChatChannel:
    name = CHANNEL
    render = staticmethod(render)
    rate_limit = None

    def __init__(self, *, handle: Handle, history: WebHistory) -> None:
        self._handle = handle
        self._history = history
        self._sockets: dict[str, set[web.WebSocketResponse]] = {}
        self._page = (resources.files("bot.channels.web") / "static" / "webchat.html").read_bytes()
        self._tasks: set[asyncio.Task] = set()

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/", self.page), web.get("/ws", self.websocket)]

    def summary(self, http_url: str) -> str:
        return f"web chat {http_url}/"

    async def start(self) -> None:
        """Nothing to open: pages connect to the app's HTTP server."""

    async def start_receiving(self, commands: CommandMenu) -> None:
        """The routes receive as soon as the HTTP server serves them."""

    async def stop_receiving(self) -> None:
        await self.close()

    async def stop(self) -> None:
        """Everything was closed in :meth:`stop_receiving`."""

    # ---- HTTP ---------------------------------------------------------------------------
    async def page(self, request: web.Request) -> web.Response:
        resp = web.Response(body=self._page, content_type="text/html", charset="utf-8")
        resp.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data:; style-src 'unsafe-inline'; script-src "
            "'unsafe-inline'; connect-src 'self'"
        )
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "no-referrer"
        if not _valid_token(request.cookies.get(COOKIE)):
            resp.set_cookie(
                COOKIE,
                secrets.token_urlsafe(32),
                max_age=365 * 24 * 3600,
                httponly=True,
                samesite="Lax",
                secure=request.secure,
                path="/",
            )
        return resp

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        token = request.cookies.get(COOKIE)
        if not _valid_token(token):
            return web.Response(status=401, text="open the chat page first")
        if not _same_origin(request):
            return web.Response(status=403, text="cross-origin websocket refused")
        ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=MAX_FRAME)
        await ws.prepare(request)
        key = user_key_for(token)
        self._sockets.setdefault(key, set()).add(ws)
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    await self._on_frame(ws, key, msg.data)
                elif msg.type is WSMsgType.ERROR:
                    break
        finally:
            peers = self._sockets.get(key)
            if peers is not None:
                peers.discard(ws)
                if not peers:
                    del self._sockets[key]
        return ws

    async def _on_frame(self, ws: web.WebSocketResponse, key: str, raw: str) -> None:
        try:
            frame = json.loads(raw)
            if not isinstance(frame, dict):
                raise ValueError
        except (ValueError, RecursionError):  # RecursionError: JSON nested deeper than the parser goes
            await _send_json(
                ws, {"type": "error", "id": None, "text": "Pesan tidak dapat dibaca. / Message could not be read."}
            )
            return
        kind = frame.get("type")
        if kind == "hello":
            await self._on_hello(ws, key, frame)
            return
        client_id = str(frame.get("id") or uuid.uuid4())[:64]

        async def error(text: str) -> None:
            await _send_json(ws, {"type": "error", "id": client_id, "text": text})

        if kind == "text":
            text = frame.get("text")
            if not isinstance(text, str) or not text.strip():
                await error("Pesan kosong. / Empty message.")
                return
            if len(text) > MAX_TEXT:
                await error(
                    f"Pesan terlalu panjang (maks. {MAX_TEXT} karakter). / Message too long (max "
                    f"{MAX_TEXT} characters)."
                )
                return
            inbound = Inbound(
                channel=CHANNEL, user_key=key, external_id=f"{key}:{client_id}", kind=Kind.TEXT, text=text.strip()
            )
        elif kind == "choice":
            value = frame.get("value")
            if not isinstance(value, str) or not value or len(value.encode()) > 64:
                await error("Pilihan tidak dikenal. / Unknown choice.")
                return
            inbound = Inbound(
                channel=CHANNEL, user_key=key, external_id=f"{key}:{client_id}", kind=Kind.CHOICE, choice=value
            )
        else:
            await error("Jenis pesan tidak didukung. / Unsupported message type.")
            return
        try:
            await self._handle(inbound)
        except Exception as exc:  # database down: tell the page; it may send again (same id → once)
            log.error("web chat message not stored: %s", type(exc).__name__)
            await error("Sistem sedang sibuk, pesan belum terkirim. Coba lagi. / System busy, please retry.")
            return
        await _send_json(ws, {"type": "ack", "id": client_id})

    async def _on_hello(self, ws: web.WebSocketResponse, key: str, frame: dict[str, Any]) -> None:
        last_seen = frame.get("last_seen")
        last_seen = last_seen if isinstance(last_seen, int) and last_seen >= 0 else 0
        replayed = 0
        try:
            for ref, payload in await self._history.sent_since(key, last_seen):
                await _send_json(ws, {**payload, "id": ref})
                replayed += 1
        except Exception as exc:
            log.warning("web chat history not loaded: %s", type(exc).__name__)
        start = frame.get("start")
        deep_link = (
            isinstance(start, str) and 0 < len(start) <= 64 and start.replace("_", "").replace("-", "").isalnum()
        )
        if deep_link:  # a QR code scanned: start there, whatever came before
            text = f"/start {start}"
        elif last_seen == 0 and replayed == 0:  # a first visit: greet
            text = "/start"
        else:  # a reload or a reconnect: the history is on screen, nothing new to say
            return
        # the first hello of a page load starts (or resumes) the conversation; id per page load
        inbound = Inbound(
            channel=CHANNEL, user_key=key, external_id=f"{key}:hello:{uuid.uuid4()}", kind=Kind.TEXT, text=text
        )
        try:
            await self._handle(inbound)
        except Exception as exc:
            log.error("web chat hello not stored: %s", type(exc).__name__)

    # ---- sending ------------------------------------------------------------------------
    async def send(self, address: str, payload: dict[str, Any], *, ref: int | None = None) -> SendResult:
        """Push to the person's open pages; the outbox keeps the message for replay either way."""
        frame = {**payload, "id": ref}
        for ws in list(self._sockets.get(address, ())):
            await _send_json(ws, frame)
        return SendResult(platform_message_id=f"web:{ref}")

    @property
    def connected(self) -> int:
        return sum(len(s) for s in self._sockets.values())

    async def close(self) -> None:
        for peers in list(self._sockets.values()):
            for ws in list(peers):
                await ws.close()


async def _send_json(ws: web.WebSocketResponse, frame: dict[str, Any]) -> None:
    if ws.closed:
        return
    try:
        await ws.send_str(json.dumps(frame, ensure_ascii=False))
    except (ConnectionError, RuntimeError):
        pass  # the page went away; it replays on reconnect


def _valid_token(token: str | None) -> bool:
    return bool(token) and 20 <= len(token) <= 100 and all(c.isalnum() or c in "-_" for c in token)


def _same_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser (tests, CLI clients): the cookie still has to be presented
    return urlsplit(origin).netloc == request.host


SPEC = ChannelSpec(name=CHANNEL, render=render, configure=config_from, build=build)
