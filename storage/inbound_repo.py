"""Inbound dedupe: one row per (channel, external id) a platform delivered, so that a redelivery of
the same message has no second effect. Pruned after the platforms' redelivery windows."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import InboundMessage
from storage.sql_dialect import dialect_insert


@functools.cache
def _record_inbound_statement(dialect: str):
    """:meth:`InboundRepo.record_inbound_many`'s INSERT for ``dialect``, built once."""
    t = InboundMessage.__table__
    return (
        dialect_insert(dialect, t)
        .on_conflict_do_nothing(index_elements=["channel", "external_id"])
        .returning(t.c.channel, t.c.external_id)
    )


class InboundRepo:
    """The ``inbound_messages`` table (dedupe rows)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.dialect = session.bind.dialect.name

    async def record_inbound(
        self, channel: str, external_id: str, now: datetime, user_id: int | None = None
    ) -> int | None:
        """Insert the dedupe row; the new row id, or None when this message was seen before."""
        stmt = (
            dialect_insert(self.dialect, InboundMessage)
            .values(channel=channel, external_id=external_id, received_at=now, user_id=user_id)
            .on_conflict_do_nothing(index_elements=["channel", "external_id"])
            .returning(InboundMessage.id)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def record_inbound_many(
        self, rows: Sequence[tuple[str, str, int | None]], now: datetime
    ) -> set[tuple[str, str]]:
        """:meth:`record_inbound` for ``(channel, external id, user id)`` rows in one statement; the
        ``(channel, external id)`` pairs that were new."""
        if not rows:
            return set()
        # one prebuilt statement executed for many rows (SQLAlchemy sends them as a multi-row
        # INSERT, "insertmanyvalues"): compiled once, not once per batch size
        params = [{"channel": c, "external_id": e, "received_at": now, "user_id": u} for c, e, u in rows]
        result = await self.session.execute(_record_inbound_statement(self.dialect), params)
        return {(c, e) for c, e in result.all()}

    async def reclaim_stale(
        self, keys: Sequence[tuple[str, str]], *, before: datetime, now: datetime
    ) -> set[tuple[str, str]]:
        """Of the ``(channel, external id)`` rows in ``keys``, those received before ``before``
        (older than the redelivery horizon, not pruned yet): their time is renewed to ``now`` and
        they are returned. A rare path (only redeliveries get here): one statement per key."""
        t = InboundMessage
        renewed: set[tuple[str, str]] = set()
        for channel, external_id in keys:
            stmt = (
                update(t)
                .where(t.channel == channel, t.external_id == external_id, t.received_at < before)
                .values(received_at=now)
            )
            if ((await self.session.execute(stmt)).rowcount or 0) > 0:
                renewed.add((channel, external_id))
        return renewed

    async def prune_inbound(self, before: datetime, limit: int | None = None) -> int:
        """Delete the rows received before ``before`` (at most ``limit``, oldest first); how many."""
        t = InboundMessage
        if limit is None:
            res = await self.session.execute(delete(t).where(t.received_at < before))
            return res.rowcount or 0
        ids = select(t.id).where(t.received_at < before).order_by(t.received_at).limit(limit)
        res = await self.session.execute(delete(t).where(t.id.in_(ids.scalar_subquery())))
        return res.rowcount or 0
