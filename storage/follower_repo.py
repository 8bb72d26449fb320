"""Followers of complaints and the officers' reply templates (``complaint_followers``,
``reply_templates``, migration 0017).

A follower is a citizen who chose to follow an open complaint of someone else instead of filing
the same problem again (the summary step of /lapor offers similar complaints): they get its
updates. Their rows are personal data: erasure and retention delete them (``storage.erasure``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Complaint, ComplaintFollower, ReplyTemplate, User

#: ``reply_templates.opd_code`` of a template every OPD is offered
EVERY_OPD = "*"


class FollowerRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def similar_pool(
        self, *, opd_code: str | None, since: datetime, other_than_user: int, limit: int = 200
    ) -> Sequence[Complaint]:
        """Open complaints filed since ``since`` that a new complaint to ``opd_code`` may repeat:
        those of that OPD being handled (disposisi, tindak lanjut) and those waiting in triage with
        that OPD suggested; not the person's own; newest first."""
        if opd_code is None:
            return []
        stmt = (
            select(Complaint)
            .where(
                Complaint.filed_at >= since,
                Complaint.number.is_not(None),
                or_(Complaint.citizen_user_id.is_(None), Complaint.citizen_user_id != other_than_user),
                or_(
                    and_(Complaint.opd_code == opd_code, Complaint.state.in_(("disposisi", "tindak_lanjut"))),
                    and_(Complaint.state == "triase", Complaint.suggested_opd == opd_code),
                ),
            )
            .order_by(Complaint.filed_at.desc(), Complaint.id.desc())
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def follow(self, complaint_id: int, user_id: int, now: datetime) -> bool:
        """Follow; False when already following."""
        if await self.is_following(complaint_id, user_id):
            return False
        self.session.add(ComplaintFollower(complaint_id=complaint_id, user_id=user_id, since=now))
        await self.session.flush()
        return True

    async def is_following(self, complaint_id: int, user_id: int) -> bool:
        stmt = select(ComplaintFollower.id).where(
            ComplaintFollower.complaint_id == complaint_id, ComplaintFollower.user_id == user_id
        )
        return (await self.session.execute(stmt)).first() is not None

    async def unfollow(self, complaint_id: int, user_id: int) -> bool:
        """Stop following; False when the person did not follow it."""
        result = await self.session.execute(
            delete(ComplaintFollower)
            .where(ComplaintFollower.complaint_id == complaint_id, ComplaintFollower.user_id == user_id)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)

    async def followers(self, complaint_id: int) -> Sequence[User]:
        """The people following a complaint (not erased ones)."""
        stmt = (
            select(User)
            .join(ComplaintFollower, ComplaintFollower.user_id == User.id)
            .where(ComplaintFollower.complaint_id == complaint_id, User.erased_at.is_(None))
            .order_by(ComplaintFollower.id)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def followed(self, user_id: int, *, limit: int = 20) -> Sequence[Complaint]:
        """The complaints a person follows, newest followed first."""
        stmt = (
            select(Complaint)
            .join(ComplaintFollower, ComplaintFollower.complaint_id == Complaint.id)
            .where(ComplaintFollower.user_id == user_id)
            .order_by(ComplaintFollower.since.desc(), ComplaintFollower.id.desc())
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def counts(self, complaint_ids: Iterable[int]) -> dict[int, int]:
        """complaint id → number of followers (complaints without followers are left out)."""
        ids = list(complaint_ids)
        if not ids:
            return {}
        stmt = (
            select(ComplaintFollower.complaint_id, func.count())
            .where(ComplaintFollower.complaint_id.in_(ids))
            .group_by(ComplaintFollower.complaint_id)
        )
        return {int(cid): int(n) for cid, n in (await self.session.execute(stmt)).all()}

    async def forget_users(self, user_ids: Sequence[int]) -> None:
        """Erasure: the people follow nothing any more."""
        if user_ids:
            await self.session.execute(
                delete(ComplaintFollower)
                .where(ComplaintFollower.user_id.in_(list(user_ids)))
                .execution_options(synchronize_session=False)
            )

    async def forget_complaints(self, complaint_ids: Sequence[int]) -> None:
        """Retention: nobody follows these (anonymised) complaints any more."""
        if complaint_ids:
            await self.session.execute(
                delete(ComplaintFollower)
                .where(ComplaintFollower.complaint_id.in_(list(complaint_ids)))
                .execution_options(synchronize_session=False)
            )

    # ---- reply templates --------------------------------------------------------------------
    async def templates(self, opd_code: str | None) -> Sequence[ReplyTemplate]:
        """The stored templates an officer of ``opd_code`` is offered: their OPD's and every OPD's
        (``opd_code`` None: every OPD's only), by name."""
        scopes = [EVERY_OPD] + ([opd_code] if opd_code else [])
        stmt = select(ReplyTemplate).where(ReplyTemplate.opd_code.in_(scopes)).order_by(ReplyTemplate.name)
        return (await self.session.execute(stmt)).scalars().all()

    async def put_template(self, opd_code: str, name: str, text: str, now: datetime) -> bool:
        """Add a template (or replace the text of the one with that name); True when it is new."""
        stmt = select(ReplyTemplate).where(ReplyTemplate.opd_code == opd_code, ReplyTemplate.name == name)
        row = (await self.session.execute(stmt)).scalar_one_or_none()
        if row is not None:
            row.text = text
            await self.session.flush()
            return False
        self.session.add(ReplyTemplate(opd_code=opd_code, name=name, text=text, created_at=now))
        await self.session.flush()
        return True

    async def drop_template(self, opd_code: str, name: str) -> bool:
        result = await self.session.execute(
            delete(ReplyTemplate)
            .where(ReplyTemplate.opd_code == opd_code, func.lower(ReplyTemplate.name) == name.lower())
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)
