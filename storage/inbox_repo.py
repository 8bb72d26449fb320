"""The webhook inbox: raw webhook bodies stored before the platform is acknowledged, kept only
until their messages are stored as turns (then deleted: a body holds phone numbers and texts)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import WebhookInbox


class InboxRepo:
    """The ``webhook_inbox`` table."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def store(self, channel: str, body: bytes, now: datetime) -> int:
        """Keep ``body``; its row id."""
        stmt = insert(WebhookInbox).values(channel=channel, body=body, received_at=now).returning(WebhookInbox.id)
        return (await self.session.execute(stmt)).scalar_one()

    async def pending(self, channel: str, *, after_id: int = 0, limit: int = 100) -> list[tuple[int, bytes]]:
        """The stored bodies of ``channel`` with an id above ``after_id``, oldest first."""
        t = WebhookInbox
        stmt = select(t.id, t.body).where(t.channel == channel, t.id > after_id).order_by(t.id).limit(limit)
        return [(i, bytes(b)) for i, b in (await self.session.execute(stmt)).all()]

    async def forget(self, inbox_id: int) -> None:
        """Delete a processed body."""
        await self.session.execute(delete(WebhookInbox).where(WebhookInbox.id == inbox_id))
