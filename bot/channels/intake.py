"""Webhook intake for the channels whose platform POSTs to us (WhatsApp, SMS).

A channel stores each webhook body in the webhook inbox before it answers the platform (an
acknowledged body is never sent again). :class:`Intake` handles the stored bodies in background
tasks — one ordered chain per person, so their messages become turns in arrival order — and
deletes a body from the inbox once every message of it is stored; a body with a message that could
not be stored stays for the next start, where :meth:`Intake.recover` handles what a crash or a
shutdown left, oldest first. Delivery statuses are recorded with a few retries (a status may beat
the send's own bookkeeping). Redeliveries are deduplicated by the dispatcher on the platform's
message id, so a body handled twice (a crash after its turns, before its row was deleted) has no
second effect.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Protocol

from aiohttp import web


class WebhookInbox(Protocol):
    async def store_webhook(self, body: bytes) -> int:
        """Store a webhook body (committed); its inbox id."""
        ...

    async def stored_webhooks(self, after_id: int, limit: int) -> list[tuple[int, bytes]]:
        """Stored bodies with an inbox id above ``after_id``, oldest first, at most ``limit``."""
        ...

    async def forget_webhook(self, inbox_id: int) -> None:
        """Delete a body whose messages are all stored."""
        ...


class DeliveryStatuses(Protocol):
    async def record_status(self, platform_message_id: str, status: str, at: datetime, error: str | None) -> bool:
        """Record a delivery status on the outbox row sent as ``platform_message_id``; False when
        no such row is known (yet)."""
        ...


class Intake:
    """The background work of one channel's webhooks (``name`` in the log lines)."""

    def __init__(self, name: str, inbox: WebhookInbox | None, logger: logging.Logger) -> None:
        self.name = name
        self.inbox = inbox  # None (tests): acknowledged before it is stored
        self.log = logger
        self.closing = False
        self.retry_delays = (0.2, 0.5, 1.0, 2.0, 5.0)  # deleting a body, recording a status
        self._tasks: set[asyncio.Task] = set()
        self._tails: dict[str, asyncio.Task] = {}
        self._live: set[int] = set()  # inbox rows being handled by this process

    async def idle(self) -> None:
        """Return when every webhook received so far has been handled."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def stop(self, timeout: float = 10.0) -> None:
        """Take no more; finish what is being handled within ``timeout``, cancel the rest (its
        bodies stay in the inbox for the next start)."""
        self.closing = True
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
            for t in pending:
                t.cancel()
            if pending:
                self.log.warning(
                    "%s: %d webhook messages still being handled at shutdown were left (handled from the "
                    "inbox at the next start)",
                    self.name,
                    len(pending),
                )
                await asyncio.gather(*pending, return_exceptions=True)

    async def read_body(self, request: web.Request, limit: int) -> bytes | web.Response:
        """A webhook request's body of at most ``limit`` bytes, or the answer to give instead
        (503 while stopping: the platform sends it again; 413 when too large)."""
        if self.closing:
            return web.Response(status=503, text="stopping")
        if request.content_length is not None and request.content_length > limit:
            return web.Response(status=413, text="too large")
        try:
            body = await request.read()  # bounded by the server's client_max_size
        except web.HTTPRequestEntityTooLarge:
            return web.Response(status=413, text="too large")
        return body if len(body) <= limit else web.Response(status=413, text="too large")

    def spawn(self, key: str | None, work: Callable[[], Awaitable[bool]]) -> asyncio.Task:
        """A background task (its result: True when done, False when given up); tasks of one
        ``key`` (a person) run one after the other, in arrival order."""
        prev = self._tails.get(key) if key is not None else None

        async def run() -> bool:
            if prev is not None and not prev.done():
                await asyncio.wait([prev])
            try:
                return await work()
            except asyncio.CancelledError:
                raise
            except Exception:
                self.log.exception("%s webhook handling failed", self.name)
                return False

        task = asyncio.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if key is not None:
            self._tails[key] = task

            def forget(t: asyncio.Task, k: str = key) -> None:
                if self._tails.get(k) is t:
                    del self._tails[k]

            task.add_done_callback(forget)
        return task

    def track(self, inbox_id: int | None, tasks: list[asyncio.Task]) -> list[asyncio.Task]:
        """``tasks`` handle the stored body ``inbox_id``: it is deleted once they all succeeded.
        The tasks, the deletion's last."""
        if inbox_id is None or self.inbox is None:
            return tasks
        self._live.add(inbox_id)
        return [*tasks, self.spawn(None, lambda: self._forget_when_done(inbox_id, tasks))]

    async def _forget_when_done(self, inbox_id: int, tasks: list[asyncio.Task]) -> bool:
        assert self.inbox is not None
        try:
            if not all(await asyncio.gather(*tasks)):
                self.log.error(
                    "%s webhook body %d kept in the inbox: handled again at the next start", self.name, inbox_id
                )
                return False
            for delay in (0.0, *self.retry_delays):  # a raw body is not kept longer than needed
                await asyncio.sleep(delay)
                try:
                    await self.inbox.forget_webhook(inbox_id)
                    return True
                except Exception as exc:
                    self.log.warning("%s webhook body %d not deleted yet (%s)", self.name, inbox_id, type(exc).__name__)
            return False
        finally:
            self._live.discard(inbox_id)

    def start_recovery(self, accept: Callable[[int, bytes], list[asyncio.Task]]) -> None:
        """Handle, in the background, the bodies this process did not receive itself:
        ``accept(inbox_id, body)`` starts the tasks of one (and :meth:`track` s them)."""
        if self.inbox is not None:
            self.spawn(None, lambda: self._recover(accept))

    async def _recover(self, accept: Callable[[int, bytes], list[asyncio.Task]]) -> bool:
        assert self.inbox is not None
        after, handled = 0, 0
        while not self.closing:
            rows = await self.inbox.stored_webhooks(after, 100)
            if not rows:
                break
            page = []
            for inbox_id, body in rows:
                after = inbox_id
                if inbox_id not in self._live:
                    page += accept(inbox_id, body)
                    handled += 1
            await asyncio.gather(*page)
        if handled:
            self.log.info("%s: %d webhook bodies left by the last run handled from the inbox", self.name, handled)
        return True

    async def record_status(
        self, statuses: DeliveryStatuses | None, message_id: str, status: str, at: datetime, error: str | None
    ) -> bool:
        """Record a delivery status, retried a few times while its row is not known yet."""
        if statuses is None:
            return True
        for delay in (0.0, *self.retry_delays):
            if delay:
                await asyncio.sleep(delay)
            try:
                if await statuses.record_status(message_id, status, at, error):
                    return True
            except Exception as exc:
                self.log.warning("%s status not recorded yet (%s)", self.name, type(exc).__name__)
            if self.closing:
                break
        self.log.info("%s status %s for unknown message …%s ignored", self.name, status, message_id[-12:])
        return True
