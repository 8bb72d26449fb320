"""Web chat: a small page at ``/`` talking JSON over a websocket at ``/ws``.

Identity is a random token issued and signed by the server (never one the client chose) in an
HttpOnly, SameSite=Lax cookie, ``__Host-`` and ``Secure`` when the browser came over TLS; the
database only ever sees a hash of it, so a leaked database does not let anyone take over a
conversation. A turn that changes the person's role (``/gabung``) rotates it: the page is told
(``rotate``), fetches the new cookie from ``POST /session`` and reconnects. New identities and turns
are limited per client address, per identity and overall (:mod:`bot.channels.web.web_limits`).
Messages to a person are pushed to their open sockets and stay in the outbox, so a reconnecting
page replays what it missed (``hello.last_seen``). Cross-site websocket hijacking is refused by checking ``Origin``.

Frames, client → server: ``hello {start, last_seen}``, ``text {id, text}``, ``choice {id, value, label}``,
``photo {id, ref, caption?}`` (a ref from ``POST /upload``, :mod:`bot.channels.web.web_media`, that
this identity uploaded), ``location {id, latitude, longitude}``.
Server → client: ``message {id, title, text, choices, image, document}``, ``ack {id}``,
``error {text, retry_after?}``, ``rotate``. ``POST /session`` issues (or rotates) the cookie: 204, or
429 with ``Retry-After`` when the client's address made too many identities.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import math
import tempfile
import uuid
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from aiohttp import WSMsgType, web

from bot.channels.base import ChannelContext, ChannelSpec, CommandMenu, Handle
from bot.channels.web.web_limits import ClientAddresses, Identities, LimitConfig, WebLimits, limit_text, parse_proxies
from bot.channels.web.web_media import MediaStore, Ownership, Refused, refusal, take_upload
from bot.channels.web.web_page import render_page
from bot.channels.web.web_push import Pusher, PushStore, parse_subscription
from bot.channels.web.web_relay import Bus, PageRelay
from bot.domain.i18n import N_, gettext
from bot.domain.messages import Inbound, Kind, Location, Photo, Reply, SendResult

log = logging.getLogger(__name__)

CHANNEL = "web"
COOKIE = "kanal_web"  # over plain HTTP (development); browsers refuse __Host- cookies without Secure
SECURE_COOKIE = "__Host-kanal_web"
COOKIE_AGE = 365 * 24 * 3600
ROTATION_HANDOFF = 300.0  # seconds a rotated identity's new cookie waits for its page to fetch it
MAX_FRAME = 16 * 1024
MAX_TEXT = 4000
PAGE_TTL = 60.0  # seconds the page with the Pemda's header is kept
#: messages a page opened afresh gets (the newest; it shows the last few and folds the rest)
FRESH_HISTORY = 60
#: messages a reconnecting page gets at most (what it missed while away)
MAX_REPLAY = 500


class WebHistory(PushStore, Protocol):
    """The database ports of the web chat: what a reconnecting page missed, its identities and
    (:class:`~bot.channels.web.web_push.PushStore`) its push subscriptions."""

    async def sent_since(
        self, address: str, after_id: int, *, limit: int = 100, newest: bool = False
    ) -> list[tuple[int, dict[str, Any]]]:
        """(outbox id, payload) of the messages sent to ``address`` after outbox id ``after_id``,
        oldest first: the first ``limit`` (with ``newest``: the last ``limit``). The person's own
        messages are among them (``"from": "user"``)."""
        ...

    async def page_info(self) -> dict[str, Any]:
        """The header's words: ``name`` (the Pemda), ``contact``, ``emergency``, ``logo`` (data URL)."""
        ...

    async def identity_known(self, address: str) -> bool:
        """Whether a person is stored under ``address`` (an identity issued earlier)."""
        ...

    async def rekey(self, old: str, new: str) -> bool:
        """Move the person at ``old`` (and their messages) to ``new``; False when there is none."""
        ...


@dataclass(frozen=True)
class WebConfig:
    """The web chat's limits, the proxies it believes and the key that signs its identities."""

    limits: LimitConfig = LimitConfig()
    trusted_proxies: tuple[str, ...] = ()
    secret: str | None = None
    #: where uploaded photos are kept (None: a temporary folder, tests), and their limits
    media_dir: str | None = None
    media_max_bytes: int = 10_000_000
    media_max_pixels: int = 40_000_000
    #: the VAPID ``sub`` claim of Web Push notifications
    push_subject: str = "mailto:admin@localhost"


def config_from(settings: Any) -> WebConfig | None:
    if not settings.webchat_enabled:
        return None
    limits = LimitConfig(
        identities_per_address_hour=settings.web_identities_per_address,
        identities_per_hour=settings.web_identities_per_hour,
        turns_per_identity_minute=settings.web_turns_per_identity,
        turns_per_address_minute=settings.web_turns_per_address,
        turns_per_minute=settings.web_turns_per_minute,
    )
    return WebConfig(
        limits=limits,
        trusted_proxies=settings.trusted_proxies,
        secret=settings.web_secret,
        media_dir=str(settings.media_path),
        media_max_bytes=settings.media_max_bytes,
        media_max_pixels=settings.media_max_pixels,
        push_subject=settings.vapid_subject or settings.public_url or "mailto:admin@localhost",
    )


def build(config: WebConfig, context: ChannelContext) -> WebChatChannel:
    """``context.options["bus"]``: the deployment's :class:`~bot.channels.web.web_relay.Bus` when
    several instances may hold pages (PostgreSQL), else none."""
    return WebChatChannel(handle=context.handle, history=context.ports, config=config, bus=context.options.get("bus"))


#: what the web chat shows for a voice note (it cannot play a Telegram or WhatsApp file)
VOICE_LINE = N_("(pesan suara)")


#: an attachment whose ``file_ref`` is one of these is shown by its address (a staff media link)
LINKABLE = ("/media/", "https://", "http://")


def render(reply: Reply) -> list[dict[str, Any]]:
    text = reply.text
    if reply.audio is not None:
        lang = reply.extra.get("lang") if isinstance(reply.extra.get("lang"), str) else "id"
        text = f"{text}\n{gettext(lang, VOICE_LINE)}" if text else gettext(lang, VOICE_LINE)
    payload: dict[str, Any] = {
        "type": "message",
        "title": reply.title,
        "text": text,
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
        elif att is not None and att.file_ref and att.file_ref.startswith(LINKABLE):
            payload[key] = {"url": att.file_ref, "filename": att.filename}  # a signed /media/ link
    return [payload]


def user_key_for(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:40]


class WebChatChannel:
    name = CHANNEL
    render = staticmethod(render)
    rate_limit = None

    def __init__(
        self, *, handle: Handle, history: WebHistory, config: WebConfig | None = None, bus: Bus | None = None
    ) -> None:
        config = config or WebConfig()
        self._handle = handle
        self._history = history
        self.limits = WebLimits(config.limits)
        self.addresses = ClientAddresses(parse_proxies(config.trusted_proxies))
        self.identities = Identities(config.secret.encode() if config.secret else None)
        self._handoff: dict[str, tuple[str, float]] = {}  # old key → (new token, deadline)
        self._sockets: dict[str, set[web.WebSocketResponse]] = {}
        self._page = (resources.files("bot.channels.web") / "static" / "webchat.html").read_text(encoding="utf-8")
        self._page_cache: tuple[bytes, float] | None = None
        self._tasks: set[asyncio.Task] = set()
        self._config = config
        self.media = MediaStore(Path(config.media_dir) if config.media_dir else Path(tempfile.mkdtemp("kanal-media")))
        self.uploads = Ownership()
        self.pusher = Pusher(history, config.push_subject)
        self._worker = (resources.files("bot.channels.web") / "static" / "sw.js").read_bytes()
        #: pages of people on other instances (several instances on PostgreSQL), None otherwise
        self.relay = PageRelay(bus, self._write_local, self._load_row, self._keep_handoff) if bus is not None else None

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/", self.page),
            web.post("/session", self.session),
            web.get("/ws", self.websocket),
            web.post("/upload", self.upload),
            web.get("/push/key", self.push_key),
            web.get("/sw.js", self.service_worker),
        ]

    def summary(self, http_url: str) -> str:
        return f"web chat {http_url}/"

    async def start(self) -> None:
        """Pages connect to the app's HTTP server; with other instances, join their relay."""
        if self.relay is not None:
            await self.relay.start(lambda: list(self._sockets))

    async def start_receiving(self, commands: CommandMenu) -> None:
        """The routes receive as soon as the HTTP server serves them."""

    async def stop_receiving(self) -> None:
        await self.close()

    async def stop(self) -> None:
        """Pages were closed in :meth:`stop_receiving`; the relay goes after the outbox (it sends through it)."""
        if self.relay is not None:
            await self.relay.stop()

    # ---- HTTP ---------------------------------------------------------------------------
    async def page(self, request: web.Request) -> web.Response:
        """The page only: the identity comes from ``POST /session`` (link previews and crawlers
        that fetch the page make none)."""
        resp = web.Response(body=await self._rendered_page(), content_type="text/html", charset="utf-8")
        resp.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data: blob:; style-src 'unsafe-inline'; script-src "
            "'unsafe-inline'; connect-src 'self'; worker-src 'self'"
        )
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "no-referrer"
        return resp

    async def _rendered_page(self) -> bytes:
        """The page with the Pemda's header, made again at most every :data:`PAGE_TTL` seconds
        (a region reloaded shows up within a minute)."""
        now = asyncio.get_running_loop().time()
        if self._page_cache is not None and self._page_cache[1] > now:
            return self._page_cache[0]
        try:
            info = await self._history.page_info()
        except Exception as exc:  # the database is down: the page still loads, with the plain header
            log.warning("web chat header not loaded: %s", type(exc).__name__)
            info = {}
        body = render_page(self._page, info)
        self._page_cache = (body, now + (PAGE_TTL if info else 5.0))
        return body

    async def push_key(self, request: web.Request) -> web.Response:
        """The VAPID public key the page subscribes with (``applicationServerKey``)."""
        try:
            key = await self.pusher.public_key()
        except Exception as exc:
            log.warning("web push key not loaded: %s", type(exc).__name__)
            return _refusal(503, 5, "Sistem sedang sibuk, coba lagi. / System busy, please retry.")
        return web.json_response({"key": key}, headers={"Cache-Control": "no-cache"})

    async def service_worker(self, request: web.Request) -> web.Response:
        """The service worker that shows a push notification and opens the chat when tapped."""
        return web.Response(
            body=self._worker,
            content_type="application/javascript",
            headers={"Service-Worker-Allowed": "/", "Cache-Control": "no-cache"},
        )

    async def session(self, request: web.Request) -> web.Response:
        """204 with the cookie of a new identity (or of the rotated one), 204 alone when the
        cookie is good, 429 + ``Retry-After`` when this address made too many identities."""
        if not _same_origin(request):
            return web.Response(status=403, text="cross-origin request refused")
        token = self._token(request)
        if token is not None:
            key = user_key_for(token)
            rotated = self._take_handoff(key)
            if rotated is not None:
                return self._with_cookie(request, rotated)
            if self.identities.signed(token):
                return web.Response(status=204)
            try:  # a stored person's unsigned cookie (from before identities were signed): replace it
                if await self._history.identity_known(key):
                    fresh = self.identities.issue()
                    if await self._history.rekey(key, user_key_for(fresh)):
                        return self._with_cookie(request, fresh)
            except Exception as exc:
                log.warning("web chat identity not checked: %s", type(exc).__name__)
                return _refusal(503, 5, "Sistem sedang sibuk, coba lagi. / System busy, please retry.")
        client = self._client(request)
        if wait := self.limits.new_identity(client):
            if self.limits.worth_logging(client):
                log.warning("web chat: too many new identities from %s (refused for %d s)", _printable(client), wait)
            return _refusal(429, wait, limit_text(wait))
        return self._with_cookie(request, self.identities.issue())

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        token = self._token(request)
        if token is None:
            return web.Response(status=401, text="open the chat page first")
        if not _same_origin(request):
            return web.Response(status=403, text="cross-origin websocket refused")
        try:
            if not await self._accepted(token):
                return web.Response(status=401, text="open the chat page first")
        except Exception as exc:
            log.warning("web chat identity not checked: %s", type(exc).__name__)
            return web.Response(status=503, text="busy", headers={"Retry-After": "5"})
        ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=MAX_FRAME)
        await ws.prepare(request)
        key = user_key_for(token)
        address = self._client(request)
        peers = self._sockets.setdefault(key, set())
        peers.add(ws)
        if len(peers) == 1 and self.relay is not None:
            await self.relay.page_opened(key)
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    await self._on_frame(ws, key, msg.data, address)
                elif msg.type is WSMsgType.ERROR:
                    break
        finally:
            peers = self._sockets.get(key)
            if peers is not None:
                peers.discard(ws)
                if not peers:
                    del self._sockets[key]
                    if self.relay is not None:
                        await self.relay.page_closed(key)
        return ws

    async def upload(self, request: web.Request) -> web.Response:
        """``POST /upload``: one photo (:mod:`bot.channels.web.web_media`), for this identity only."""
        token = self._token(request)
        if token is None:
            return refusal(401, "Buka halaman obrolan dulu. / Open the chat page first.")
        if not _same_origin(request):
            return refusal(403, "Permintaan dari situs lain ditolak. / Cross-origin request refused.")
        try:
            if not await self._accepted(token):
                return refusal(401, "Buka halaman obrolan dulu. / Open the chat page first.")
        except Exception as exc:
            log.warning("web chat identity not checked: %s", type(exc).__name__)
            return refusal(503, "Sistem sedang sibuk, coba lagi. / System busy, please retry.", 5)
        key = user_key_for(token)
        address = self._client(request)
        if wait := self.limits.turn(key, address):
            return refusal(429, limit_text(wait), wait)
        config = self._config
        try:
            answer = await take_upload(request, self.media, config.media_max_bytes, config.media_max_pixels)
        except Refused as refused:
            return refusal(refused.status, refused.text)
        except OSError as exc:  # the folder is not writable, the disk is full
            log.error("web chat upload not stored: %s", type(exc).__name__)
            return refusal(503, "Foto belum dapat disimpan, coba lagi. / Photo not stored, please retry.", 5)
        self.uploads.add(key, answer["ref"], asyncio.get_running_loop().time())
        return web.json_response(answer)

    async def fetch_media(self, file_ref: str) -> tuple[bytes, str]:
        """The bytes and MIME type of an uploaded photo (for staff, through the media route)."""
        return await asyncio.to_thread(self.media.read, file_ref)

    def _media_inbound(self, kind: str, frame: dict[str, Any], key: str, client_id: str) -> Inbound | str:
        """A ``photo`` or ``location`` frame as an Inbound, or the error text for the page."""
        base = {"channel": CHANNEL, "user_key": key, "external_id": f"{key}:{client_id}"}
        if kind == "location":
            lat, lon = frame.get("latitude"), frame.get("longitude")
            ok = all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in (lat, lon))
            if not ok or not (-90 <= lat <= 90 and -180 <= lon <= 180):
                return "Lokasi tidak valid. / Invalid location."
            echo = {"text": f"📍 {lat:.5f}, {lon:.5f}", "cid": client_id}
            return Inbound(**base, kind=Kind.LOCATION, location=Location(float(lat), float(lon)), echo=echo)
        ref = frame.get("ref")
        if not isinstance(ref, str) or not self.uploads.owns(key, ref, asyncio.get_running_loop().time()):
            return "Foto tidak dikenal; unggah lagi. / Unknown photo; upload it again."
        path = self.media.find(ref)
        if path is None:
            return "Foto tidak dikenal; unggah lagi. / Unknown photo; upload it again."
        caption = frame.get("caption")
        caption = (caption.strip()[:1024] or None) if isinstance(caption, str) else None
        mime = "image/png" if path.suffix == ".png" else "image/jpeg"
        photo = Photo(file_ref=ref, caption=caption, mime_type=mime, size=path.stat().st_size)
        echo = {"text": "📷 Foto" + (f": {caption}" if caption else ""), "cid": client_id}
        return Inbound(**base, kind=Kind.PHOTO, photo=photo, echo=echo)

    # ---- identities ---------------------------------------------------------------------
    def _client(self, request: web.Request) -> str:
        return self.addresses.client(request.remote, request.headers.get("X-Forwarded-For"))

    def _token(self, request: web.Request) -> str | None:
        token = request.cookies.get(SECURE_COOKIE) or request.cookies.get(COOKIE)
        return token if _valid_token(token) else None

    async def _accepted(self, token: str) -> bool:
        """Signed by us, or (unsigned: issued before signing, or under a per-process key before a
        restart) already the address of a stored person. Raises when the database cannot say."""
        return self.identities.signed(token) or await self._history.identity_known(user_key_for(token))

    def _with_cookie(self, request: web.Request, token: str) -> web.Response:
        tls = self.addresses.is_tls(request.remote, request.secure, request.headers.get("X-Forwarded-Proto"))
        resp = web.Response(status=204)
        resp.set_cookie(
            SECURE_COOKIE if tls else COOKIE,
            token,
            max_age=COOKIE_AGE,
            httponly=True,
            samesite="Lax",
            secure=tls,
            path="/",
        )
        if tls and COOKIE in request.cookies:  # a plain cookie from before would shadow nothing, but go
            resp.del_cookie(COOKIE, path="/")
        return resp

    def _take_handoff(self, key: str) -> str | None:
        now = asyncio.get_running_loop().time()
        for old in [k for k, (_, deadline) in self._handoff.items() if deadline < now]:
            del self._handoff[old]
        entry = self._handoff.pop(key, None)
        return entry[0] if entry is not None else None

    def _keep_handoff(self, key: str, token: str) -> None:
        self._handoff[key] = (token, asyncio.get_running_loop().time() + ROTATION_HANDOFF)

    async def _rotate(self, key: str) -> None:
        """The person's role changed: move them to a new identity, and close their pages (they
        fetch the new cookie from ``POST /session`` and reconnect). The old cookie is then just a
        new visitor's."""
        token = self.identities.issue()
        try:
            moved = await self._history.rekey(key, user_key_for(token))
        except Exception as exc:
            log.warning("web chat identity not rotated: %s", type(exc).__name__)
            return
        if not moved:
            return
        self._keep_handoff(key, token)
        if self.relay is not None:  # the page's POST /session may reach another instance
            await self.relay.handoff(key, token)
        for ws in list(self._sockets.get(key, ())):
            await _send_json(ws, {"type": "rotate"})
            await ws.close()

    async def _on_frame(self, ws: web.WebSocketResponse, key: str, raw: str, address: str) -> None:
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
            await self._on_hello(ws, key, frame, address)
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
                channel=CHANNEL,
                user_key=key,
                external_id=f"{key}:{client_id}",
                kind=Kind.TEXT,
                text=text.strip(),
                echo={"text": text.strip(), "cid": client_id},
            )
        elif kind == "choice":
            value = frame.get("value")
            if not isinstance(value, str) or not value or len(value.encode()) > 64:
                await error("Pilihan tidak dikenal. / Unknown choice.")
                return
            label = frame.get("label")
            inbound = Inbound(
                channel=CHANNEL,
                user_key=key,
                external_id=f"{key}:{client_id}",
                kind=Kind.CHOICE,
                choice=value,
                echo={"text": label[:200] if isinstance(label, str) and label.strip() else "✓", "cid": client_id},
            )
        elif kind in ("subscribe", "unsubscribe"):
            await self._on_subscription(ws, key, kind, frame, error)
            return
        elif kind in ("photo", "location"):
            made = self._media_inbound(kind, frame, key, client_id)
            if isinstance(made, str):
                await error(made)
                return
            inbound = made
        else:
            await error("Jenis pesan tidak didukung. / Unsupported message type.")
            return
        if wait := self.limits.turn(key, address):
            if self.limits.worth_logging(address):
                log.warning("web chat: too many messages from %s (refused for %d s)", _printable(address), wait)
            await _send_json(ws, {"type": "error", "id": client_id, "text": limit_text(wait), "retry_after": wait})
            return
        try:
            outcome = await self._handle(inbound)
        except Exception as exc:  # database down: tell the page; it may send again (same id → once)
            log.error("web chat message not stored: %s", type(exc).__name__)
            await error("Sistem sedang sibuk, pesan belum terkirim. Coba lagi. / System busy, please retry.")
            return
        await _send_json(ws, {"type": "ack", "id": client_id})
        if getattr(outcome, "role_changed", False):
            await self._rotate(key)

    async def _on_subscription(self, ws, key: str, kind: str, frame: dict[str, Any], error) -> None:
        """Keep (``subscribe``) or drop (``unsubscribe``) the page's Web Push subscription."""
        sub = parse_subscription(frame.get("subscription"))
        if sub is None:
            await error("Langganan pemberitahuan tidak valid. / Invalid notification subscription.")
            return
        try:
            if kind == "subscribe":
                await self._history.push_subscribe(key, sub.endpoint, sub.p256dh, sub.auth)
            else:
                await self._history.push_unsubscribe(key, sub.endpoint)
        except Exception as exc:
            log.warning("web push subscription not stored: %s", type(exc).__name__)
            await error("Sistem sedang sibuk, coba lagi. / System busy, please retry.")
            return
        await _send_json(ws, {"type": f"{kind}d", "id": frame.get("id")})

    async def _on_hello(self, ws: web.WebSocketResponse, key: str, frame: dict[str, Any], address: str) -> None:
        last_seen = frame.get("last_seen")
        last_seen = last_seen if isinstance(last_seen, int) and last_seen >= 0 else 0
        replayed = await self._replay(ws, key, last_seen)
        start = frame.get("start")
        deep_link = (
            isinstance(start, str) and 0 < len(start) <= 64 and start.replace("_", "").replace("-", "").isalnum()
        )
        if deep_link:  # a QR code scanned (once per page load): start there, or offer to go on
            text = f"/start {start}"
        elif last_seen == 0 and replayed == 0:  # a first visit: greet
            text = "/start"
        else:  # a reload or a reconnect: the history is on screen, nothing new to say
            return
        if wait := self.limits.turn(key, address):
            await _send_json(ws, {"type": "error", "id": None, "text": limit_text(wait), "retry_after": wait})
            return
        # the first hello of a page load starts (or resumes) the conversation; id per page load
        inbound = Inbound(
            channel=CHANNEL, user_key=key, external_id=f"{key}:hello:{uuid.uuid4()}", kind=Kind.TEXT, text=text
        )
        try:
            await self._handle(inbound)
        except Exception as exc:
            log.error("web chat hello not stored: %s", type(exc).__name__)

    async def _replay(self, ws: web.WebSocketResponse, key: str, last_seen: int) -> int:
        """Send what the page has not shown: a page opened afresh the last :data:`FRESH_HISTORY`
        messages (both sides), a reconnecting one everything after ``last_seen`` (at most
        :data:`MAX_REPLAY`); then ``history {count}`` (the page collapses older messages)."""
        replayed = 0
        try:
            if last_seen == 0:
                rows = await self._history.sent_since(key, 0, limit=FRESH_HISTORY, newest=True)
            else:
                rows = await self._history.sent_since(key, last_seen, limit=MAX_REPLAY)
            for ref, payload in rows:
                await _send_json(ws, {**payload, "id": ref})
                replayed += 1
        except Exception as exc:
            log.warning("web chat history not loaded: %s", type(exc).__name__)
        await _send_json(ws, {"type": "history", "count": replayed, "fresh": last_seen == 0})
        return replayed

    # ---- sending ------------------------------------------------------------------------
    async def send(self, address: str, payload: dict[str, Any], *, ref: int | None = None) -> SendResult:
        """Push to the person's open pages, here and (through the relay) on other instances, or,
        when no page took it, a Web Push notification to their subscriptions. The outbox keeps the
        message for the page's history either way; the platform id says what took it:
        ``web:<ref>`` a page, ``web:push:<ref>`` a push service, ``web:kept:<ref>`` nothing yet
        (the page shows it when it is next opened)."""
        frame = {**payload, "id": ref}
        reached = await self._write_local(address, frame)
        if self.relay is not None and self.relay.open_elsewhere(address):
            reached += await self.relay.deliver(address, frame, ref)
        if reached:
            return SendResult(platform_message_id=f"web:{ref}")
        if payload.get("type") == "message":
            try:
                if await self.pusher.push(address, payload):
                    return SendResult(platform_message_id=f"web:push:{ref}")
            except Exception as exc:  # best effort: the page shows it at the next visit
                log.warning("web push not sent: %s", type(exc).__name__)
        return SendResult(platform_message_id=f"web:kept:{ref}")

    async def _write_local(self, address: str, frame: dict[str, Any]) -> int:
        """Write ``frame`` to this instance's open pages of ``address``: how many took it."""
        pages = list(self._sockets.get(address, ()))
        written = 0
        for ws in pages:
            written += await _send_json(ws, frame)
        return written

    async def _load_row(self, address: str, ref: int) -> dict[str, Any] | None:
        """Outbox row ``ref`` of ``address`` (a frame relayed by reference: too big for a notification)."""
        rows = await self._history.sent_since(address, ref - 1, limit=1)
        return rows[0][1] if rows and rows[0][0] == ref else None

    def connected_to(self, address: str) -> bool:
        """Whether a page of ``address`` is open on this instance or, as far as the relay knows, another."""
        return bool(self._sockets.get(address)) or (self.relay is not None and self.relay.open_elsewhere(address))

    @property
    def connected(self) -> int:
        return sum(len(s) for s in self._sockets.values())

    async def close(self) -> None:
        await self.pusher.close()
        for peers in list(self._sockets.values()):
            for ws in list(peers):
                await ws.close()


async def _send_json(ws: web.WebSocketResponse, frame: dict[str, Any]) -> bool:
    """Whether the frame was written (False: the page went away; it replays on reconnect)."""
    if ws.closed:
        return False
    try:
        await ws.send_str(json.dumps(frame, ensure_ascii=False))
    except (ConnectionError, RuntimeError):
        return False
    return True


def _refusal(status: int, retry_after: int, text: str) -> web.Response:
    return web.Response(status=status, text=text, headers={"Retry-After": str(retry_after)})


def _printable(text: str) -> str:
    """An address for a log line: nothing that could forge a line."""
    return "".join(c if c.isprintable() else "?" for c in text)[:64]


def _valid_token(token: str | None) -> bool:
    return bool(token) and 20 <= len(token) <= 100 and all(c.isalnum() or c in "-_" for c in token)


def _same_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser (tests, CLI clients): the cookie still has to be presented
    return urlsplit(origin).netloc == request.host


SPEC = ChannelSpec(name=CHANNEL, render=render, configure=config_from, build=build)
