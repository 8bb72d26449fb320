"""A fake WhatsApp Cloud API (Graph API) server for tests and benchmarks.

:class:`FakeWhatsAppServer` is a real HTTP server on ``127.0.0.1`` (a free port). It answers the
two calls a bot makes, ``POST /<version>/<phone-number-id>/messages`` and ``.../media``, in Meta's
wire format, and plays Meta's side of the webhook: it builds message and status payloads shaped
as Meta documents them, signs the raw body with the app secret (``X-Hub-Signature-256``) and POSTs
them to the bot's webhook::

    async with FakeWhatsAppServer(app_secret=SECRET) as wa:
        settings = ...whatsapp_api_base_url=wa.base_url...
        wa.webhook_url = f"http://127.0.0.1:{app.port}/webhooks/whatsapp"
        await wa.push_text("6281234567890", "/start")            # a person writes
        (consent,) = await wa.wait_for_sent(1, to="6281234567890")
        await wa.push_choice("6281234567890", "consent:yes")     # taps a button / list row
        await wa.push_text("6281234567890", "2")                 # answers a numbered menu

What it checks like Meta does: the bearer token (401, code 190), ``messaging_product``, the
recipient, text ≤ 4096 characters, reply buttons (1–3, unique ids ≤ 256 and titles ≤ 20), list
messages (button ≤ 20, ≤ 10 sections, 1–10 rows in all, unique row ids ≤ 200, titles ≤ 24,
descriptions ≤ 72), interactive bodies ≤ 1024, headers and footers ≤ 60, captions ≤ 1024, media
ids that were uploaded, and templates (known name and language, the number of body parameters,
no new lines/tabs/more than 4 spaces in a parameter: 132018). Invalid values answer HTTP 400 with
a Graph API error object (codes 100, 131009, 132000, 132001, 132018).

The 24-hour window: every ``push_*`` opens the person's window (the fake's own monotonic clock);
:meth:`~FakeWhatsAppServer.expire_window` closes it. A free-form message to a closed window is, by
default (``window="status"``), accepted and then reported failed with 131047 through a status
webhook, as the Cloud API does; ``window="error"`` answers 131047 at once; ``window="off"`` does not
check. Templates always pass.

Faults: :meth:`~FakeWhatsAppServer.fail_next` (an HTTP status with a Graph error code, e.g. 429 /
130429 with ``Retry-After``, or ``"reset"``: the connection is dropped). Optional pair rate limit
(``pair_rate``/``pair_burst``: 131056). ``auto_status=True`` reports ``sent`` and ``delivered``
for every accepted message.

Simplifications: lengths count code points; media are downloadable (GET /<media-id>, then its URL); only the endpoints
above exist (everything else answers 404 with code 100).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import os
import socket
import time
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import aiohttp
from aiohttp import web

JSON = dict[str, Any]
SIGNATURE_HEADER = "X-Hub-Signature-256"
WINDOW_SECONDS = 24 * 3600
_DEFAULT = object()

__all__ = ["FakeWhatsAppServer", "RecordedError", "RecordedRequest", "UploadedMedia", "sign"]


def sign(secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value Meta sends with ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class RecordedRequest(NamedTuple):
    endpoint: str  # "messages" | "media" | the path for unknown calls
    body: Any
    time: float


class RecordedError(NamedTuple):
    endpoint: str
    body: Any
    status: int | str
    code: int | None
    message: str
    time: float


@dataclass(frozen=True, slots=True)
class UploadedMedia:
    id: str
    mime_type: str
    filename: str | None
    data: bytes = field(repr=False)


class GraphError(Exception):
    def __init__(
        self, status: int, code: int, message: str, details: str | None = None, *, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details, self.retry_after = (
            status,
            code,
            message,
            details,
            retry_after,
        )


class _Bucket:
    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.capacity, self.tokens, self.stamp = rate, float(burst), float(burst), time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


def _invalid(details: str, code: int = 131009) -> GraphError:
    title = "Parameter value is not valid" if code == 131009 else "Invalid parameter"
    return GraphError(400, code, f"(#{code}) {title}", details)


def _check_len(value: Any, limit: int, what: str, *, required: bool = True) -> None:
    if value is None and not required:
        return
    if not isinstance(value, str) or (required and not value.strip()):
        raise _invalid(f"{what} is required", 100)
    if len(value) > limit:
        raise _invalid(f"{what} must be at most {limit} characters long")


class FakeWhatsAppServer:
    """A Cloud API server for one business phone number. Use as ``async with``; see the module docs."""

    def __init__(
        self,
        *,
        token: str = "EAAKanalFakeToken0123456789abcdef",
        phone_number_id: str = "106540352242922",
        display_phone_number: str = "15550783881",
        waba_id: str = "102290129340398",
        app_secret: str = "kanal-fake-app-secret-0123456789",
        api_version: str = "v25.0",
        templates: dict[str, tuple[str, int]] | None = None,
        window: Literal["status", "error", "off"] = "status",
        auto_status: bool = False,
        pair_rate: float | None = None,
        pair_burst: int = 45,
    ) -> None:
        self.token = token
        self.phone_number_id = phone_number_id
        self.display_phone_number = display_phone_number
        self.waba_id = waba_id
        self.app_secret = app_secret
        self.api_version = api_version
        #: approved templates: name -> (language code, number of body parameters)
        self.templates = dict(templates if templates is not None else {"kanal_notice": ("id", 1)})
        self.window = window
        self.auto_status = auto_status
        self.pair_rate, self.pair_burst = pair_rate, pair_burst
        self.webhook_url: str | None = None
        self.requests: list[RecordedRequest] = []
        self.errors: list[RecordedError] = []
        self.media: dict[str, UploadedMedia] = {}
        self.webhook_responses: list[int] = []
        self.last_inbound: dict[str, float] = {}
        self._sent: list[JSON] = []
        self._sent_changed = asyncio.Event()
        self._faults: dict[str, list[list[Any]]] = {}
        self._pairs: dict[str, _Bucket] = {}
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._client: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task] = set()
        self._names: dict[str, str] = {}

    # ---- lifecycle --------------------------------------------------------------------------
    async def __aenter__(self) -> FakeWhatsAppServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def start(self) -> None:
        app = web.Application(client_max_size=120 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(
            app, access_log=None, shutdown_timeout=2.0
        )  # access lines would show ids only, but keep quiet
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    async def close(self) -> None:
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.close()
            self._client = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        """What to configure as ``KANAL_WHATSAPP_API_BASE_URL`` (the version included)."""
        return f"http://127.0.0.1:{self._port}/{self.api_version}"

    # ---- Meta's side of the webhook ---------------------------------------------------------
    def new_wamid(self) -> str:
        raw = f"fake{next(self._ids):08d}{os.urandom(6).hex()}".encode()
        return "wamid." + base64.b64encode(raw).decode()

    def envelope(self, value: JSON) -> JSON:
        """A webhook payload around one ``changes[].value``."""
        return {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": self.waba_id,
                    "changes": [
                        {
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {
                                    "display_phone_number": self.display_phone_number,
                                    "phone_number_id": self.phone_number_id,
                                },
                                **value,
                            },
                            "field": "messages",
                        }
                    ],
                }
            ],
        }

    def message_payload(
        self,
        wa_id: str,
        fields: JSON,
        *,
        name: str | None = None,
        wamid: str | None = None,
        timestamp: int | None = None,
    ) -> JSON:
        """A messages webhook for one message from ``wa_id``; ``fields`` has ``type`` and its object."""
        if name is not None:
            self._names[wa_id] = name
        message = {
            "from": wa_id,
            "id": wamid or self.new_wamid(),
            "timestamp": str(timestamp or int(time.time())),
            **fields,
        }
        contact = {"profile": {"name": self._names.get(wa_id, "Budi")}, "wa_id": wa_id}
        return self.envelope({"contacts": [contact], "messages": [message]})

    def status_payload(self, wamid: str, status: str, *, wa_id: str, errors: list[JSON] | None = None) -> JSON:
        st: JSON = {"id": wamid, "status": status, "timestamp": str(int(time.time())), "recipient_id": wa_id}
        if errors:
            st["errors"] = errors
        elif status in ("sent", "delivered", "read"):
            st["pricing"] = {
                "billable": False,
                "pricing_model": "PMP",
                "category": "service",
                "type": "free_customer_service",
            }
        return self.envelope({"statuses": [st]})

    async def deliver(self, payload: JSON | bytes, *, signature: Any = _DEFAULT, url: str | None = None) -> int:
        """POST a webhook like Meta does; ``signature=None`` leaves the header out, a string is
        sent as given. Returns the HTTP status."""
        target = url or self.webhook_url
        if not target:
            raise RuntimeError("set FakeWhatsAppServer.webhook_url to the bot's /webhooks/whatsapp first")
        body = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json"}
        if signature is _DEFAULT:
            headers[SIGNATURE_HEADER] = sign(self.app_secret, body)
        elif signature is not None:
            headers[SIGNATURE_HEADER] = str(signature)
        if self._client is None:
            self._client = aiohttp.ClientSession()
        async with self._client.post(
            target, data=body, headers=headers, timeout=aiohttp.ClientTimeout(total=10)
        ) as resp:
            await resp.read()
            self.webhook_responses.append(resp.status)
            return resp.status

    async def push(self, wa_id: str, fields: JSON, *, name: str | None = None, wamid: str | None = None) -> str:
        """Deliver one message from ``wa_id`` (signed); opens their 24-hour window. Returns the
        wamid; AssertionError unless the bot answered 200."""
        payload = self.message_payload(wa_id, fields, name=name, wamid=wamid)
        self.last_inbound[wa_id] = time.monotonic()
        status = await self.deliver(payload)
        assert status == 200, f"webhook answered {status}"
        return payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"]

    async def push_text(self, wa_id: str, text: str, *, name: str | None = None, wamid: str | None = None) -> str:
        return await self.push(wa_id, {"type": "text", "text": {"body": text}}, name=name, wamid=wamid)

    async def push_button_reply(
        self,
        wa_id: str,
        button_id: str,
        title: str | None = None,
        *,
        context: str | None = None,
        name: str | None = None,
    ) -> str:
        fields: JSON = {
            "type": "interactive",
            "interactive": {
                "type": "button_reply",
                "button_reply": {"id": button_id, "title": title or button_id[:20]},
            },
        }
        if context:
            fields = {"context": {"from": self.display_phone_number, "id": context}, **fields}
        return await self.push(wa_id, fields, name=name)

    async def push_list_reply(
        self,
        wa_id: str,
        row_id: str,
        title: str | None = None,
        description: str | None = None,
        *,
        context: str | None = None,
        name: str | None = None,
    ) -> str:
        reply: JSON = {"id": row_id, "title": title or row_id[:24]}
        if description:
            reply["description"] = description
        fields: JSON = {"type": "interactive", "interactive": {"type": "list_reply", "list_reply": reply}}
        if context:
            fields = {"context": {"from": self.display_phone_number, "id": context}, **fields}
        return await self.push(wa_id, fields, name=name)

    async def push_choice(self, wa_id: str, value: str, *, name: str | None = None) -> str:
        """Tap ``value`` on the newest interactive message sent to ``wa_id`` (a button or a list
        row, whichever it is); AssertionError when that message does not offer it."""
        menus = [s for s in self.sent(to=wa_id) if s["type"] == "interactive"]
        assert menus, f"no interactive message was sent to {wa_id}"
        last = menus[-1]
        inter = last["body"]["interactive"]
        if inter["type"] == "button":
            for b in inter["action"]["buttons"]:
                if b["reply"]["id"] == value:
                    return await self.push_button_reply(
                        wa_id, value, b["reply"]["title"], context=last["id"], name=name
                    )
        else:
            for section in inter["action"]["sections"]:
                for row in section["rows"]:
                    if row["id"] == value:
                        return await self.push_list_reply(
                            wa_id, value, row["title"], row.get("description"), context=last["id"], name=name
                        )
        raise AssertionError(f"{value!r} is not offered by the last menu sent to {wa_id}: {last['choices']}")

    async def push_location(
        self, wa_id: str, latitude: float, longitude: float, *, name: str | None = None, address: str | None = None
    ) -> str:
        loc: JSON = {"latitude": latitude, "longitude": longitude}
        if name:
            loc["name"] = name
        if address:
            loc["address"] = address
        return await self.push(wa_id, {"type": "location", "location": loc})

    async def push_image(
        self,
        wa_id: str,
        data: bytes = b"\xff\xd8\xff\xe0fake-jpeg\xff\xd9",
        *,
        caption: str | None = None,
        mime_type: str = "image/jpeg",
    ) -> str:
        media = self._store_media(data, mime_type, None)
        image: JSON = {
            "mime_type": mime_type,
            "sha256": base64.b64encode(hashlib.sha256(data).digest()).decode(),
            "id": media.id,
        }
        if caption:
            image["caption"] = caption
        return await self.push(wa_id, {"type": "image", "image": image})

    async def push_audio(
        self, wa_id: str, data: bytes = b"OggS" + bytes(60), *, voice: bool = True, mime_type: str | None = None
    ) -> str:
        """A voice note (``voice: true``, OGG/Opus as WhatsApp records them) or an audio file."""
        mime = mime_type or ("audio/ogg; codecs=opus" if voice else "audio/mpeg")
        media = self._store_media(data, mime, None)
        audio: JSON = {
            "mime_type": mime,
            "sha256": base64.b64encode(hashlib.sha256(data).digest()).decode(),
            "id": media.id,
            "voice": voice,
        }
        return await self.push(wa_id, {"type": "audio", "audio": audio})

    async def push_sticker(self, wa_id: str) -> str:
        media = self._store_media(b"RIFFfakeWEBP", "image/webp", None)
        return await self.push(
            wa_id,
            {
                "type": "sticker",
                "sticker": {"mime_type": "image/webp", "sha256": "x", "id": media.id, "animated": False},
            },
        )

    async def push_status(
        self, wamid: str, status: str, *, wa_id: str | None = None, errors: list[JSON] | None = None
    ) -> int:
        """Report ``status`` for a message the bot sent (sent, delivered, read, failed)."""
        if wa_id is None:
            wa_id = next((s["to"] for s in self._sent if s["id"] == wamid), "0")
        return await self.deliver(self.status_payload(wamid, status, wa_id=wa_id, errors=errors))

    def expire_window(self, wa_id: str) -> None:
        """The person's last message is older than 24 hours now."""
        self.last_inbound[wa_id] = time.monotonic() - WINDOW_SECONDS - 1

    def window_open(self, wa_id: str) -> bool:
        at = self.last_inbound.get(wa_id)
        return at is not None and time.monotonic() - at < WINDOW_SECONDS

    # ---- faults -----------------------------------------------------------------------------
    def fail_next(
        self,
        endpoint: str = "messages",
        status: int | Literal["reset"] = 429,
        *,
        code: int | None = None,
        message: str | None = None,
        retry_after: float | None = None,
        count: int = 1,
    ) -> None:
        """The next ``count`` calls of ``endpoint`` ("messages" or "media") fail: HTTP ``status``
        with Graph error ``code`` (default: 130429 for 429, 131000 for 5xx, 100 otherwise), or
        ``"reset"`` (the connection is dropped without an answer)."""
        if status != "reset" and not isinstance(status, int):
            raise ValueError(f"unknown fault {status!r}")
        if code is None and status != "reset":
            code = 130429 if status == 429 else 131000 if status >= 500 else 100
        self._faults.setdefault(endpoint, []).append([status, code, message, retry_after, count])

    # ---- inspection -------------------------------------------------------------------------
    def sent(self, to: str | None = None, *, type: str | None = None) -> list[JSON]:
        """Accepted messages in order. Each: ``id`` (wamid), ``to``, ``type``, ``body`` (the
        request), ``text`` (what the person reads: text body, header + interactive body, caption,
        or the template's parameters), ``choices`` (button/row ids), ``titles``, ``template``,
        ``params``, ``media`` (an :class:`UploadedMedia`) and ``time`` (monotonic)."""
        return [s for s in self._sent if (to is None or s["to"] == to) and (type is None or s["type"] == type)]

    async def wait_for_sent(
        self, count: int, to: str | None = None, timeout: float = 5.0, *, type: str | None = None
    ) -> list[JSON]:
        """Wait until at least ``count`` messages were accepted (to ``to``, or at all); return
        them all. AssertionError with the traffic on timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            got = self.sent(to, type=type)
            if len(got) >= count:
                return got
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(self._dump(count, to, got, timeout))
            self._sent_changed.clear()
            try:
                await asyncio.wait_for(self._sent_changed.wait(), min(remaining, 0.25))
            except TimeoutError:
                pass

    def rejected(self, code: int | None = None) -> list[RecordedError]:
        return [e for e in self.errors if code is None or e.code == code]

    def _dump(self, count: int, to: str | None, got: list[JSON], timeout: float) -> str:
        where = f" to {to}" if to else ""
        lines = [f"expected at least {count} message(s){where} within {timeout}s, got {len(got)}:"]
        lines += [f"  {s['type']}: {s['text'][:160]!r} {s['choices'] or ''}" for s in got]
        if self.errors:
            lines.append("errors answered (last 10):")
            lines += [f"  {e.endpoint} -> {e.status} {e.code} {e.message}" for e in self.errors[-10:]]
        lines.append(f"webhook answers: {self.webhook_responses[-10:]}")
        return "\n".join(lines)

    # ---- HTTP -------------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        parts = request.path.strip("/").split("/")
        if request.method == "GET" and len(parts) == 2 and parts[0] in (self.api_version, "download"):
            return self._get_media(request, parts)
        endpoint = (
            parts[2]
            if len(parts) == 3 and parts[0] == self.api_version and parts[1] == self.phone_number_id
            else request.path
        )
        if request.method != "POST" or endpoint not in ("messages", "media"):
            return self._error(
                endpoint, None, GraphError(400, 100, "Unsupported request - method type: " + request.method.lower())
            )
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return self._error(
                endpoint, None, GraphError(401, 190, "Error validating access token: Session has expired or is invalid")
            )
        try:
            body, files = await self._read(request)
        except GraphError as exc:
            return self._error(endpoint, None, exc)
        self.requests.append(RecordedRequest(endpoint, body, time.monotonic()))
        faults = self._faults.get(endpoint)
        if faults:
            fault = faults[0]
            fault[4] -= 1
            if fault[4] <= 0:
                faults.pop(0)
            status, code, message, retry_after, _ = fault
            if status == "reset":
                self.errors.append(RecordedError(endpoint, body, "reset", None, "connection dropped", time.monotonic()))
                if request.transport is not None:
                    request.transport.abort()
                raise asyncio.CancelledError
            default = {
                130429: "(#130429) Rate limit hit",
                131056: "(#131056) (Business Account, Consumer Account) pair rate limit hit",
                80007: "(#80007) Rate limit issues",
                4: "(#4) Application request limit reached",
                131000: "(#131000) Something went wrong",
            }.get(code, f"(#{code}) injected fault")
            return self._error(
                endpoint, body, GraphError(status, code, message or default, "injected fault", retry_after=retry_after)
            )
        try:
            if endpoint == "media":
                result = self._upload(body, files)
            else:
                result = self._message(body)
        except GraphError as exc:
            return self._error(endpoint, body, exc)
        return web.json_response(result)

    async def _read(self, request: web.Request) -> tuple[Any, dict[str, UploadedMedia]]:
        ctype = request.content_type
        if ctype == "multipart/form-data":
            fields: JSON = {}
            files: dict[str, UploadedMedia] = {}
            reader = await request.multipart()
            async for part in reader:
                if part.filename is not None:
                    data = await part.read(decode=False)
                    files[part.name or "file"] = UploadedMedia(
                        "", part.headers.get("Content-Type", "application/octet-stream"), part.filename, bytes(data)
                    )
                else:
                    fields[part.name or ""] = await part.text()
            return fields, files
        raw = await request.read()
        try:
            return json.loads(raw) if raw else {}, {}
        except ValueError:
            raise GraphError(400, 100, "(#100) Invalid parameter", "request body is not valid JSON") from None

    def _error(self, endpoint: str, body: Any, exc: GraphError) -> web.Response:
        self.errors.append(RecordedError(endpoint, body, exc.status, exc.code, exc.message, time.monotonic()))
        error: JSON = {
            "message": exc.message,
            "type": "OAuthException",
            "code": exc.code,
            "fbtrace_id": "A" + os.urandom(8).hex(),
        }
        if exc.details:
            error["error_data"] = {"messaging_product": "whatsapp", "details": exc.details}
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
        return web.json_response({"error": error}, status=exc.status, headers=headers)

    # ---- media ------------------------------------------------------------------------------
    def _get_media(self, request: web.Request, parts: list[str]) -> web.StreamResponse:
        """``GET /<version>/<media-id>`` (the media's URL, as Meta answers it) and the download of
        that URL; both need the token, as on Meta's servers."""
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return self._error(
                "media_get",
                None,
                GraphError(401, 190, "Error validating access token: Session has expired or is invalid"),
            )
        media = self.media.get(parts[1])
        if media is None:
            return self._error("media_get", None, _invalid(f"Invalid media id {parts[1]!r}", 100))
        if parts[0] == "download":
            return web.Response(body=media.data, content_type=media.mime_type.split(";")[0])
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "url": f"http://127.0.0.1:{self._port}/download/{media.id}",
                "mime_type": media.mime_type,
                "sha256": hashlib.sha256(media.data).hexdigest(),
                "file_size": len(media.data),
                "id": media.id,
            }
        )

    def _store_media(self, data: bytes, mime_type: str, filename: str | None) -> UploadedMedia:
        media = UploadedMedia(str(10**15 + next(self._ids)), mime_type, filename, data)
        self.media[media.id] = media
        return media

    def _upload(self, fields: JSON, files: dict[str, UploadedMedia]) -> JSON:
        if fields.get("messaging_product") != "whatsapp":
            raise _invalid("messaging_product is required", 100)
        upload = files.get("file")
        if upload is None or not upload.data:
            raise _invalid("file is required", 100)
        mime = str(fields.get("type") or upload.mime_type)
        limits = {
            "image/jpeg": 5,
            "image/png": 5,
            "application/pdf": 100,
            "text/plain": 100,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": 100,
            "text/csv": 100,
        }
        if mime not in limits:
            raise GraphError(400, 131053, "(#131053) Media upload error", f"Unsupported media type {mime}")
        if len(upload.data) > limits[mime] * 1024 * 1024:
            raise GraphError(400, 131053, "(#131053) Media upload error", "file too large")
        return {"id": self._store_media(upload.data, mime, upload.filename).id}

    # ---- messages ---------------------------------------------------------------------------
    def _message(self, body: Any) -> JSON:
        if not isinstance(body, dict) or body.get("messaging_product") != "whatsapp":
            raise _invalid("The parameter messaging_product is required.", 100)
        to = body.get("to")
        if not isinstance(to, str) or not to.lstrip("+").isdigit():
            raise _invalid("The parameter to is required.", 100)
        kind = body.get("type", "text")
        if kind not in ("text", "interactive", "image", "document", "audio", "template") or not isinstance(
            body.get(kind), dict
        ):
            raise _invalid(f"Param {kind} is not supported or its object is missing", 100)
        record: JSON = {
            "to": to,
            "type": kind,
            "body": body,
            "choices": [],
            "titles": [],
            "template": None,
            "params": [],
            "media": None,
        }
        record["text"] = self._content(kind, body[kind], record)
        if kind != "template" and self.window != "off" and not self.window_open(to):
            if self.window == "error":
                raise GraphError(
                    400,
                    131047,
                    "(#131047) Re-engagement message",
                    "Message failed to send because more than 24 hours have passed since the customer "
                    "last replied to this number.",
                )
            late = True
        else:
            late = False
        if self.pair_rate is not None:
            bucket = self._pairs.setdefault(to, _Bucket(self.pair_rate, self.pair_burst))
            if not bucket.take():
                raise GraphError(
                    400,
                    131056,
                    "(#131056) (Business Account, Consumer Account) pair rate limit hit",
                    "Message failed to send because there were too many messages sent from this phone "
                    "number to the same phone number in a short period of time.",
                )
        wamid = self.new_wamid()
        record["id"] = wamid
        record["time"] = time.monotonic()
        self._sent.append(record)
        self._sent_changed.set()
        if late:
            self._later(
                lambda: self.push_status(
                    wamid,
                    "failed",
                    wa_id=to,
                    errors=[
                        {
                            "code": 131047,
                            "title": "Re-engagement message",
                            "message": "Re-engagement message",
                            "error_data": {
                                "details": "Message failed to send because more than 24 hours have "
                                "passed since the customer last replied to this number."
                            },
                            "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
                        }
                    ],
                )
            )
        elif self.auto_status and self.webhook_url:
            self._later(lambda: self._report(wamid, to))
        answer: JSON = {
            "messaging_product": "whatsapp",
            "contacts": [{"input": to, "wa_id": to}],
            "messages": [{"id": wamid}],
        }
        if kind == "template":
            answer["messages"][0]["message_status"] = "accepted"
        return answer

    def _content(self, kind: str, obj: JSON, record: JSON) -> str:
        """The visible text of a message of type ``kind``, after Meta's checks of its object."""
        if kind == "text":
            _check_len(obj.get("body"), 4096, "text['body']")
            return obj["body"]
        if kind == "interactive":
            return self._interactive(obj, record)
        if kind == "audio" and "caption" in obj:
            raise _invalid("Param audio['caption'] is not a valid parameter", 100)
        if kind in ("image", "document", "audio"):
            if "link" in obj:
                raise _invalid("this fake only serves uploaded media ids", 100)
            media = self.media.get(str(obj.get("id")))
            if media is None:
                raise _invalid(f"Invalid media id {obj.get('id')!r}", 131009)
            _check_len(obj.get("caption"), 1024, f"{kind}['caption']", required=False)
            record["media"] = media
            return obj.get("caption") or ""
        return self._template(obj, record)

    def _interactive(self, obj: JSON, record: JSON) -> str:
        sub = obj.get("type")
        body = obj.get("body") if isinstance(obj.get("body"), dict) else {}
        _check_len(body.get("text"), 1024, "interactive['body']['text']")
        header = obj.get("header")
        head_text = ""
        if header is not None:
            if not isinstance(header, dict) or header.get("type") != "text":
                raise _invalid("this fake supports text headers only", 100)
            _check_len(header.get("text"), 60, "interactive['header']['text']")
            head_text = header["text"] + "\n"
        if obj.get("footer") is not None:
            _check_len((obj.get("footer") or {}).get("text"), 60, "interactive['footer']['text']")
        action = obj.get("action") if isinstance(obj.get("action"), dict) else {}
        if sub == "button":
            buttons = action.get("buttons")
            if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
                raise _invalid("interactive['action']['buttons'] must have 1 to 3 buttons")
            for b in buttons:
                reply = b.get("reply") if isinstance(b, dict) and b.get("type") == "reply" else None
                if not isinstance(reply, dict):
                    raise _invalid("each button must be of type reply", 100)
                _check_len(reply.get("id"), 256, "button id")
                _check_len(reply.get("title"), 20, "button title")
                record["choices"].append(reply["id"])
                record["titles"].append(reply["title"])
            if len(set(record["choices"])) != len(buttons) or len(set(record["titles"])) != len(buttons):
                raise _invalid("Buttons must have unique ids and titles")
        elif sub == "list":
            _check_len(action.get("button"), 20, "interactive['action']['button']")
            sections = action.get("sections")
            if not isinstance(sections, list) or not 1 <= len(sections) <= 10:
                raise _invalid("interactive['action']['sections'] must have 1 to 10 sections")
            for section in sections:
                if not isinstance(section, dict):
                    raise _invalid("section must be an object", 100)
                _check_len(section.get("title"), 24, "section title", required=len(sections) > 1)
                rows = section.get("rows")
                if not isinstance(rows, list) or not rows:
                    raise _invalid("each section needs rows")
                for row in rows:
                    if not isinstance(row, dict):
                        raise _invalid("row must be an object", 100)
                    _check_len(row.get("id"), 200, "row id")
                    _check_len(row.get("title"), 24, "row title")
                    _check_len(row.get("description"), 72, "row description", required=False)
                    record["choices"].append(row["id"])
                    record["titles"].append(row["title"])
            if not 1 <= len(record["choices"]) <= 10:
                raise _invalid("Total row count exceed max allowed count: 10")
            if len(set(record["choices"])) != len(record["choices"]):
                raise _invalid("Row ids must be unique")
        else:
            raise _invalid(f"interactive type {sub!r} is not supported by this fake", 100)
        return head_text + body["text"]

    def _template(self, obj: JSON, record: JSON) -> str:
        name = obj.get("name")
        language = (obj.get("language") or {}).get("code") if isinstance(obj.get("language"), dict) else None
        if name not in self.templates or self.templates[name][0] != language:
            raise GraphError(
                404,
                132001,
                "(#132001) Template name does not exist in the translation",
                f"template name ({name}) does not exist in {language}",
            )
        params: list[str] = []
        for comp in obj.get("components") or []:
            if isinstance(comp, dict) and comp.get("type") == "body":
                for p in comp.get("parameters") or []:
                    if (
                        not isinstance(p, dict)
                        or p.get("type") != "text"
                        or not isinstance(p.get("text"), str)
                        or not p["text"]
                    ):
                        raise _invalid("body parameters must be non-empty text", 132000)
                    if "\n" in p["text"] or "\t" in p["text"] or "     " in p["text"]:
                        raise GraphError(
                            400,
                            132018,
                            "(#132018) There was an issue with the parameters in your template.",
                            "Param text cannot have new-line/tab characters or more than 4 consecutive spaces",
                        )
                    params.append(p["text"])
        if len(params) != self.templates[name][1]:
            raise GraphError(
                400,
                132000,
                "(#132000) Number of parameters does not match the expected number of params",
                f"body: number of localizable_params ({len(params)}) does not match the expected number "
                f"of params ({self.templates[name][1]})",
            )
        record["template"] = name
        record["params"] = params
        return " | ".join(params)

    # ---- status reports ---------------------------------------------------------------------
    def _later(self, work: Any) -> None:
        """Run ``work()`` (a webhook to the bot) just after the current answer went out."""

        async def run() -> None:
            await asyncio.sleep(0.01)
            try:
                await work()
            except (aiohttp.ClientError, OSError, RuntimeError):
                pass

        task = asyncio.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _report(self, wamid: str, to: str) -> None:
        for status in ("sent", "delivered"):
            await self.push_status(wamid, status, wa_id=to)
