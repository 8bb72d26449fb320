"""WhatsApp through Meta's Cloud API (the Graph API), over aiohttp.

Inbound: Meta POSTs webhook payloads to ``/webhooks/whatsapp``. The body's signature is checked
*before* anything is parsed; the raw body is stored in the webhook inbox (:class:`WhatsAppInbox`,
one small transaction) and only then is the request answered 200 (500 when it cannot be stored:
Meta sends it again). The messages are handled from there in background tasks (one ordered
chain per person; references kept, awaited at shutdown), stored as turns with retries while the
database is down, and the inbox row is deleted once every message of it is stored. Rows that a
crash or a shutdown left are handled at the next start (:meth:`WhatsAppChannel.start_receiving`).
:mod:`~bot.channels.whatsapp.whatsapp_parse` reads the payloads. Redeliveries (Meta retries for
days) and a body handled twice (a crash after its turns, before its row was deleted) are
deduplicated by the dispatcher on ``("whatsapp", wamid)``; wamids are unique over time. A bare
number typed after a numbered menu is resolved against the newest message sent to that person
(:class:`WhatsAppMenus`).

Outbound: :mod:`~bot.channels.whatsapp.whatsapp_render` renders replies; :meth:`WhatsAppChannel.send`
posts one stored body. Images and documents are uploaded (``POST /{phone-number-id}/media``) and
sent by media id.

The 24-hour customer-service window: replies are free-form (the person just wrote). When a
notification's person last wrote more than 24 h ago (less a small margin, :class:`WhatsAppWindow`),
its first part goes out as the approved template named in settings with the text as its one body
parameter, and the other parts are recorded as not sent. Without a template such a notification
fails for good with a clear ``last_error``. Delivery statuses are recorded on the outbox row
(:class:`WhatsAppStatuses`).
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hmac
import json
import logging
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import aiohttp
from aiohttp import web

from bot.channels.base import (
    UNLIMITED,
    ChannelContext,
    ChannelSpec,
    Clock,
    CommandMenu,
    Handle,
    RateLimit,
    mask,
    retry_after_seconds,
    retry_until_stored,
)
from bot.channels.intake import DeliveryStatuses, Intake, WebhookInbox
from bot.channels.whatsapp.whatsapp_parse import (
    CHANNEL,
    NUMBER,
    StatusUpdate,
    describe_error,
    numbered_choice,
    parse_webhook,
    signature_ok,
)
from bot.channels.whatsapp.whatsapp_render import render
from bot.domain.messages import Inbound, Kind, SendError, SendResult

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/whatsapp"
SIGNATURE_HEADER = "X-Hub-Signature-256"
MAX_WEBHOOK_BODY = 512 * 1024
WINDOW = timedelta(hours=24)
#: the window is taken as closed this much early: our "last message" is when it was handled,
#: which may be a little after the person sent it (Meta counts from sending)
WINDOW_MARGIN = timedelta(minutes=10)

# Graph API error codes (https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes)
RATE_LIMIT_WAIT = {4: 60.0, 80007: 60.0, 130429: 2.0, 131048: 300.0, 131056: 6.0, 133016: 60.0}
TRANSIENT_CODES = {1, 2, 131000, 131016, 131057, 133004}


# ---- database ports ---------------------------------------------------------------------
class WhatsAppWindow(Protocol):
    async def last_inbound_at(self, address: str) -> datetime | None:
        """When the person last wrote to us (the 24-hour window), or None."""
        ...


WhatsAppStatuses = DeliveryStatuses


class WhatsAppMenus(Protocol):
    async def last_delivered_payload(self, address: str) -> dict[str, Any] | None:
        """The stored payload of the newest message that went (or is going) out to ``address``."""
        ...


WhatsAppInbox = WebhookInbox


# ---- settings, limits, building -----------------------------------------------------------
@dataclass(frozen=True)
class WhatsAppConfig:
    token: str
    phone_number_id: str
    app_secret: str
    verify_token: str
    api_base_url: str
    template_name: str | None = None
    template_language: str = "id"
    global_rate: float = 80.0
    user_rate: float = 1 / 6
    user_burst: int = 30


def config_from(settings: Any) -> WhatsAppConfig | None:
    """The ``KANAL_WHATSAPP_*`` values of the app's settings; None (WhatsApp off) without a token."""
    if not settings.whatsapp_token:
        return None
    return WhatsAppConfig(
        token=settings.whatsapp_token,
        phone_number_id=settings.whatsapp_phone_number_id or "",
        app_secret=settings.whatsapp_app_secret or "",
        verify_token=settings.whatsapp_verify_token or "",
        api_base_url=settings.whatsapp_api_base_url,
        template_name=settings.whatsapp_template_notice,
        template_language=settings.whatsapp_template_language,
        global_rate=settings.whatsapp_global_rate,
        user_rate=settings.whatsapp_user_rate,
        user_burst=settings.whatsapp_user_burst,
    )


def whatsapp_limit(global_rate: float = 80.0, user_rate: float = 1 / 6, user_burst: int = 30) -> RateLimit:
    """Cloud API: 80 messages/s per business number by default; Meta's pair limit allows about
    one message every 6 s to one person, with bursts (up to 45) borrowed from later. 0 = none."""
    g = global_rate if global_rate > 0 else UNLIMITED.global_per_second
    u = user_rate if user_rate > 0 else UNLIMITED.per_address_per_second
    return RateLimit(
        global_per_second=g,
        global_burst=max(1, int(min(g, 10**9))),
        per_address_per_second=u,
        per_address_burst=user_burst if user_rate > 0 else 10**9,
    )


def build(config: WhatsAppConfig, context: ChannelContext) -> WhatsAppChannel:
    """The channel; ``context.ports`` implements :class:`WhatsAppWindow`, :class:`WhatsAppStatuses`,
    :class:`WhatsAppMenus` and :class:`WhatsAppInbox`."""
    return WhatsAppChannel(
        token=config.token,
        phone_number_id=config.phone_number_id,
        app_secret=config.app_secret,
        verify_token=config.verify_token,
        api_base_url=config.api_base_url,
        handle=context.handle,
        clock=context.clock,
        template_name=config.template_name,
        template_language=config.template_language,
        window=context.ports,
        statuses=context.ports,
        menus=context.ports,
        inbox=context.ports,
        rate_limit=whatsapp_limit(config.global_rate, config.user_rate, config.user_burst),
    )


# ---- the channel ------------------------------------------------------------------------
class WhatsAppChannel:
    name = CHANNEL
    render = staticmethod(render)

    def __init__(
        self,
        *,
        token: str,
        phone_number_id: str,
        app_secret: str,
        verify_token: str,
        api_base_url: str,
        handle: Handle,
        clock: Clock,
        template_name: str | None = None,
        template_language: str = "id",
        window: WhatsAppWindow | None = None,
        statuses: WhatsAppStatuses | None = None,
        menus: WhatsAppMenus | None = None,
        inbox: WhatsAppInbox | None = None,
        request_timeout: float = 30.0,
        rate_limit: RateLimit | None = None,
    ) -> None:
        self._token = token
        self.phone_number_id = phone_number_id
        self._app_secret = app_secret
        self._verify_token = verify_token
        self.api_base_url = api_base_url.rstrip("/")
        self._handle = handle
        self.clock = clock
        self.template_name = template_name
        self.template_language = template_language
        self._window = window
        self._statuses = statuses
        self._menus = menus
        self._inbox = inbox  # None (tests): acknowledged before it is stored
        self.intake = Intake(CHANNEL, inbox, log)
        self.rate_limit = rate_limit
        self._timeout = aiohttp.ClientTimeout(total=request_timeout)
        self._session: aiohttp.ClientSession | None = None
        self._uploaded: OrderedDict[int, str] = OrderedDict()  # outbox row -> media id (a retry does not upload again)
        self.store_retry_window = 600.0  # seconds a webhook message is retried while the database is down

    def __repr__(self) -> str:  # never show the token
        return f"WhatsAppChannel(phone_number_id={self.phone_number_id!r})"

    async def idle(self) -> None:
        """Return when every webhook message and status received so far has been handled."""
        await self.intake.idle()

    def routes(self) -> list[web.RouteDef]:
        return [web.get(WEBHOOK_PATH, self.verify), web.post(WEBHOOK_PATH, self.webhook)]

    def summary(self, http_url: str) -> str:
        return f"WhatsApp (webhook {WEBHOOK_PATH})"

    async def start_receiving(self, commands: CommandMenu) -> None:
        """The webhook receives as soon as the HTTP server serves it; the bodies a crash or a
        shutdown left in the inbox are handled now, in the order they arrived."""
        self.intake.start_recovery(lambda inbox_id, body: self._accept(_json_dict(body), inbox_id))

    async def stop_receiving(self) -> None:
        """Webhooks are refused in :meth:`stop`, after delivery stopped: messages being handled
        then still get their answers sent."""

    async def start(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        self.intake.closing = False

    async def stop(self, timeout: float = 10.0) -> None:
        """Refuse new webhooks (Meta re-sends them), finish the ones being handled, close HTTP."""
        await self.intake.stop(timeout)
        if self._session is not None:
            await self._session.close()
            self._session = None

    # ---- webhook ------------------------------------------------------------------------
    async def verify(self, request: web.Request) -> web.Response:
        """GET: Meta's subscription handshake; the verify token is compared in constant time."""
        q = request.query
        mode, given, challenge = q.get("hub.mode"), q.get("hub.verify_token", ""), q.get("hub.challenge")
        if (
            mode == "subscribe"
            and challenge is not None
            and hmac.compare_digest(given.encode(), self._verify_token.encode())
        ):
            log.info("whatsapp: webhook subscription verified")
            return web.Response(text=challenge[:256], content_type="text/plain")
        return web.Response(status=403, text="forbidden")

    async def webhook(self, request: web.Request) -> web.Response:
        """POST: size check, signature over the raw body, parse, store in the inbox, acknowledge;
        handle in background."""
        body = await self.intake.read_body(request, MAX_WEBHOOK_BODY)
        if isinstance(body, web.Response):
            return body
        header = request.headers.get(SIGNATURE_HEADER)
        if not header:
            return web.Response(status=401, text="signature required")
        if not signature_ok(self._app_secret, body, header):
            log.warning("whatsapp webhook with a wrong signature refused")
            return web.Response(status=403, text="forbidden")
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested deeper than the parser goes
            return web.Response(status=400, text="bad json")
        if not isinstance(data, dict):
            return web.Response(status=400, text="bad payload")
        inbox_id = None
        if self._inbox is not None:
            try:  # stored before Meta is told: an acknowledged webhook is never sent again
                inbox_id = await self._inbox.store_webhook(body)
            except Exception as exc:
                log.error("whatsapp webhook not stored (%s): answered 500, Meta sends it again", type(exc).__name__)
                return web.Response(status=500, text="retry")
        self._accept(data, inbox_id)
        return web.Response(text="ok")

    def _accept(self, data: dict[str, Any], inbox_id: int | None) -> list[asyncio.Task]:
        """Handle a (stored) webhook body in background tasks; its inbox row is deleted once all
        of its messages are stored. The tasks, the row's last."""
        events = parse_webhook(data, phone_number_id=self.phone_number_id)
        for err in events.errors:
            log.warning("whatsapp webhook reports an error: %s", err)
        by_person: dict[str, list[Inbound]] = {}
        for inbound in events.messages:
            by_person.setdefault(inbound.user_key, []).append(inbound)
        spawn = self.intake.spawn
        tasks = [spawn(key, lambda m=messages: self._process_messages(m)) for key, messages in by_person.items()]
        tasks += [spawn(None, lambda u=update: self._process_status(u)) for update in events.statuses]
        return self.intake.track(inbox_id, tasks)

    async def _process_messages(self, messages: list[Inbound]) -> bool:
        """Store each message as a turn, in order; False when one could not be stored."""
        stored = True
        for inbound in messages:
            inbound = await self._resolve_number(inbound)
            stored = await self._handle_until_stored(inbound) and stored
        return stored

    async def _resolve_number(self, inbound: Inbound) -> Inbound:
        """A bare number typed after a numbered menu is that menu's choice."""
        if inbound.kind is not Kind.TEXT or self._menus is None or not NUMBER.match(inbound.text or ""):
            return inbound
        try:
            payload = await self._menus.last_delivered_payload(inbound.user_key)
        except Exception as exc:
            log.warning("whatsapp: last menu not readable (%s); the number is handled as text", type(exc).__name__)
            return inbound
        value = numbered_choice(inbound.text, payload)
        if value is None:
            return inbound
        return dataclasses.replace(inbound, kind=Kind.CHOICE, choice=value, text=None)

    async def _handle_until_stored(self, inbound: Inbound) -> bool:
        """The webhook is already acknowledged, so a turn that cannot be stored (database down)
        is retried with backoff for up to ``store_retry_window`` seconds (then it waits in the
        inbox for the next start)."""
        return await retry_until_stored(
            self._handle,
            inbound,
            window=self.store_retry_window,
            label=f"whatsapp message …{inbound.external_id[-12:]}",
            stopping=lambda: self.intake.closing,
            logger=log,
        )

    async def _process_status(self, update: StatusUpdate) -> bool:
        if update.status == "failed":
            log.warning(
                "whatsapp message …%s to %s failed: %s",
                update.message_id[-12:],
                mask(update.recipient or ""),
                update.error,
            )
        u = update
        return await self.intake.record_status(self._statuses, u.message_id, u.status, u.at, u.error)

    # ---- sending ------------------------------------------------------------------------
    async def _window_open(self, address: str) -> bool:
        if self._window is None:
            return True
        try:
            last = await self._window.last_inbound_at(address)
        except Exception as exc:
            raise SendError(f"WhatsApp: 24-hour window not checkable ({type(exc).__name__})", retryable=True) from None
        return last is not None and self.clock.now() - last < WINDOW - WINDOW_MARGIN

    async def send(self, address: str, payload: dict[str, Any], *, ref: int | None = None) -> SendResult:
        body = {k: v for k, v in payload.items() if not k.startswith("_")}
        kind = body.get("type")
        if not kind or kind not in body:
            raise SendError(f"WhatsApp: malformed payload (type {kind!r})", retryable=False)
        if payload.get("_notify") and not await self._window_open(address):
            if "_template" not in payload:
                raise SendError(
                    "not sent: outside the 24-hour window; the template message stands for this part", retryable=False
                )
            if not self.template_name:
                raise SendError(
                    "outside WhatsApp's 24-hour window and no template configured (KANAL_WHATSAPP_TEMPLATE_NOTICE): "
                    "re-engagement required, the person has to write first",
                    retryable=False,
                )
            body = {
                "type": "template",
                "template": {
                    "name": self.template_name,
                    "language": {"code": self.template_language},
                    "components": [
                        {"type": "body", "parameters": [{"type": "text", "text": payload["_template"] or "-"}]}
                    ],
                },
            }
        elif "_upload" in payload:
            media_id = await self._upload(payload["_upload"], ref)
            body[kind] = {**body[kind], "id": media_id}
        message = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": address, **body}
        data = await self._post(f"{self.api_base_url}/{self.phone_number_id}/messages", json_body=message)
        try:
            mid = str(data["messages"][0]["id"])
        except (KeyError, IndexError, TypeError):
            raise SendError("WhatsApp: answer without a message id", retryable=False) from None
        if ref is not None:
            self._uploaded.pop(ref, None)
        return SendResult(platform_message_id=mid)

    async def _upload(self, upload: dict[str, Any], ref: int | None) -> str:
        if ref is not None and ref in self._uploaded:
            return self._uploaded[ref]
        form = aiohttp.FormData()
        form.add_field("messaging_product", "whatsapp")
        form.add_field("type", upload["mime_type"])
        form.add_field(
            "file",
            base64.b64decode(upload["data_b64"]),
            filename=upload.get("filename") or "file",
            content_type=upload["mime_type"],
        )
        data = await self._post(f"{self.api_base_url}/{self.phone_number_id}/media", form=form)
        media_id = data.get("id")
        if not media_id:
            raise SendError("WhatsApp: media upload answered without an id", retryable=True)
        if ref is not None:
            self._uploaded[ref] = str(media_id)
            while len(self._uploaded) > 1000:
                self._uploaded.popitem(last=False)
        return str(media_id)

    async def fetch_media(self, file_ref: str) -> tuple[bytes, str]:
        """A received photo's or voice note's bytes by its media id: ``GET /<media-id>`` gives a
        short-lived URL, fetched with the same token (Meta keeps received media 30 days)."""
        if self._session is None:
            await self.start()
        assert self._session is not None
        if not file_ref.isascii() or not file_ref.isdigit():
            raise SendError("not a WhatsApp media id", retryable=False)
        headers = {"Authorization": f"Bearer {self._token}"}
        async with self._session.get(f"{self.api_base_url}/{file_ref}", headers=headers) as resp:
            raw = await resp.read()
            if resp.status != 200:
                raise graph_error(resp.status, _json_or_none(raw))
        info = _json_or_none(raw)
        url = info.get("url") if isinstance(info, dict) else None
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise SendError("WhatsApp media: no download URL", retryable=False)
        async with self._session.get(url, headers=headers) as resp:
            if resp.status != 200:
                raise SendError(f"WhatsApp media download: HTTP {resp.status}", retryable=resp.status >= 500)
            data = await resp.read()
        mime = info.get("mime_type")
        return data, mime.split(";")[0].strip() if isinstance(mime, str) and mime else "application/octet-stream"

    async def _post(
        self, url: str, *, json_body: dict[str, Any] | None = None, form: aiohttp.FormData | None = None
    ) -> dict[str, Any]:
        if self._session is None:
            await self.start()
        assert self._session is not None
        headers = {"Authorization": f"Bearer {self._token}"}
        try:
            async with self._session.post(url, json=json_body, data=form, headers=headers) as resp:
                raw = await resp.read()
                status, retry_after = resp.status, resp.headers.get("Retry-After")
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise SendError(f"WhatsApp network: {type(exc).__name__}", retryable=True) from None
        try:
            data = json.loads(raw) if raw else {}
        except (ValueError, UnicodeDecodeError):
            data = None
        if 200 <= status < 300 and isinstance(data, dict):
            return data
        raise graph_error(status, data, retry_after)


def graph_error(status: int, data: Any, retry_after: str | None = None) -> SendError:
    """A Graph API error answer as the outbox's retryable/permanent :class:`SendError`."""
    err = data.get("error") if isinstance(data, dict) and isinstance(data.get("error"), dict) else {}
    code = err.get("code")
    details = err.get("error_data", {}).get("details") if isinstance(err.get("error_data"), dict) else None
    text = describe_error(code, err.get("message"), details) if code is not None else f"HTTP {status}"
    try:
        n = int(code) if code is not None else None
    except (TypeError, ValueError):
        n = None
    wait = retry_after_seconds(retry_after)
    if n in RATE_LIMIT_WAIT or status == 429:
        return SendError(
            f"WhatsApp rate limit: {text}", retryable=True, retry_after=wait or RATE_LIMIT_WAIT.get(n, 5.0)
        )
    if n in TRANSIENT_CODES or status >= 500:
        return SendError(f"WhatsApp {status}: {text}", retryable=True, retry_after=wait)
    if n == 190 or status == 401:
        log.error("whatsapp: the access token was refused: %s", text)
    return SendError(f"WhatsApp {status}: {text}", retryable=False)


SPEC = ChannelSpec(name=CHANNEL, render=render, configure=config_from, build=build)


def _json_dict(body: bytes) -> dict[str, Any]:
    """A stored body as the JSON object it was; {} for what cannot be read."""
    data = _json_or_none(body) if body else None
    return data if isinstance(data, dict) else {}


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
