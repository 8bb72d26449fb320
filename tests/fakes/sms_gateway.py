"""A fake SMS gateway for tests: a real HTTP server on ``127.0.0.1`` (a free port) speaking one of two wire protocols.

``mode="android"`` (default) is the *Local Server* of "SMS Gateway for Android" (capcom6/android-sms-gateway,
sms-gate.app): ``POST /message`` with HTTP Basic auth and a JSON body ``{"id"?, "textMessage": {"text"},
"phoneNumbers": [...], "withDeliveryReport"?, "simNumber"?}`` answers 202 ``{"id", "state": "Pending", "recipients"}``
(401 ``{"message": "Unauthorized"}``, 400 for a malformed body, 409 for an ``id`` seen before). Its webhooks are JSON
envelopes ``{"deviceId", "event", "id", "payload", "webhookId"}`` signed with ``X-Timestamp`` (unix seconds) and
``X-Signature`` = hex HMAC-SHA256(signing key, raw body + timestamp); events ``sms:received``, ``sms:sent``,
``sms:delivered`` and ``sms:failed``.

``mode="aggregator"`` is a generic Indonesian HTTP SMS aggregator: ``GET``/``POST`` ``/api/send`` with ``user``,
``pass``, ``to``, ``text`` (and ``ref``) in the query or a form answers 200 ``{"status": "OK", "message_id"}`` (401
``{"status": "ERROR", "message": "auth"}``); inbound SMS are form POSTs (``msisdn``, ``message``, ``id``, ``time``) to
:attr:`~FakeSmsGateway.webhook_url`, delivery reports form POSTs (``message_id``, ``status`` DELIVERED/FAILED,
``reason``) to :attr:`~FakeSmsGateway.report_url`::

    async with FakeSmsGateway(username="sms", password="pw", signing_key="k") as gw:
        ...sms_api_url=gw.send_url...
        gw.webhook_url = f"http://127.0.0.1:{app.port}/webhooks/sms"
        assert await gw.receive("+6281234567890", "halo") == 200         # a person texts the bot
        (reply,) = await gw.wait_for_sent(1, to="+6281234567890")

Webhooks are retried like the app does: on a non-2xx answer or a connection error the same body (same event id; fresh
timestamp and signature) is POSTed again, ``retries`` more times, ``retry_delay`` apart; every attempt lands in
:attr:`~FakeSmsGateway.webhook_attempts`. With ``auto_reports`` every accepted message is reported (``sms:sent`` then
``sms:delivered``, or ``sms:failed`` for a number given to :meth:`~FakeSmsGateway.fail_delivery`). Faults:
:meth:`~FakeSmsGateway.fail_next` (an HTTP status, with ``Retry-After``, or ``"reset"``: the connection is dropped), a
token bucket over sends (``rate_per_second``/``burst``: 429 with ``Retry-After: 1``, counted in ``rate_limited``).

Simplified: one device, one SIM, one registered webhook per event; no message state endpoint (``GET /message/{id}``),
no encryption, no MMS or data SMS; the app's exponential backoff is a fixed delay; an SMS is one part whatever its
length; the aggregator's ``ref`` is accepted and ignored; reports go only where a URL is set.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import secrets
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Literal, NamedTuple
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

JSON = dict[str, Any]
WIB = timezone(timedelta(hours=7))
State = Literal["sent", "delivered", "failed"]

__all__ = ["FakeSmsGateway", "SentSms", "State", "WebhookEvent", "sign"]


def sign(key: str, body: bytes, timestamp: str) -> str:
    """The ``X-Signature`` the app sends: lowercase hex HMAC-SHA256 of the raw body followed by the timestamp."""
    return hmac.new(key.encode(), body + timestamp.encode(), hashlib.sha256).hexdigest()


def _nanoid() -> str:
    return secrets.token_urlsafe(16)[:21]


def _now() -> str:
    return datetime.now(WIB).isoformat(timespec="milliseconds")


def _digits(phone: str) -> str:
    """``+62812…``, ``62812…`` and ``0812…`` compare equal."""
    d = "".join(c for c in phone if c.isdigit())
    return "62" + d[1:] if d.startswith("0") else d


@dataclass(frozen=True, slots=True)
class SentSms:
    id: str
    to: str
    text: str


class WebhookEvent(NamedTuple):
    url: str
    body: bytes
    content_type: str


class FakeSmsGateway:
    """One phone (android) or one aggregator account. Use as ``async with``; see the module docs."""

    def __init__(
        self,
        *,
        mode: Literal["android", "aggregator"] = "android",
        username: str = "sms",
        password: str = "kanal-sms-password",
        signing_key: str = "kanal-sms-signing-key",
        device_id: str = "ffffffffceb0b1db",
        auto_reports: bool = True,
        retries: int = 3,
        retry_delay: float = 0.2,
        rate_per_second: float | None = None,
        burst: int = 1,
    ) -> None:
        if mode not in ("android", "aggregator"):
            raise ValueError(f"unknown mode {mode!r}")
        self.mode = mode
        self.username, self.password, self.signing_key, self.device_id = username, password, signing_key, device_id
        self.webhook_id = _nanoid()
        self.auto_reports, self.retries, self.retry_delay = auto_reports, retries, retry_delay
        self.webhook_url: str | None = None  # the bot's inbound webhook (android: every event)
        self.report_url: str | None = None  # aggregator: delivery reports
        self.sent: list[SentSms] = []
        self.webhook_attempts: list[tuple[str, int]] = []  # (event id, HTTP status or 0 for a connection error)
        self.events: dict[str, WebhookEvent] = {}  # every webhook sent, by event id
        self.rate_limited = 0
        self.failing: dict[str, str] = {}  # digits of a number -> failure reason
        self._rate, self._burst, self._tokens, self._stamp = rate_per_second, burst, float(burst), time.monotonic()
        self._faults: list[list[Any]] = []  # [status, retry_after, times left]
        self._ids = itertools.count(100001)
        self._changed = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._client: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    # ---- lifecycle --------------------------------------------------------------------------
    async def __aenter__(self) -> FakeSmsGateway:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def send_url(self) -> str:
        """``POST`` here to send (android: ``/message``; aggregator: ``/api/send``)."""
        return self.base_url + ("/message" if self.mode == "android" else "/api/send")

    # ---- test controls ----------------------------------------------------------------------
    def fail_next(self, status: int | Literal["reset"], *, times: int = 1, retry_after: float | None = None) -> None:
        """The next ``times`` sends answer HTTP ``status`` (a JSON error, ``Retry-After`` if given), or ``"reset"``:
        the connection is dropped without an answer."""
        if status != "reset" and not isinstance(status, int):
            raise ValueError(f"unknown fault {status!r}")
        self._faults.append([status, retry_after, times])

    def fail_delivery(self, phone: str, reason: str = "RESULT_ERROR_GENERIC_FAILURE") -> None:
        """Messages to ``phone`` are reported failed (``sms:failed`` / ``FAILED``) instead of delivered."""
        self.failing[_digits(phone)] = reason

    async def wait_for_sent(self, n: int, *, to: str | None = None, timeout: float = 10.0) -> list[SentSms]:
        """Once at least ``n`` messages were accepted (to ``to``, if given), return them; AssertionError on timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            got = [s for s in self.sent if to is None or _digits(s.to) == _digits(to)]
            if len(got) >= n:
                return got
            if loop.time() >= deadline:
                where = f" to {to}" if to else ""
                raise AssertionError(f"expected {n} SMS{where} within {timeout}s, got {got}; all sent: {self.sent}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), min(deadline - loop.time(), 0.25))
            except TimeoutError:
                pass

    async def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait for the automatic delivery reports under way."""
        async with asyncio.timeout(timeout):
            while self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)

    # ---- webhooks to the bot ----------------------------------------------------------------
    def signed_headers(self, body: bytes, timestamp: str | None = None) -> dict[str, str]:
        ts = timestamp or str(int(time.time()))
        return {"Content-Type": "application/json", "X-Timestamp": ts, "X-Signature": sign(self.signing_key, body, ts)}

    async def receive(self, phone: str, text: str, *, event_id: str | None = None) -> int:
        """``phone`` texts the gateway: the inbound webhook, with retries; returns the bot's last status (0: no
        connection)."""
        event_id = event_id or (_nanoid() if self.mode == "android" else str(next(self._ids)))
        if self.mode == "aggregator":
            fields = {"msisdn": phone.lstrip("+"), "message": text, "id": event_id, "time": _now()}
            return await self._emit(event_id, self.webhook_url, "webhook_url", urlencode(fields).encode())
        content_id = base64.urlsafe_b64encode(hashlib.sha256(f"{phone}\n{text}".encode()).digest()[:12]).decode()
        payload = {"messageId": content_id, "message": text, "phoneNumber": phone, "simNumber": 1, "receivedAt": _now()}
        return await self._event("sms:received", payload, event_id)

    async def report(self, message_id: str, state: State, *, phone: str | None = None, reason: str = "") -> int:
        """Report the state of a message the bot sent (to ``phone``, default: its first recipient; aggregator:
        delivered and failed only), with retries; returns the bot's last status."""
        to = phone or next((s.to for s in self.sent if s.id == message_id), "")
        if self.mode == "aggregator":
            if state == "sent":
                raise ValueError("the aggregator reports DELIVERED or FAILED only")
            fields = {"message_id": message_id, "status": state.upper()}
            if state == "failed":
                fields["reason"] = reason or "FAILED"
            return await self._emit(str(next(self._ids)), self.report_url, "report_url", urlencode(fields).encode())
        payload: JSON = {"messageId": message_id, "phoneNumber": to, "simNumber": 1, f"{state}At": _now()}
        if state == "failed":
            payload["reason"] = reason or "RESULT_ERROR_GENERIC_FAILURE"
        return await self._event(f"sms:{state}", payload, _nanoid())

    async def redeliver(self, event_id: str) -> int:
        """POST an event already sent once more, byte for byte (android: fresh timestamp and signature)."""
        return await self._attempt(event_id)

    async def _event(self, event: str, payload: JSON, event_id: str) -> int:
        envelope = {"deviceId": self.device_id, "event": event, "id": event_id, "payload": payload}
        body = json.dumps({**envelope, "webhookId": self.webhook_id}, ensure_ascii=False).encode()
        return await self._emit(event_id, self.webhook_url, "webhook_url", body)

    async def _emit(self, event_id: str, url: str | None, name: str, body: bytes) -> int:
        """Keep the event's body (for :meth:`redeliver`) and POST it, retrying like the app."""
        if not url:
            raise RuntimeError(f"set FakeSmsGateway.{name} first")
        ctype = "application/json" if self.mode == "android" else "application/x-www-form-urlencoded"
        self.events[event_id] = WebhookEvent(url, body, ctype)
        status = 0
        for attempt in range(self.retries + 1):
            if attempt:
                await asyncio.sleep(self.retry_delay)
            status = await self._attempt(event_id)
            if 200 <= status < 300:
                break
        return status

    async def _attempt(self, event_id: str) -> int:
        event = self.events[event_id]
        headers = self.signed_headers(event.body) if self.mode == "android" else {"Content-Type": event.content_type}
        if self._client is None:
            self._client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        try:
            async with self._client.post(event.url, data=event.body, headers=headers) as resp:
                await resp.read()
                status = resp.status
        except (aiohttp.ClientError, OSError, TimeoutError):
            status = 0
        self.webhook_attempts.append((event_id, status))
        return status

    async def _auto_report(self, message_id: str, to: str, delivery_report: bool) -> None:
        await asyncio.sleep(0.01)
        reason = self.failing.get(_digits(to))
        if self.mode == "aggregator":
            if self.report_url:
                await self.report(message_id, "failed" if reason else "delivered", phone=to, reason=reason or "")
        elif self.webhook_url:
            if reason:
                await self.report(message_id, "failed", phone=to, reason=reason)
                return
            await self.report(message_id, "sent", phone=to)
            if delivery_report:
                await self.report(message_id, "delivered", phone=to)

    # ---- HTTP -------------------------------------------------------------------------------
    def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
        body = {"message": message} if self.mode == "android" else {"status": "ERROR", "message": message}
        return web.json_response(body, status=status, headers=headers)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if self.mode == "android" and (request.method, request.path) == ("POST", "/message"):
            expected = "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
            if not hmac.compare_digest(request.headers.get("Authorization", ""), expected):
                return self._error(401, "Unauthorized")
            fields: Any = None
        elif self.mode == "aggregator" and request.path == "/api/send" and request.method in ("GET", "POST"):
            fields = {**request.query, **(await request.post() if request.method == "POST" else {})}
            if fields.get("user") != self.username or fields.get("pass") != self.password:
                return self._error(401, "auth")
        else:
            return self._error(404, f"{request.method} {request.path}: not found")
        if self._faults:
            status, retry_after, _ = fault = self._faults[0]
            fault[2] -= 1
            if fault[2] <= 0:
                self._faults.pop(0)
            if status == "reset":
                if request.transport is not None:
                    request.transport.abort()
                raise asyncio.CancelledError
            headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else None
            return self._error(status, "injected fault", headers)
        if self._rate is not None:  # a token bucket
            now = time.monotonic()
            self._tokens, self._stamp = min(self._burst, self._tokens + (now - self._stamp) * self._rate), now
            if self._tokens < 1:
                self.rate_limited += 1
                return self._error(429, "too many requests", {"Retry-After": "1"})
            self._tokens -= 1
        if self.mode == "aggregator":
            return self._send_aggregator(fields)
        try:
            body = json.loads(await request.read())
        except ValueError:
            return self._error(400, "invalid JSON body")
        return self._send_android(body)

    def _accept(self, message_id: str, to: str, text: str, delivery_report: bool = True) -> None:
        self.sent.append(SentSms(message_id, to, text))
        self._changed.set()
        if self.auto_reports:
            task = asyncio.create_task(self._auto_report(message_id, to, delivery_report))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _send_android(self, body: Any) -> web.Response:
        if not isinstance(body, dict):
            return self._error(400, "body must be a JSON object")
        text = body.get("textMessage", {}).get("text") if isinstance(body.get("textMessage"), dict) else None
        numbers = body.get("phoneNumbers")
        if not isinstance(text, str) or not text:
            return self._error(400, "textMessage.text is required")
        if not isinstance(numbers, list) or not numbers or not all(isinstance(n, str) and n for n in numbers):
            return self._error(400, "phoneNumbers must be a non-empty list of phone numbers")
        message_id = body.get("id") or _nanoid()
        if not isinstance(message_id, str):
            return self._error(400, "id must be a string")
        if any(s.id == message_id for s in self.sent):
            return self._error(409, "message with this id already exists")
        for number in numbers:
            self._accept(message_id, number, text, body.get("withDeliveryReport", True) is not False)
        recipients = [{"phoneNumber": n, "state": "Pending"} for n in numbers]
        return web.json_response({"id": message_id, "state": "Pending", "recipients": recipients}, status=202)

    def _send_aggregator(self, fields: dict[str, Any]) -> web.Response:
        to, text = fields.get("to"), fields.get("text")
        if not isinstance(to, str) or not to or not isinstance(text, str) or not text:
            return self._error(400, "to and text are required")
        message_id = str(next(self._ids))
        self._accept(message_id, to, text)
        return web.json_response({"status": "OK", "message_id": message_id})
