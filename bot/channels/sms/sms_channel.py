"""SMS for feature phones: the channel, over an Android phone as gateway or an HTTP aggregator.

Inbound: the gateway POSTs to ``/webhooks/sms`` (an aggregator's delivery reports to
``/webhooks/sms/report``). The request is verified first (Android: the ``X-Signature`` HMAC over
the body and ``X-Timestamp``, at most :data:`MAX_SKEW` old; aggregator: the shared secret in
``?token=`` or ``X-Kanal-Token``), read into the canonical form (``sms_parse.from_android`` /
``from_aggregator``), stored in the webhook inbox and only then answered 200 (500 when it cannot
be stored: the gateway sends it again). Messages are handled from the inbox by the intake WhatsApp
uses too (:mod:`bot.channels.intake`: one ordered chain per person, the row deleted once stored,
recovery at start); redeliveries are deduplicated by the dispatcher on the gateway's event id.
Numbers that are not mobiles (operators' names, short codes: promotions and balance messages) are
never answered.

Identity: a person's key is a keyed hash of their number (:func:`~bot.channels.sms.sms_parse.number_key`,
the key kept in the database as an app secret); the number itself is kept only in
``sms_numbers`` (:class:`SmsNumbers`), to send to, and goes with erasure. A whole message "STOP"
or "BERHENTI" becomes ``/stopsms`` (no more notifications; answers to what the person writes still
go), "MULAI" after a STOP ``/mulaisms``.

Outbound: one SMS per reply (:mod:`~bot.channels.sms.sms_text`). Before sending: a notification to
a person who sent STOP is not sent (failed for good, ``last_error`` says why); a reply that would
take a person past ``daily_cap`` segments today is replaced by one short "limit reached" notice,
then nothing more that day (notifications are not capped: staff, not the sender, cause them).
Segments sent are counted per day for the month's cost estimate.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web

from bot.channels.base import (
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
from bot.channels.sms.sms_parse import (
    CHANNEL,
    START_COMMAND,
    STOP_COMMAND,
    Fields,
    from_aggregator,
    from_android,
    is_start,
    is_stop,
    normalise_number,
    number_key,
    received_at,
    signature_ok,
)
from bot.channels.sms.sms_text import render, segments, to_gsm
from bot.domain.i18n import N_, gettext
from bot.domain.messages import Inbound, Kind, SendError, SendResult

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/sms"
REPORT_PATH = "/webhooks/sms/report"
MAX_WEBHOOK_BODY = 64 * 1024
#: an Android webhook signed longer ago than this is refused (a replayed request)
MAX_SKEW = 600
KEY_SECRET = "sms_number_key"
CAP_NOTICE = N_("Batas SMS hari ini sudah habis. Pesan Anda tetap kami simpan; balasan berikutnya besok.")


# ---- database ports ---------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    number: str
    opted_out: bool
    erased: bool


class SmsNumbers(WebhookInbox, DeliveryStatuses, Protocol):
    async def kept_secret(self, name: str, make: Callable[[], str]) -> str: ...

    async def sms_remember(self, key: str, number: str) -> None:
        """Keep ``number`` behind ``key`` (committed)."""
        ...

    async def sms_target(self, key: str) -> Target | None:
        """The number behind ``key``, its STOP and erasure marks; None when none is kept."""
        ...

    async def sms_before_send(self, key: str, day: str) -> tuple[Target | None, int, bool]:
        """What a send to ``key`` needs, read at once: :meth:`sms_target`, the segments sent to
        ``key`` on ``day`` and whether the cap notice went out."""
        ...

    async def sms_count(self, key: str, day: str, segments: int, capped: bool) -> None: ...

    async def sms_forget(self, key: str) -> None:
        """Delete an erased person's number (their goodbye went out)."""
        ...


# ---- settings ---------------------------------------------------------------------------
@dataclass(frozen=True)
class SmsConfig:
    transport: str  # android | aggregator
    webhook_secret: str
    gateway_url: str = ""
    gateway_user: str = "sms"
    gateway_password: str = ""
    send_url: str = ""  # aggregator: URL template with {to}, {text}, {ref}
    send_method: str = "GET"
    id_field: str = "message_id"
    fields: Fields = Fields()
    rate: float = 0.5
    daily_cap: int = 100
    country: str = "62"
    timezone: str = "Asia/Jakarta"


def config_from(settings: Any) -> SmsConfig | None:
    """The ``KANAL_SMS_*`` values; None (SMS off) without ``KANAL_SMS_TRANSPORT``."""
    if not settings.sms_transport:
        return None
    return SmsConfig(
        transport=settings.sms_transport,
        webhook_secret=settings.sms_webhook_secret or "",
        gateway_url=settings.sms_gateway_url or "",
        gateway_user=settings.sms_gateway_user,
        gateway_password=settings.sms_gateway_password or "",
        send_url=settings.sms_aggregator_send_url or "",
        send_method=settings.sms_aggregator_method,
        id_field=settings.sms_aggregator_id_field,
        fields=Fields.parse(settings.sms_aggregator_fields),
        rate=settings.sms_rate,
        daily_cap=settings.sms_daily_cap,
        country=settings.sms_country_code,
        timezone=settings.timezone,
    )


def sms_limit(rate: float) -> RateLimit:
    """The gateway's pace (an Android phone sends about one SMS a second at best; its operator may
    block a SIM that sends faster), and one SMS a second to one person."""
    g = rate if rate > 0 else 1e9
    return RateLimit(global_per_second=g, global_burst=max(1, int(min(g, 10))), per_address_per_second=1.0,
                     per_address_burst=3)  # fmt: skip


def build(config: SmsConfig, context: ChannelContext) -> SmsChannel:
    return SmsChannel(config, handle=context.handle, clock=context.clock, ports=context.ports)


# ---- transports ---------------------------------------------------------------------------
class Transport(Protocol):
    async def send(self, session: aiohttp.ClientSession, number: str, text: str, ref: int | None) -> str: ...


def _error(status: int, body: bytes, retry_after: str | None, what: str) -> SendError:
    wait = retry_after_seconds(retry_after)
    detail = body[:200].decode("utf-8", "replace").replace("\n", " ")
    if status == 429:
        return SendError(f"{what}: rate limited (HTTP 429)", retryable=True, retry_after=wait or 5.0)
    if status >= 500 or status == 408:
        return SendError(f"{what}: HTTP {status} {detail}", retryable=True, retry_after=wait)
    if status in (401, 403):
        log.error("sms: the gateway refused our credentials (HTTP %d)", status)
    return SendError(f"{what}: HTTP {status} {detail}", retryable=False)


class AndroidGateway:
    """*SMS Gateway for Android*, local server mode: ``POST {url}/message`` with Basic auth; the
    message id is ours (``kanal-<outbox row>-<random>``, the same for the retries of a row in this
    process until one is answered), so a retry after a lost answer is refused as a duplicate (409)
    instead of sent twice."""

    def __init__(self, url: str, user: str, password: str) -> None:
        self.url = url.rstrip("/")
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        self._auth = {"Authorization": f"Basic {token}"}
        self._ids: OrderedDict[int, str] = OrderedDict()

    def __repr__(self) -> str:
        return f"AndroidGateway({self.url!r})"

    async def send(self, session: aiohttp.ClientSession, number: str, text: str, ref: int | None) -> str:
        mid = self._ids.get(ref) if ref is not None else None
        if mid is None:  # new for every row, the same for its retries (outbox ids can come again on SQLite)
            mid = f"kanal-{ref if ref is not None else 'x'}-{secrets.token_hex(6)}"
            if ref is not None:
                self._ids[ref] = mid
                while len(self._ids) > 1000:
                    self._ids.popitem(last=False)
        body = {"id": mid, "textMessage": {"text": text}, "phoneNumbers": [number], "withDeliveryReport": True}
        async with session.post(f"{self.url}/message", json=body, headers=self._auth) as resp:
            raw = await resp.read()
            if resp.status != 409 and not 200 <= resp.status < 300:
                raise _error(resp.status, raw, resp.headers.get("Retry-After"), "SMS gateway")
        self._ids.pop(ref, None)  # a row's id is kept for its retries only: SQLite may give the id again
        if resp.status == 409:
            return mid  # sent before; its answer was lost
        try:
            return str(json.loads(raw).get("id") or mid)
        except (ValueError, AttributeError):
            return mid


class Aggregator:
    """A generic HTTP aggregator: ``send_url`` with ``{to}``, ``{text}`` and ``{ref}`` filled in
    (URL-encoded), sent as GET or, with ``POST``, its query as a form; the answer's ``id_field``
    (a dotted path into its JSON) is the message id its delivery reports name."""

    def __init__(self, send_url: str, method: str, id_field: str) -> None:
        self._send_url = send_url  # holds credentials: never logged
        self.method = method.upper()
        self.id_field = id_field

    def __repr__(self) -> str:
        return f"Aggregator({urlsplit(self._send_url).netloc!r})"

    async def send(self, session: aiohttp.ClientSession, number: str, text: str, ref: int | None) -> str:
        values = {"{to}": quote(number.lstrip("+"), safe=""), "{text}": quote(text, safe=""), "{ref}": str(ref or "")}
        url = self._send_url
        for placeholder, value in values.items():  # other braces in the template stay as they are
            url = url.replace(placeholder, value)
        if self.method == "POST":
            parts = urlsplit(url)
            form = dict(parse_qsl(parts.query, keep_blank_values=True))
            request = session.post(urlunsplit(parts._replace(query="")), data=form)
        else:
            request = session.get(url)
        async with request as resp:
            raw = await resp.read()
            if not 200 <= resp.status < 300:
                raise _error(resp.status, raw, resp.headers.get("Retry-After"), "SMS aggregator")
        try:
            value: Any = json.loads(raw)
            for part in self.id_field.split("."):
                value = value[int(part)] if isinstance(value, list) else value[part]
        except (ValueError, KeyError, IndexError, TypeError):
            raise SendError(
                f"SMS aggregator: answer without {self.id_field!r}: {raw[:200].decode('utf-8', 'replace')}",
                retryable=False,
            ) from None
        return str(value)


# ---- the channel ------------------------------------------------------------------------
class SmsChannel:
    name = CHANNEL
    #: every SMS costs: the replies of one turn go as one message (``bot.domain.messages.merge_replies``)
    merge_replies = True

    def __init__(self, config: SmsConfig, *, handle: Handle, clock: Clock, ports: SmsNumbers | None) -> None:
        self.config = config
        self.render = render
        self.rate_limit = sms_limit(config.rate)
        self.transport: Transport = (
            AndroidGateway(config.gateway_url, config.gateway_user, config.gateway_password)
            if config.transport == "android"
            else Aggregator(config.send_url, config.send_method, config.id_field)
        )
        self._handle = handle
        self.clock = clock
        self._ports = ports
        self._zone = ZoneInfo(config.timezone)
        self._key_secret: bytes | None = None
        self._session: aiohttp.ClientSession | None = None
        self.intake = Intake(CHANNEL, ports, log)
        self.commands: frozenset[str] = frozenset()
        self.store_retry_window = 600.0  # seconds an SMS is retried while the database is down

    def __repr__(self) -> str:  # never show a secret
        return f"SmsChannel({self.transport!r})"

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post(WEBHOOK_PATH, self.webhook),
            web.get(WEBHOOK_PATH, self.webhook),
            web.post(REPORT_PATH, self.report),
            web.get(REPORT_PATH, self.report),
        ]

    def summary(self, http_url: str) -> str:
        return f"SMS via {self.config.transport} (webhook {WEBHOOK_PATH})"

    async def start(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        self.intake.closing = False
        await self._secret()

    async def _secret(self) -> bytes:
        if self._key_secret is None:
            if self._ports is None:
                self._key_secret = b"tests-without-a-database"
            else:
                made = await self._ports.kept_secret(KEY_SECRET, lambda: secrets.token_urlsafe(32))
                self._key_secret = made.encode()
        return self._key_secret

    async def start_receiving(self, commands: CommandMenu) -> None:
        """Bodies a crash or a shutdown left in the inbox are handled now, oldest first. The
        commands are what a message may name without its "/" (a feature phone hides the "/")."""
        self.commands = frozenset(name for pairs in commands.values() for name, _ in pairs)
        self.intake.start_recovery(self._accept_stored)

    async def stop_receiving(self) -> None:
        """Webhooks are refused in :meth:`stop`, after delivery stopped."""

    async def stop(self, timeout: float = 10.0) -> None:
        """Refuse new webhooks (the gateway sends them again), finish the ones being handled."""
        await self.intake.stop(timeout)
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def idle(self) -> None:
        """Return when every webhook received so far has been handled."""
        await self.intake.idle()

    # ---- webhooks -------------------------------------------------------------------------
    def _token_ok(self, request: web.Request) -> bool:
        given = request.query.get("token") or request.headers.get("X-Kanal-Token") or ""
        return bool(self.config.webhook_secret) and secrets.compare_digest(
            given.encode(), self.config.webhook_secret.encode()
        )

    async def _fields(self, request: web.Request, body: bytes) -> dict[str, Any] | None:
        """An aggregator's fields: the query, then the form or JSON body."""
        data: dict[str, Any] = {k: v for k, v in request.query.items() if k != "token"}
        if not body:
            return data
        if request.content_type == "application/json":
            try:
                parsed = json.loads(body)
            except (ValueError, UnicodeDecodeError, RecursionError):
                return None
            return {**data, **parsed} if isinstance(parsed, dict) else None
        try:
            return {**data, **dict(parse_qsl(body.decode(), keep_blank_values=True))}
        except UnicodeDecodeError:
            return None

    async def webhook(self, request: web.Request) -> web.Response:
        """An inbound SMS or (Android) a delivery report: verified, stored, then acknowledged."""
        body = await self.intake.read_body(request, MAX_WEBHOOK_BODY)
        if isinstance(body, web.Response):
            return body
        if self.config.transport == "android":
            if request.method != "POST":
                return web.Response(status=405, text="POST only")
            stamp, signature = request.headers.get("X-Timestamp", ""), request.headers.get("X-Signature", "")
            if not stamp or not signature:
                return web.Response(status=401, text="signature required")
            if not signature_ok(self.config.webhook_secret, body, stamp, signature):
                log.warning("sms webhook with a wrong signature refused")
                return web.Response(status=403, text="forbidden")
            if not stamp.isdigit() or abs(time.time() - int(stamp)) > MAX_SKEW:
                return web.Response(status=403, text="stale")
            try:
                events = from_android(json.loads(body))
            except (ValueError, UnicodeDecodeError, RecursionError):
                return web.Response(status=400, text="bad json")
        else:
            if not self._token_ok(request):
                return web.Response(status=403, text="forbidden")
            data = await self._fields(request, body)
            if data is None:
                return web.Response(status=400, text="bad payload")
            events = from_aggregator(self.config.fields, data, report=False)
        return await self._take(events)

    async def report(self, request: web.Request) -> web.Response:
        """An aggregator's delivery report."""
        body = await self.intake.read_body(request, MAX_WEBHOOK_BODY)
        if isinstance(body, web.Response):
            return body
        if self.config.transport != "aggregator":
            return web.Response(status=404, text="not found")
        if not self._token_ok(request):
            return web.Response(status=403, text="forbidden")
        data = await self._fields(request, body)
        if data is None:
            return web.Response(status=400, text="bad payload")
        return await self._take(from_aggregator(self.config.fields, data, report=True))

    async def _take(self, events: dict[str, list[dict[str, Any]]]) -> web.Response:
        inbox_id = None
        if events["messages"] and self._ports is not None:
            try:  # stored before the gateway is told: an acknowledged SMS is never sent again
                inbox_id = await self._ports.store_webhook(json.dumps(events).encode())
            except Exception as exc:
                log.error("sms webhook not stored (%s): answered 500, the gateway sends it again", type(exc).__name__)
                return web.Response(status=500, text="retry")
        self._accept(events, inbox_id)
        return web.Response(text="ok")

    def _accept_stored(self, inbox_id: int, body: bytes) -> list[asyncio.Task]:
        """A body from the inbox (stored in the canonical form): its messages again."""
        try:
            events = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            events = None
        messages = events.get("messages") if isinstance(events, dict) else None
        return self._accept({"messages": messages if isinstance(messages, list) else [], "statuses": []}, inbox_id)

    def _accept(self, events: dict[str, list[dict[str, Any]]], inbox_id: int | None) -> list[asyncio.Task]:
        by_number: dict[str, list[dict[str, Any]]] = {}
        for message in events["messages"]:
            if not isinstance(message, dict):
                continue
            number = normalise_number(message.get("from"), self.config.country)
            if number is None:
                log.info("sms from %s (not a mobile number) not answered", mask(str(message.get("from"))))
                continue
            by_number.setdefault(number, []).append(message)
        spawn = self.intake.spawn
        tasks = [spawn(n, lambda n=n, m=ms: self._process(n, m)) for n, ms in by_number.items()]
        tasks += [spawn(None, lambda s=s: self._status(s)) for s in events["statuses"] if isinstance(s, dict)]
        return self.intake.track(inbox_id, tasks)

    def inbound(self, key: str, message: dict[str, Any]) -> Inbound:
        """The normal form of one SMS from the person ``key``; STOP becomes its command."""
        text = str(message.get("text") or "")
        base = {"channel": CHANNEL, "user_key": key, "external_id": str(message["id"])[:128]}
        base["received_at"] = received_at(message.get("at"))
        if not text.strip():
            return Inbound(kind=Kind.UNSUPPORTED, unsupported_type="empty", **base)
        return Inbound(kind=Kind.TEXT, text=STOP_COMMAND if is_stop(text) else self.as_command(text), **base)

    def as_command(self, text: str) -> str:
        """``"STATUS"`` → ``"/status"``, ``"status KP-2026-0001"`` → ``"/status KP-2026-0001"``: a
        whole message that is a command's name, alone or followed by a number; other text as is."""
        head, _, rest = text.strip().partition(" ")
        name = head.lower().lstrip("/")
        if name in self.commands and (not rest.strip() or any(c.isdigit() for c in rest)):
            return "/" + name + (" " + rest.strip() if rest.strip() else "")
        return text

    async def _process(self, number: str, messages: list[dict[str, Any]]) -> bool:
        key = number_key(await self._secret(), number)
        stored = True
        for message in messages:
            stored = await self._store(number, self.inbound(key, message)) and stored
        return stored

    async def _store(self, number: str, inbound: Inbound) -> bool:
        """Keep the number, then store the message as a turn (MULAI after a STOP: its command),
        retried while the database is down."""

        async def handle(inbound: Inbound) -> Any:
            if self._ports is not None:
                await self._ports.sms_remember(inbound.user_key, number)
                if inbound.kind is Kind.TEXT and is_start(inbound.text):
                    target = await self._ports.sms_target(inbound.user_key)
                    if target is not None and target.opted_out:
                        inbound = replace(inbound, text=START_COMMAND)
            return await self._handle(inbound)

        return await retry_until_stored(
            handle,
            inbound,
            window=self.store_retry_window,
            label=f"sms from {mask(number)}",
            stopping=lambda: self.intake.closing,
            logger=log,
        )

    async def _status(self, status: dict[str, Any]) -> bool:
        mid, word, error = str(status.get("id")), str(status.get("status")), status.get("error")
        if word == "failed":
            log.warning("sms …%s failed: %s", mid[-12:], error)
        return await self.intake.record_status(self._ports, mid, word, self.clock.now(), error)

    # ---- sending --------------------------------------------------------------------------
    def today(self) -> str:
        return self.clock.now().astimezone(self._zone).date().isoformat()

    async def send(self, address: str, payload: dict[str, Any], *, ref: int | None = None) -> SendResult:
        text = payload.get("text")
        if not isinstance(text, str) or not text:
            raise SendError("SMS: payload without text", retryable=False)
        if self._ports is None:
            raise SendError("SMS: no number store", retryable=False)
        today = self.today()
        try:
            target, spent, capped = await self._ports.sms_before_send(address, today)
        except Exception as exc:
            raise SendError(f"SMS: number not readable ({type(exc).__name__})", retryable=True) from None
        if target is None:
            raise SendError("SMS: no number kept for this person (erased)", retryable=False)
        notify = bool(payload.get("_notify"))
        if notify and target.opted_out:
            raise SendError("SMS: not sent, the person sent STOP (notifications off)", retryable=False)
        cost = int(payload.get("segments") or segments(text))
        cap_notice = False
        if not notify and self.config.daily_cap and spent + cost > self.config.daily_cap:
            if capped:
                raise SendError(f"SMS: daily cap of {self.config.daily_cap} segments reached", retryable=False)
            text = to_gsm(gettext(str(payload.get("_lang") or "id"), CAP_NOTICE))
            cost, cap_notice = segments(text), True
            log.warning("sms: %s reached the daily cap; one notice sent instead of the reply", mask(address))
        if self._session is None:
            await self.start()
        assert self._session is not None
        try:
            mid = await self.transport.send(self._session, target.number, text, ref)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise SendError(f"SMS gateway network: {type(exc).__name__}", retryable=True) from None
        try:  # sent: a failure to count must not send it again (an erased person: the day's total only)
            await self._ports.sms_count("" if target.erased else address, today, cost, cap_notice)
            if target.erased:
                await self._ports.sms_forget(address)
        except Exception as exc:
            log.warning("sms: sent, but not counted (%s)", type(exc).__name__)
        return SendResult(platform_message_id=mid)


SPEC = ChannelSpec(name=CHANNEL, render=render, configure=config_from, build=build)
