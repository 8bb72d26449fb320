"""The audit trail: who did what to which subject. New events wait in the unit of work's pending
writes and are inserted at its commit, all of a transaction's events in one executemany."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEvent
from storage.unit_state import PendingWrites, WriteResult


class AuditRepo:
    """The ``audit_events`` table."""

    def __init__(self, session: AsyncSession, pending: PendingWrites) -> None:
        self.session = session
        self.pending = pending

    def audit(
        self,
        *,
        at: datetime,
        action: str,
        actor_user_id: int | None,
        subject_type: str | None = None,
        subject_id: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> WriteResult:
        """Record an event; it is written at the commit (:attr:`WriteResult.DEFERRED`)."""
        return self.pending.insert(
            AuditEvent,
            at=at,
            action=action,
            actor_user_id=actor_user_id,
            subject_type=subject_type,
            subject_id=subject_id,
            detail=detail or {},
        )

    async def audit_events(
        self, *, subject_type: str | None = None, subject_id: str | None = None, actor_user_id: int | None = None
    ) -> Sequence[AuditEvent]:
        await self.pending.write()
        stmt = select(AuditEvent)
        if subject_type is not None:
            stmt = stmt.where(AuditEvent.subject_type == subject_type)
        if subject_id is not None:
            stmt = stmt.where(AuditEvent.subject_id == subject_id)
        if actor_user_id is not None:
            stmt = stmt.where(AuditEvent.actor_user_id == actor_user_id)
        return (await self.session.execute(stmt.order_by(AuditEvent.id))).scalars().all()

    async def times(self, *, action: str, subject_type: str, subject_id: str, since: datetime) -> list[datetime]:
        """When ``action`` was recorded about this subject from ``since`` on, oldest first (this
        transaction's own events included): counters kept as events, e.g. wrong complaint PINs."""
        await self.pending.write()
        stmt = (
            select(AuditEvent.at)
            .where(
                AuditEvent.action == action,
                AuditEvent.subject_type == subject_type,
                AuditEvent.subject_id == subject_id,
                AuditEvent.at >= since,
            )
            .order_by(AuditEvent.at, AuditEvent.id)
        )
        return list((await self.session.execute(stmt)).scalars().all())
