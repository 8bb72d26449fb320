"""Web Push for the web chat: a message reaches a person whose page is closed.

The page subscribes through the browser's push service (``PushManager.subscribe`` with the key
from ``GET /push/key``) and sends the subscription over the websocket (``subscribe``); it is kept
in the database. When a message is for a person with no open page, each of their subscriptions
gets an encrypted notification (RFC 8291 ``aes128gcm``, VAPID RFC 8292, with ``pywebpush``): a
short line, never more of the conversation than its first words, and the page shows the whole of
it at the next visit (the outbox keeps it). The VAPID key pair is made on first start and kept in
the database (``app_secrets``), so every instance and restart sign alike. ``GET /sw.js`` is the
service worker that shows the notification and opens the chat when it is tapped.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiohttp
from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid
from pywebpush import WebPusher

log = logging.getLogger(__name__)

KEY_NAME = "vapid_private_pem"
#: seconds a push service keeps an undelivered notification (a phone switched off for a day)
TTL = 24 * 3600
BODY_CHARS = 120
MAX_ENDPOINT = 1000
_B64URL = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")
#: endpoints over plain HTTP are taken only from these hosts (tests, a development machine)
LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")


class PushStore(Protocol):
    """The database ports Web Push needs."""

    async def kept_secret(self, name: str, make: Any) -> str:
        """The app's secret ``name`` (made with ``make()`` and stored on first use)."""
        ...

    async def push_subscribe(self, address: str, endpoint: str, p256dh: str, auth: str) -> None: ...

    async def push_unsubscribe(self, address: str, endpoint: str) -> None: ...

    async def push_targets(self, address: str) -> list[dict[str, Any]]:
        """``[{"endpoint", "keys": {"p256dh", "auth"}}]`` of the person at ``address``."""
        ...

    async def push_gone(self, endpoint: str) -> None:
        """The push service says this subscription is no more (404/410)."""
        ...


@dataclass(frozen=True)
class Subscription:
    endpoint: str
    p256dh: str
    auth: str


def make_key() -> str:
    """A new VAPID key pair's private key, PEM."""
    vapid = Vapid()
    vapid.generate_keys()
    return vapid.private_pem().decode()


def application_server_key(private_pem: str) -> str:
    """The public key as the page's ``applicationServerKey``: the uncompressed P-256 point, base64url."""
    vapid = Vapid.from_pem(private_pem.encode())
    raw = vapid.public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def parse_subscription(value: Any) -> Subscription | None:
    """A browser's ``PushSubscription.toJSON()``; None when it is not one we can use."""
    if not isinstance(value, dict) or not isinstance(value.get("keys"), dict):
        return None
    endpoint, keys = value.get("endpoint"), value["keys"]
    p256dh, auth = keys.get("p256dh"), keys.get("auth")
    if not isinstance(endpoint, str) or not 10 < len(endpoint) <= MAX_ENDPOINT:
        return None
    url = urlsplit(endpoint)
    if not (url.scheme == "https" or (url.scheme == "http" and url.netloc.split(":")[0] in LOCAL_HOSTS)):
        return None
    ok = all(isinstance(k, str) and 10 < len(k) <= 200 and _B64URL.match(k) for k in (p256dh, auth))
    return Subscription(endpoint, p256dh, auth) if ok else None


def notification(payload: dict[str, Any]) -> dict[str, str]:
    """What the notification says: the message's first words, plain."""
    words = " ".join(str(payload.get(k) or "") for k in ("title", "text")).split()
    body = " ".join(words)
    if len(body) > BODY_CHARS:
        body = body[: BODY_CHARS - 1].rstrip() + "…"
    return {"title": "Kanal Partisipasi", "body": body or "Ada pesan baru untuk Anda.", "tag": "kanal"}


class Pusher:
    """Sends notifications to a person's subscriptions (one aiohttp session, opened on first use)."""

    def __init__(self, store: PushStore, subject: str) -> None:
        self.store = store
        self.subject = subject
        self._vapid: Vapid | None = None
        self._public: str | None = None
        self._session: aiohttp.ClientSession | None = None

    async def public_key(self) -> str:
        await self._load()
        return self._public or ""

    async def _load(self) -> Vapid:
        if self._vapid is None:
            pem = await self.store.kept_secret(KEY_NAME, make_key)
            self._vapid = Vapid.from_pem(pem.encode())
            self._public = application_server_key(pem)
        return self._vapid

    async def push(self, address: str, payload: dict[str, Any]) -> int | None:
        """Notify every subscription of ``address``: how many push services took it, None when the
        person has no subscription. Best effort: the message is in the page's history either way."""
        targets = await self.store.push_targets(address)
        if not targets:
            return None
        vapid = await self._load()
        data = json.dumps(notification(payload), ensure_ascii=False)
        took = 0
        for sub in targets:
            status = await self._send(vapid, sub, data)
            if status in (404, 410):
                await self.store.push_gone(sub["endpoint"])
            elif status is not None and status < 300:
                took += 1
            else:  # busy or unreachable: the message waits in the history for the next visit anyway
                log.info("web push not taken (%s)", status)
        return took

    async def _send(self, vapid: Vapid, sub: dict[str, Any], data: str) -> int | None:
        endpoint = sub["endpoint"]
        url = urlsplit(endpoint)
        claims = {"sub": self.subject, "aud": f"{url.scheme}://{url.netloc}"}
        headers = {**vapid.sign(claims), "Urgency": "normal"}
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15))
        try:
            resp = await WebPusher(sub, aiohttp_session=self._session).send_async(
                data, headers, ttl=TTL, content_encoding="aes128gcm"
            )
            return resp.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            log.warning("web push to %s failed: %s", url.netloc, type(exc).__name__)
            return None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
