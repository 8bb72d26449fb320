"""Reads of the public transparency page (``/publik``): complaint timestamps and event counts per
OPD, forums and their published berita acara.

Nothing here selects a complaint's text, address, location, reporter or an event's text: the page
is built from timestamps, OPD codes and counts only (see :mod:`bot.domain.public_rules`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.public_rules import REOPEN_ACTIONS, ComplaintFacts
from storage.models import Complaint, ComplaintEvent, Forum


class PublicRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _event_count(self, actions: Sequence[str]):
        return (
            select(func.count(ComplaintEvent.id))
            .where(ComplaintEvent.complaint_id == Complaint.id, ComplaintEvent.action.in_(actions))
            .correlate(Complaint)
            .scalar_subquery()
        )

    async def complaint_facts(self, start: datetime, end: datetime) -> list[ComplaintFacts]:
        """One row per complaint filed in [start, end) (any state, any privacy): its OPD, timestamps,
        whether it was reopened and its ratings (events ``rate_good``/``rate_bad``)."""
        stmt = select(
            Complaint.opd_code,
            Complaint.filed_at,
            Complaint.first_response_at,
            Complaint.response_due_at,
            Complaint.resolved_at,
            Complaint.completion_due_at,
            self._event_count(REOPEN_ACTIONS),
            self._event_count(("rate_good",)),
            self._event_count(("rate_bad",)),
        ).where(Complaint.filed_at >= start, Complaint.filed_at < end)
        rows = (await self.session.execute(stmt)).all()
        return [
            ComplaintFacts(
                opd_code=r[0],
                filed_at=r[1],
                first_response_at=r[2],
                response_due_at=r[3],
                resolved_at=r[4],
                completion_due_at=r[5],
                reopened=bool(r[6]),
                rate_good=int(r[7] or 0),
                rate_bad=int(r[8] or 0),
            )
            for r in rows
        ]

    async def upcoming_forums(self, now: datetime, limit: int = 20) -> Sequence[Forum]:
        """Published forums that have not started yet, soonest first."""
        stmt = (
            select(Forum)
            .where(Forum.status == "published", Forum.starts_at >= now)
            .order_by(Forum.starts_at, Forum.id)
            .limit(limit)
        )
        return (await self.session.scalars(stmt)).all()

    async def published_results(self, limit: int = 20) -> Sequence[Forum]:
        """Forums whose berita acara was published, newest first."""
        stmt = (
            select(Forum)
            .where(and_(Forum.result_published_at.is_not(None), Forum.result_text.is_not(None)))
            .order_by(Forum.result_published_at.desc(), Forum.id.desc())
            .limit(limit)
        )
        return (await self.session.scalars(stmt)).all()
