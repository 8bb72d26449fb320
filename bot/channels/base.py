"""The one protocol every channel meets, and what the channels share.

A channel turns one platform's traffic into :class:`~bot.domain.messages.Inbound` (handed to
``handle``, which stores the turn), renders a :class:`~bot.domain.messages.Reply` to the platform's
payloads and sends one payload. It reaches the database only through the small ports it declares
itself (implemented by the app, ``bot/ports.py``) and gets its settings as plain values (its
``config_from``). :mod:`bot.channels.registry` lists every channel.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from aiohttp import web

from bot.domain.messages import Inbound, Reply, SendResult

log = logging.getLogger(__name__)

#: stores one inbound message and runs its turn (the dispatcher's ``handle``); raises when the
#: database cannot take it
Handle = Callable[[Inbound], Awaitable[Any]]
#: a pure ``render(reply)``: the platform payloads of one reply, stored in the outbox
Renderer = Callable[[Reply], list[dict[str, Any]]]
#: Telegram-style command menus: language code ("" for the default) → (command, description) pairs
CommandMenu = dict[str, list[tuple[str, str]]]


class Clock(Protocol):
    def now(self) -> datetime: ...


@dataclass(frozen=True)
class RateLimit:
    """A platform's sending limits: token buckets for the whole channel and for each address."""

    global_per_second: float
    global_burst: int
    per_address_per_second: float
    per_address_burst: int


UNLIMITED = RateLimit(global_per_second=1e9, global_burst=10**9, per_address_per_second=1e9, per_address_burst=10**9)


@runtime_checkable
class Channel(Protocol):
    """What the app and delivery know of a channel. Lifecycle, in this order: :meth:`start`
    (before delivery starts: what sending needs), :meth:`start_receiving` (once the HTTP server
    serves :meth:`routes`), then at shutdown :meth:`stop_receiving` (before the HTTP server goes)
    and :meth:`stop` (after delivery stopped)."""

    name: str
    #: the platform's sending limits, or None for none
    rate_limit: RateLimit | None

    def render(self, reply: Reply) -> list[dict[str, Any]]: ...

    async def send(self, address: str, payload: dict[str, Any], *, ref: int | None = None) -> SendResult: ...

    def routes(self) -> list[web.RouteDef]: ...

    async def start(self) -> None: ...

    async def start_receiving(self, commands: CommandMenu) -> None: ...

    async def stop_receiving(self) -> None: ...

    async def stop(self) -> None: ...

    def summary(self, http_url: str) -> str:
        """Where people reach the bot on this channel, for the start-up log line."""
        ...


class MediaSource(Protocol):
    """Optional: a channel that can give the bytes of media people sent on it (for staff on other
    channels, through the app's ``/media/<token>`` route). Raises when it cannot."""

    async def fetch_media(self, file_ref: str) -> tuple[bytes, str]:
        """(bytes, MIME type) of the photo or voice note ``file_ref`` names on this channel."""
        ...


@dataclass(frozen=True)
class ChannelContext:
    """What the app gives a channel it builds: ``handle`` for inbound messages, the clock, an
    object implementing the channel's database ports, and per-channel overrides (tests, benchmarks)."""

    handle: Handle
    clock: Clock
    ports: Any = None
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ChannelSpec:
    """One line of the registry: a channel's name, its pure renderer, ``configure(settings)`` →
    its config (plain values) or None when it is off, and ``build(config, context)`` → the channel."""

    name: str
    render: Renderer
    configure: Callable[[Any], Any]
    build: Callable[[Any, ChannelContext], Channel]


def mask(address: str) -> str:
    """An address (phone number, chat id) for logs: only its last four characters."""
    return "…" + address[-4:] if len(address) > 4 else address


def retry_after_seconds(raw: str | None) -> float | None:
    """A platform's ``Retry-After`` header in seconds (1 s to an hour), or None when absent or
    not a number."""
    try:
        value = float(raw) if raw else None
    except ValueError:
        return None
    return max(1.0, min(value, 3600.0)) if value is not None else None


async def retry_until_stored(
    handle: Handle,
    inbound: Inbound,
    *,
    window: float,
    label: str,
    stopping: Callable[[], bool] = lambda: False,
    logger: logging.Logger = log,
) -> bool:
    """Store ``inbound`` (``handle``) for a platform that was (or will be) told it arrived, retrying
    with backoff while the database cannot take it, for up to ``window`` seconds or until
    ``stopping()``. True when stored; False (logged as ``label``) when given up."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + window
    delay = 0.5
    while True:
        try:
            await handle(inbound)
            return True
        except Exception as exc:
            if stopping() or loop.time() + delay > deadline:
                logger.error("%s dropped: not stored within %.0fs (%s)", label, window, type(exc).__name__)
                return False
            logger.warning("%s not stored (%s); retrying in %.1fs", label, type(exc).__name__, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)
