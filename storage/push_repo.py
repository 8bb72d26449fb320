"""``web_push_subscriptions``: where to send a Web Push notification to a web chat person whose
page is closed (model :class:`~storage.models.WebPushSubscription`). Erasure deletes a person's
(``storage/erasure.py``); a push service's 404/410 deletes one."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import WebPushSubscription

#: subscriptions kept per person (a phone and a laptop, a reinstalled browser…); the oldest go
MAX_PER_ADDRESS = 5


def endpoint_hash(endpoint: str) -> str:
    return hashlib.sha256(endpoint.encode()).hexdigest()


class PushRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def subscribe(self, address: str, endpoint: str, p256dh: str, auth: str, now: datetime) -> None:
        """Keep the subscription for ``address`` (the same endpoint again replaces the old row: a
        browser that moved to another identity takes its subscription along)."""
        key = endpoint_hash(endpoint)
        await self.session.execute(delete(WebPushSubscription).where(WebPushSubscription.endpoint_hash == key))
        self.session.add(
            WebPushSubscription(
                address=address, endpoint_hash=key, endpoint=endpoint, p256dh=p256dh, auth=auth, created_at=now
            )
        )
        await self.session.flush()
        rows = await self.for_address(address)
        if len(rows) > MAX_PER_ADDRESS:
            old = [r.id for r in rows[: len(rows) - MAX_PER_ADDRESS]]
            await self.session.execute(delete(WebPushSubscription).where(WebPushSubscription.id.in_(old)))

    async def for_address(self, address: str) -> Sequence[WebPushSubscription]:
        stmt = select(WebPushSubscription).where(WebPushSubscription.address == address)
        return (await self.session.execute(stmt.order_by(WebPushSubscription.id))).scalars().all()

    async def any_for(self, address: str) -> bool:
        stmt = select(exists().where(WebPushSubscription.address == address))
        return bool((await self.session.execute(stmt)).scalar())

    async def forget(self, endpoint: str, address: str | None = None) -> int:
        """Delete the subscription at ``endpoint`` (only ``address``'s when given); the count."""
        stmt = delete(WebPushSubscription).where(WebPushSubscription.endpoint_hash == endpoint_hash(endpoint))
        if address is not None:
            stmt = stmt.where(WebPushSubscription.address == address)
        return (await self.session.execute(stmt)).rowcount or 0
