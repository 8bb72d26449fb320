"""Web chat across instances: pages open on other processes, and delivery to them.

With several instances behind a load balancer a person's page is connected to one of them, but
the outbox row with their reply may be claimed by any. :class:`PageRelay` keeps, per instance,
which people have a page open on which *other* instance, and hands a message to the instance
holding the page. It speaks through a :class:`Bus` — a publish/subscribe port the app provides
(PostgreSQL ``LISTEN/NOTIFY`` in ``storage/pg_relay.py``; none on SQLite, one process per file) —
with small JSON messages, all on one topic:

* ``up``/``down`` {i, a}: instance ``i`` got its first page of person ``a`` / lost its last one;
* ``hello`` {i}: an instance (re)joined; the others answer ``here`` {i, to, a: [...]} with their
  people (in chunks under NOTIFY's 8,000-byte limit), and it sends its own ``here`` to all (``to: *``);
* ``alive`` {i} every :data:`HEARTBEAT` s; an instance not heard of for :data:`SILENT_AFTER` s is
  forgotten (``bye`` {i} says so at once when an instance stops normally);
* ``handoff`` {i, a, k}: person ``a`` got the new identity token ``k`` (a role changed, see the
  channel's ``_rotate``); every instance keeps it for the page's ``POST /session``, wherever that lands;
* ``msg`` {i, to, req, a, f | ref}: deliver frame ``f`` (or, when it is too big for a
  notification, outbox row ``ref``, read by the receiver) to ``a``'s pages on ``to``;
  ``ack`` {i, to, req, n}: it was written to ``n`` pages.

:meth:`PageRelay.deliver` waits at most :data:`ACK_TIMEOUT` for the ack: a page on another
instance counts as delivered only when that instance wrote it to the socket. An instance that does
not answer in time is taken for dead and forgotten. The caller then falls back to Web Push (the
person's subscriptions), and else keeps the row for the page's history.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

log = logging.getLogger(__name__)

HEARTBEAT = 10.0
SILENT_AFTER = 35.0
ACK_TIMEOUT = 1.0
#: NOTIFY payloads are limited to 8,000 bytes: a frame above this goes by its outbox row
MAX_INLINE = 7000
CHUNK = 80  # addresses per ``here`` message (40-character keys: well under the limit)

OnMessage = Callable[[dict[str, Any]], Awaitable[None]]


class Bus(Protocol):
    """Publish/subscribe between the instances of one deployment (at most once, in order per sender)."""

    async def start(self, on_message: OnMessage, on_reconnect: Callable[[], Awaitable[None]]) -> None: ...

    async def publish(self, message: dict[str, Any]) -> None: ...

    async def stop(self) -> None: ...


#: writes a frame to this instance's pages of a person; returns how many pages took it
WriteLocal = Callable[[str, dict[str, Any]], Awaitable[int]]
#: the payload of a person's outbox row (a frame too big to travel in a notification)
LoadRow = Callable[[str, int], Awaitable[dict[str, Any] | None]]


class PageRelay:
    """This instance's view of the pages open elsewhere, and delivery to them."""

    def __init__(
        self, bus: Bus, write_local: WriteLocal, load_row: LoadRow, on_handoff: Callable[[str, str], None] | None = None
    ) -> None:
        self.bus = bus
        self.instance = uuid.uuid4().hex[:12]
        self._write_local = write_local
        self._load_row = load_row
        self._on_handoff = on_handoff
        self._remote: dict[str, set[str]] = {}  # person → other instances with a page of theirs
        self._heard: dict[str, float] = {}  # instance → when it was last heard of
        self._waiting: dict[str, asyncio.Future[int]] = {}
        self._local: Callable[[], list[str]] = list  # set by the channel: people with a page here
        self._task: asyncio.Task | None = None
        self.stats = {"relayed": 0, "received": 0, "unanswered": 0}

    # ---- lifecycle ------------------------------------------------------------------------
    async def start(self, local_people: Callable[[], list[str]]) -> None:
        self._local = local_people
        await self.bus.start(self._on_message, self._joined)
        await self._joined()
        self._task = asyncio.create_task(self._heartbeat())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception):
            await self.bus.publish({"t": "bye", "i": self.instance})
        await self.bus.stop()

    async def _joined(self) -> None:
        """(Re)joined the bus: ask who has pages where, and tell what this instance has."""
        await self._publish({"t": "hello", "i": self.instance})
        await self._announce(None)

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT)
            await self._publish({"t": "alive", "i": self.instance})
            limit = time.monotonic() - SILENT_AFTER
            for inst in [i for i, t in self._heard.items() if t < limit]:
                log.info("web relay: instance %s silent for %.0f s, forgotten", inst, SILENT_AFTER)
                self._forget(inst)

    # ---- what the channel calls -----------------------------------------------------------
    async def page_opened(self, person: str) -> None:
        await self._publish({"t": "up", "i": self.instance, "a": person})

    async def page_closed(self, person: str) -> None:
        await self._publish({"t": "down", "i": self.instance, "a": person})

    async def handoff(self, person: str, token: str) -> None:
        await self._publish({"t": "handoff", "i": self.instance, "a": person, "k": token})

    def open_elsewhere(self, person: str) -> bool:
        return bool(self._remote.get(person))

    async def deliver(self, person: str, frame: dict[str, Any], ref: int | None) -> int:
        """Hand ``frame`` to the other instances with a page of ``person``; the pages it reached
        (0: none took it within :data:`ACK_TIMEOUT`)."""
        targets = list(self._remote.get(person, ()))
        if not targets:
            return 0
        body = json.dumps(frame, ensure_ascii=False, separators=(",", ":"))
        inline = len(body.encode()) <= MAX_INLINE or ref is None
        loop = asyncio.get_running_loop()
        futures: dict[str, asyncio.Future[int]] = {}
        try:
            for target in targets:
                req = uuid.uuid4().hex[:12]
                futures[req] = self._waiting[req] = loop.create_future()
                message = {"t": "msg", "i": self.instance, "to": target, "req": req, "a": person}
                message.update({"f": frame} if inline else {"ref": ref})
                await self._publish(message)
            done, _ = await asyncio.wait(futures.values(), timeout=ACK_TIMEOUT)
        finally:  # also when the send is cancelled (the instance stops)
            for req in futures:
                self._waiting.pop(req, None)
        reached = 0
        for target, fut in zip(targets, futures.values(), strict=True):
            if fut in done and not fut.cancelled():
                reached += fut.result()
                if fut.result() == 0:  # the page went away meanwhile
                    self._drop(person, target)
            else:
                self.stats["unanswered"] += 1
                log.warning("web relay: instance %s did not answer within %.1f s, forgotten", target, ACK_TIMEOUT)
                self._forget(target)
        self.stats["relayed"] += 1
        return reached

    # ---- what arrives ---------------------------------------------------------------------
    async def _on_message(self, m: dict[str, Any]) -> None:
        sender = m.get("i")
        if not isinstance(sender, str) or sender == self.instance:
            return
        kind = m.get("t")
        if kind != "bye":
            self._heard[sender] = time.monotonic()
        person = m.get("a")
        if kind == "up" and isinstance(person, str):
            self._remote.setdefault(person, set()).add(sender)
        elif kind == "down" and isinstance(person, str):
            self._drop(person, sender)
        elif kind == "hello":
            await self._announce(sender)
        elif kind == "here" and m.get("to") in (self.instance, "*") and isinstance(person, list):
            for p in person:
                if isinstance(p, str):
                    self._remote.setdefault(p, set()).add(sender)
        elif kind == "bye":
            self._forget(sender)
        elif kind == "handoff" and isinstance(person, str) and isinstance(m.get("k"), str):
            if self._on_handoff is not None:
                self._on_handoff(person, m["k"])
        elif kind == "msg" and m.get("to") == self.instance and isinstance(person, str):
            await self._receive(sender, m, person)
        elif kind == "ack" and m.get("to") == self.instance:
            fut = self._waiting.get(str(m.get("req")))
            if fut is not None and not fut.done():
                fut.set_result(int(m.get("n") or 0))

    async def _receive(self, sender: str, m: dict[str, Any], person: str) -> None:
        frame = m.get("f")
        if frame is None and isinstance(m.get("ref"), int):
            try:
                payload = await self._load_row(person, m["ref"])
            except Exception as exc:
                log.warning("web relay: message %s not read (%s)", m["ref"], type(exc).__name__)
                payload = None
            frame = {**payload, "id": m["ref"]} if payload is not None else None
        written = await self._write_local(person, frame) if isinstance(frame, dict) else 0
        self.stats["received"] += 1
        await self._publish({"t": "ack", "i": self.instance, "to": sender, "req": m.get("req"), "n": written})

    # ---- bookkeeping ----------------------------------------------------------------------
    async def _announce(self, to: str | None) -> None:
        people = self._local()
        for start in range(0, len(people), CHUNK):
            chunk = people[start : start + CHUNK]
            await self._publish({"t": "here", "i": self.instance, "to": to or "*", "a": chunk})

    def _drop(self, person: str, instance: str) -> None:
        where = self._remote.get(person)
        if where is not None:
            where.discard(instance)
            if not where:
                del self._remote[person]

    def _forget(self, instance: str) -> None:
        self._heard.pop(instance, None)
        for person in [p for p, where in self._remote.items() if instance in where]:
            self._drop(person, instance)

    async def _publish(self, message: dict[str, Any]) -> None:
        try:
            await self.bus.publish(message)
        except Exception as exc:  # the bus reconnects on its own; a lost notice costs a fallback
            log.warning("web relay: not published (%s)", type(exc).__name__)
