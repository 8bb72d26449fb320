"""Publish/subscribe between the instances of a deployment through PostgreSQL ``LISTEN/NOTIFY``.

The web chat's relay (``bot/channels/web/web_relay.py``) needs to tell the other instances which
pages it holds and to hand them messages; PostgreSQL already connects them all, so no broker is
added. One dedicated asyncpg connection per instance (outside SQLAlchemy's pool, like the
scheduler's leader lock) LISTENs on :data:`TOPIC` and also sends the NOTIFYs. Notifications are
delivered once, in order per sender, to the sessions listening at that moment; payloads are JSON
under 8,000 bytes (the relay keeps them so). A dropped connection is reopened with backoff and the
relay told, so that it announces itself again; what was published meanwhile is lost, and the
relay's acknowledgements make that a fallback (Web Push, or the page's history), never a silent loss.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

TOPIC = "kanal_web"


def asyncpg_dsn(url: str) -> str:
    """The libpq-style DSN of a SQLAlchemy ``postgresql+asyncpg://`` URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class PgBus:
    """:class:`~bot.channels.web.web_relay.Bus` over ``LISTEN/NOTIFY`` on one connection."""

    def __init__(self, url: str, topic: str = TOPIC) -> None:
        self._dsn = asyncpg_dsn(url)
        self.topic = topic
        self._conn: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()  # one statement at a time on the connection
        self._on_message: Callable[[dict[str, Any]], Awaitable[None]] | None = None
        self._on_reconnect: Callable[[], Awaitable[None]] | None = None
        self._task: asyncio.Task | None = None
        self._handlers: set[asyncio.Task] = set()
        self._queue: asyncio.Queue[str] = asyncio.Queue()

    async def start(
        self, on_message: Callable[[dict[str, Any]], Awaitable[None]], on_reconnect: Callable[[], Awaitable[None]]
    ) -> None:
        self._on_message, self._on_reconnect = on_message, on_reconnect
        await self._connect()
        self._task = asyncio.create_task(self._run())

    async def publish(self, message: dict[str, Any]) -> None:
        payload = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
        async with self._lock:
            if self._conn is None or self._conn.is_closed():
                raise ConnectionError("relay connection is down")
            await self._conn.execute("SELECT pg_notify($1, $2)", self.topic, payload)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 5)

    # ---- inside -------------------------------------------------------------------------
    async def _connect(self) -> None:
        conn = await asyncpg.connect(self._dsn, timeout=10)
        await conn.add_listener(self.topic, self._notified)
        conn.add_termination_listener(self._terminated)
        self._conn = conn

    def _notified(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        self._queue.put_nowait(payload)  # handled in order by _run, never inside asyncpg's callback

    def _terminated(self, _conn: Any) -> None:
        self._queue.put_nowait(None)  # the connection is gone: _run reopens it

    async def _run(self) -> None:
        """Hand notifications to the relay in arrival order; reopen the connection when it drops."""
        while True:
            payload = await self._queue.get()
            if payload is not None:
                await self._handle(payload)
                continue
            delay = 0.5
            while self._conn is None or self._conn.is_closed():
                try:
                    async with self._lock:
                        await self._connect()
                except Exception as exc:
                    log.warning(
                        "web relay: PostgreSQL not reachable (%s); retrying in %.0f s", type(exc).__name__, delay
                    )
                    await asyncio.sleep(delay)
                    delay = min(30.0, delay * 2)
                    continue
                log.info("web relay: connection to PostgreSQL reopened")
                if self._on_reconnect is not None:
                    await self._on_reconnect()

    async def _handle(self, payload: str) -> None:
        try:
            message = json.loads(payload)
        except ValueError:
            return
        if not isinstance(message, dict) or self._on_message is None:
            return
        if message.get("t") == "msg":  # writing to a socket may wait: don't hold up the acks behind it
            task = asyncio.create_task(self._safely(message))
            self._handlers.add(task)
            task.add_done_callback(self._handlers.discard)
        else:
            await self._safely(message)

    async def _safely(self, message: dict[str, Any]) -> None:
        try:
            await self._on_message(message)  # type: ignore[misc]
        except Exception:
            log.exception("web relay: a notification was not handled")
