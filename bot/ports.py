"""The database ports of the channels, implemented over the storage layer.

Channels never see a session or a repository: each declares the few questions it asks (e.g.
:class:`~bot.channels.web.web_channel.WebHistory`, :class:`~bot.channels.whatsapp.whatsapp_channel.WhatsAppWindow`),
and :class:`ChannelPorts` answers them for one channel, one short unit of work per question.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from bot.domain.clock import Clock
from storage import Database, UnitOfWork
from storage.app_secret_repo import kept_secret

#: tells staff that a message could not be delivered (the notifier's ``delivery_failed``)
OnFailed = Callable[[UnitOfWork, Any, datetime], Awaitable[Any]]


class ChannelPorts:
    """Every channel port, answered for the channel named ``channel``. ``on_failed`` tells staff
    when a platform reports a message it had accepted as failed; ``wake`` wakes the outbox sender
    for the notice that wrote."""

    def __init__(
        self, db: Database, channel: str, *, clock: Clock, on_failed: OnFailed, wake: Callable[[], None]
    ) -> None:
        self.db = db
        self.channel = channel
        self.clock = clock
        self._on_failed = on_failed
        self._wake = wake

    async def sent_since(
        self, address: str, after_id: int, *, limit: int = 100, newest: bool = False
    ) -> list[tuple[int, dict[str, Any]]]:
        async with self.db.unit_of_work() as uow:
            rows = await uow.outbox.sent_since(self.channel, address, after_id, limit, newest=newest)
            return [(r.id, r.payload) for r in rows]

    async def page_info(self) -> dict[str, Any]:
        """The Pemda's name and what the region file says to show in the web chat's header."""
        async with self.db.unit_of_work() as uow:
            region = await uow.region.region()
        if region is None:
            return {}
        public = (region.config or {}).get("public") or {}
        return {"name": region.name, **{k: v for k, v in public.items() if isinstance(v, str)}}

    async def kept_secret(self, name: str, make: Callable[[], str]) -> str:
        return await kept_secret(self.db, name, make, self.clock.now())

    async def push_subscribe(self, address: str, endpoint: str, p256dh: str, auth: str) -> None:
        async with self.db.unit_of_work() as uow:
            await uow.push.subscribe(address, endpoint, p256dh, auth, self.clock.now())
            await uow.commit()

    async def push_unsubscribe(self, address: str, endpoint: str) -> None:
        async with self.db.unit_of_work() as uow:
            await uow.push.forget(endpoint, address)
            await uow.commit()

    async def push_targets(self, address: str) -> list[dict[str, Any]]:
        async with self.db.unit_of_work() as uow:
            rows = await uow.push.for_address(address)
            return [{"endpoint": r.endpoint, "keys": {"p256dh": r.p256dh, "auth": r.auth}} for r in rows]

    async def push_gone(self, endpoint: str) -> None:
        async with self.db.unit_of_work() as uow:
            await uow.push.forget(endpoint)
            await uow.commit()

    async def identity_known(self, address: str) -> bool:
        async with self.db.unit_of_work() as uow:
            return await uow.users.identity_known(self.channel, address)

    async def rekey(self, old: str, new: str) -> bool:
        async with self.db.unit_of_work() as uow:
            moved = await uow.users.rekey(self.channel, old, new)
            if moved:
                await uow.commit()
            return moved

    async def last_inbound_at(self, address: str) -> datetime | None:
        async with self.db.unit_of_work() as uow:
            return await uow.users.last_inbound_at(self.channel, address)

    async def last_delivered_payload(self, address: str) -> dict[str, Any] | None:
        async with self.db.unit_of_work() as uow:
            return await uow.outbox.last_delivered_payload(self.channel, address)

    async def store_webhook(self, body: bytes) -> int:
        async with self.db.unit_of_work() as uow:
            inbox_id = await uow.inbox.store(self.channel, body, self.clock.now())
            await uow.commit()
            return inbox_id

    async def stored_webhooks(self, after_id: int, limit: int) -> list[tuple[int, bytes]]:
        async with self.db.unit_of_work() as uow:
            return await uow.inbox.pending(self.channel, after_id=after_id, limit=limit)

    async def forget_webhook(self, inbox_id: int) -> None:
        async with self.db.unit_of_work() as uow:
            await uow.inbox.forget(inbox_id)
            await uow.commit()

    async def record_status(self, platform_message_id: str, status: str, at: datetime, error: str | None) -> bool:
        async with self.db.unit_of_work() as uow:
            found, tell = await uow.outbox.record_delivery_status(
                platform_message_id, status, at, error, channel=self.channel
            )
            if tell:  # the platform accepted a staff member's message, then could not deliver it
                await self._on_failed(uow, tell, self.clock.now())
            if found:
                await uow.commit()
            if tell:
                self._wake()
            return found

    # ---- SMS: the number behind a person's key, STOP, what was sent per day --------------------
    async def sms_remember(self, key: str, number: str) -> None:
        async with self.db.unit_of_work() as uow:
            await uow.sms.remember(key, number, self.clock.now())
            await uow.commit()

    async def sms_target(self, key: str) -> Any:
        async with self.db.unit_of_work() as uow:
            return await uow.sms.target(key)

    async def sms_before_send(self, key: str, day: str) -> tuple[Any, int, bool]:
        async with self.db.unit_of_work() as uow:
            return (await uow.sms.target(key), *await uow.sms.spent(key, day))

    async def sms_count(self, key: str, day: str, segments: int, capped: bool) -> None:
        async with self.db.unit_of_work() as uow:
            await uow.sms.count(key, day, segments, capped=capped)
            await uow.commit()

    async def sms_forget(self, key: str) -> None:
        async with self.db.unit_of_work() as uow:
            await uow.sms.forget(key)
            await uow.commit()


async def outbox_backlog(db: Database, now: datetime) -> dict[str, int]:
    """Outbox rows by status, for ``/healthz``."""
    async with db.unit_of_work() as uow:
        return await uow.outbox.outbox_backlog(now)
