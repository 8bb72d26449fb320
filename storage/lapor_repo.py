"""The SP4N-LAPOR! bridge's tables (``lapor_queue``, ``lapor_links``, ``lapor_state``; migration 0015).

A complaint change that LAPOR! must hear of becomes a queue row in the transaction of the change
(:meth:`LaporRepo.on_event`, called by ``ComplaintRepo.add_event`` when the bridge is on), so a crash
loses nothing. The ``lapor_sync`` job sends the rows in order per complaint: a complaint's next row
waits until the one before it is done (a final refusal blocks its later rows, shown by
``kanal lapor status``). Erasure and retention empty the payloads of the complaints they clear
(:meth:`forget_complaints`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.orm import aliased

from bot.domain.lapor_wire import calls_for_event
from storage.models import Complaint, LaporLink, LaporQueueRow, LaporState

PENDING, DONE, FAILED, SKIPPED = "pending", "done", "failed", "skipped"


@dataclass(frozen=True)
class Failure:
    number: str | None
    kind: str
    attempts: int
    error: str | None
    at: datetime


class LaporRepo:
    def __init__(self, session) -> None:
        self.session = session

    # ---- the queue, written with the complaint change ---------------------------------------------
    def on_event(
        self,
        complaint: Complaint,
        *,
        action: str,
        actor_role: str,
        from_state: str | None,
        text: str | None,
        at: datetime,
        visible: bool = True,
    ) -> list[LaporQueueRow]:
        """Queue the calls an event makes (``calls_for_event``); an event the reporter does not see
        (a forward's internal note) never sends its text."""
        text = text if visible else None
        kinds = calls_for_event(
            action=action,
            actor_role=actor_role,
            channel=complaint.channel,
            from_state=from_state,
            to_state=complaint.state,
            text=text,
        )
        queued = []
        for kind in kinds:
            payload: dict[str, Any] = {"action": action, "state": complaint.state, "at": at.isoformat()}
            if kind in ("answer", "followup"):
                payload["text"] = text
            queued.append(self.enqueue(complaint.id, kind, payload, at))
        return queued

    def enqueue(self, complaint_id: int, kind: str, payload: dict[str, Any], now: datetime) -> LaporQueueRow:
        row = LaporQueueRow(
            complaint_id=complaint_id,
            kind=kind,
            payload=payload,
            status=PENDING,
            created_at=now,
            due_at=now,
            attempts=0,
        )
        self.session.add(row)
        return row

    # ---- sending ---------------------------------------------------------------------------------
    async def due(self, now: datetime, *, limit: int = 100) -> Sequence[LaporQueueRow]:
        """Pending rows due by ``now`` that are the first unfinished row of their complaint, oldest first."""
        q, before = LaporQueueRow, aliased(LaporQueueRow)
        earlier = (
            select(before.id)
            .where(before.complaint_id == q.complaint_id, before.id < q.id, before.status.in_((PENDING, FAILED)))
            .exists()
        )
        stmt = select(q).where(q.status == PENDING, q.due_at <= now, ~earlier).order_by(q.id).limit(limit)
        return (await self.session.execute(stmt)).scalars().all()

    async def get(self, row_id: int) -> LaporQueueRow | None:
        return await self.session.get(LaporQueueRow, row_id)

    async def finish(self, row_id: int, now: datetime, *, status: str = DONE, error: str | None = None) -> bool:
        """The row is done (or failed/skipped, with ``error``); False when it was not pending any more."""
        res = await self.session.execute(
            update(LaporQueueRow)
            .where(LaporQueueRow.id == row_id, LaporQueueRow.status == PENDING)
            .values(status=status, done_at=now, last_error=error and error[:300], attempts=LaporQueueRow.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        return bool(res.rowcount)

    async def retry_later(self, row_id: int, due_at: datetime, error: str) -> None:
        await self.session.execute(
            update(LaporQueueRow)
            .where(LaporQueueRow.id == row_id, LaporQueueRow.status == PENDING)
            .values(due_at=due_at, last_error=error[:300], attempts=LaporQueueRow.attempts + 1)
            .execution_options(synchronize_session=False)
        )

    async def requeue_failed(self) -> int:
        """Failed rows pending again, due as they were (after the mapping or the token was fixed)."""
        res = await self.session.execute(
            update(LaporQueueRow)
            .where(LaporQueueRow.status == FAILED)
            .values(status=PENDING, done_at=None)
            .execution_options(synchronize_session=False)
        )
        return int(res.rowcount or 0)

    # ---- links -----------------------------------------------------------------------------------
    async def link_of(self, complaint_id: int) -> LaporLink | None:
        stmt = select(LaporLink).where(LaporLink.complaint_id == complaint_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def tracking_id(self, complaint_id: int) -> str | None:
        """The complaint's LAPOR! TrackingID (``/status`` shows its public page), or None."""
        stmt = select(LaporLink.tracking_id).where(LaporLink.complaint_id == complaint_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def by_tracking_id(self, tracking_id: str) -> LaporLink | None:
        stmt = select(LaporLink).where(LaporLink.tracking_id == tracking_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def add_link(
        self, *, complaint_id: int, tracking_id: str, origin: str, now: datetime, status: str | None = None
    ) -> LaporLink:
        link = LaporLink(
            complaint_id=complaint_id, tracking_id=tracking_id, origin=origin, created_at=now, lapor_status=status
        )
        self.session.add(link)
        await self.session.flush()
        return link

    # ---- state -----------------------------------------------------------------------------------
    async def state(self, name: str) -> str | None:
        row = await self.session.get(LaporState, name)
        return row.value if row is not None else None

    async def states(self) -> dict[str, tuple[str | None, datetime]]:
        rows = (await self.session.execute(select(LaporState))).scalars().all()
        return {r.name: (r.value, r.updated_at) for r in rows}

    async def set_state(self, name: str, value: str | None, now: datetime) -> None:
        row = await self.session.get(LaporState, name)
        if row is None:
            self.session.add(LaporState(name=name, value=value and value[:300], updated_at=now))
        else:
            row.value, row.updated_at = value and value[:300], now
        await self.session.flush()

    # ---- what coordinators see -------------------------------------------------------------------
    async def counts(self) -> dict[str, int]:
        stmt = select(LaporQueueRow.status, func.count()).group_by(LaporQueueRow.status)
        return {status: int(n) for status, n in (await self.session.execute(stmt)).all()}

    async def links_count(self) -> dict[str, int]:
        stmt = select(LaporLink.origin, func.count()).group_by(LaporLink.origin)
        return {origin: int(n) for origin, n in (await self.session.execute(stmt)).all()}

    async def failures(self, *, limit: int = 20) -> list[Failure]:
        """Rows LAPOR! refused for good, and pending rows that failed at least once, newest first."""
        q = LaporQueueRow
        stmt = (
            select(Complaint.number, q.kind, q.attempts, q.last_error, q.created_at)
            .join(Complaint, Complaint.id == q.complaint_id)
            .where(q.last_error.is_not(None), q.status.in_((FAILED, PENDING)))
            .order_by(q.status, q.id.desc())
            .limit(limit)
        )
        return [Failure(*row) for row in (await self.session.execute(stmt)).all()]

    # ---- erasure and retention -------------------------------------------------------------------
    async def forget_complaints(self, complaint_ids: Iterable[int]) -> None:
        """The complaints' texts went: calls not made yet are dropped (nothing of theirs leaves any
        more), the payloads of the ones made are emptied."""
        ids = list(complaint_ids)
        if not ids:
            return
        q = LaporQueueRow
        await self.session.execute(
            delete(q)
            .where(q.complaint_id.in_(ids), q.status.in_((PENDING, FAILED)))
            .execution_options(synchronize_session=False)
        )
        await self.session.execute(
            update(q)
            .where(and_(q.complaint_id.in_(ids)))
            .values(payload={})
            .execution_options(synchronize_session=False)
        )
