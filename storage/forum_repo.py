"""FKP queries: forums, registrations (RSVP), written input, subscriptions, the audiences of
announcements, reminders and the berita acara, and the data behind the proposed agenda.

Every read that serves an officer can be scoped to the officer's OPD here (``opd_code=``), in SQL.
Anonymous input never leaves this module with anything that identifies its sender.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Complaint,
    Forum,
    ForumInput,
    ForumReminder,
    ForumRsvp,
    ForumSubscription,
    SurveyResponse,
    User,
)

SCOPE_REGION = "region"  # the same constant as bot.domain.forum_rules.SCOPE_REGION (storage imports nothing above it)


@dataclass(frozen=True, slots=True)
class Page:
    rows: Sequence[Forum]
    total: int
    offset: int


@dataclass(frozen=True, slots=True)
class ForumSummary:
    """A forum as the daily digest and lists need it (detached from any session)."""

    id: int
    opd_code: str
    title: str
    topic: str
    starts_at: datetime
    place: str | None
    online_url: str | None
    capacity: int
    registered: int


@dataclass(frozen=True, slots=True)
class Attendee:
    """One registration for the staff view and the attendance export. ``name`` is None for a
    person who erased their data."""

    user_id: int
    name: str | None
    channel: str | None
    status: str
    registered_at: datetime
    cancelled_at: datetime | None


@dataclass(frozen=True, slots=True)
class InputRow:
    """Written input as staff may see it: ``name`` is None when anonymous (or the sender erased
    their data; then ``erased`` is True), and no user id is ever carried."""

    id: int
    submitted_at: datetime
    anonymous: bool
    name: str | None
    erased: bool
    channel: str
    text: str


@dataclass(frozen=True, slots=True)
class AudienceIds:
    participants: frozenset[int]
    contributors: frozenset[int]


class ForumRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @property
    def _pg(self) -> bool:
        return self.session.bind.dialect.name == "postgresql"

    # ---- forums ---------------------------------------------------------------------------
    async def create(self, **values: Any) -> Forum:
        row = Forum(**values)
        self.session.add(row)
        await self.session.flush()
        return row

    async def get(self, forum_id: int, *, lock: bool = False, opd_code: str | None = None) -> Forum | None:
        """One forum; with ``opd_code`` only if it belongs to that OPD (an officer's scope)."""
        if not 0 < forum_id < 10**15:
            return None
        stmt = select(Forum).where(Forum.id == forum_id)
        if opd_code is not None:
            stmt = stmt.where(Forum.opd_code == opd_code)
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def _page(self, where, order, *, limit: int, offset: int) -> Page:
        total = (await self.session.execute(select(func.count()).select_from(Forum).where(*where))).scalar_one()
        stmt = select(Forum).where(*where).order_by(*order).limit(limit).offset(offset)
        return Page((await self.session.execute(stmt)).scalars().all(), int(total), offset)

    async def upcoming(self, now: datetime, *, limit: int = 10, offset: int = 0, opd_code: str | None = None) -> Page:
        """Published forums that have not started, soonest first."""
        where = [Forum.status == "published", Forum.starts_at > now]
        if opd_code is not None:
            where.append(Forum.opd_code == opd_code)
        return await self._page(where, (Forum.starts_at, Forum.id), limit=limit, offset=offset)

    async def past(self, now: datetime, *, limit: int = 10, offset: int = 0, opd_code: str | None = None) -> Page:
        """Forums that have started, most recent first."""
        where = [Forum.status == "published", Forum.starts_at <= now]
        if opd_code is not None:
            where.append(Forum.opd_code == opd_code)
        return await self._page(where, (Forum.starts_at.desc(), Forum.id.desc()), limit=limit, offset=offset)

    # ---- registrations --------------------------------------------------------------------
    async def registered_count(self, forum_id: int) -> int:
        stmt = (
            select(func.count())
            .select_from(ForumRsvp)
            .where(ForumRsvp.forum_id == forum_id, ForumRsvp.status == "registered")
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def registered_counts(self, forum_ids: Iterable[int]) -> dict[int, int]:
        ids = list(forum_ids)
        if not ids:
            return {}
        stmt = (
            select(ForumRsvp.forum_id, func.count())
            .where(ForumRsvp.forum_id.in_(ids), ForumRsvp.status == "registered")
            .group_by(ForumRsvp.forum_id)
        )
        counts = {int(f): int(n) for f, n in (await self.session.execute(stmt)).all()}
        return {i: counts.get(i, 0) for i in ids}

    async def rsvp(self, forum_id: int, user_id: int) -> ForumRsvp | None:
        return await self.session.get(ForumRsvp, (forum_id, user_id))

    async def register(self, forum_id: int, user_id: int, now: datetime) -> ForumRsvp:
        """Register (again): a cancelled registration is renewed (a reminder already sent is not
        sent again). The caller checks capacity with the forum row locked (``get(..., lock=True)``)."""
        row = await self.rsvp(forum_id, user_id)
        if row is None:
            row = ForumRsvp(forum_id=forum_id, user_id=user_id, status="registered", registered_at=now)
            self.session.add(row)
        else:
            row.status, row.registered_at, row.cancelled_at = "registered", now, None
        await self.session.flush()
        return row

    async def cancel(self, forum_id: int, user_id: int, now: datetime) -> bool:
        row = await self.rsvp(forum_id, user_id)
        if row is None or row.status != "registered":
            return False
        row.status, row.cancelled_at = "cancelled", now
        return True

    async def registrations_of(self, user_id: int, now: datetime, *, limit: int = 10) -> Sequence[Forum]:
        """The person's registrations for forums that have not started, soonest first."""
        stmt = (
            select(Forum)
            .join(ForumRsvp, ForumRsvp.forum_id == Forum.id)
            .where(
                ForumRsvp.user_id == user_id,
                ForumRsvp.status == "registered",
                Forum.status == "published",
                Forum.starts_at > now,
            )
            .order_by(Forum.starts_at, Forum.id)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def rsvps_of(self, user_id: int) -> list[tuple[Forum, ForumRsvp]]:
        """Every registration of the person (kept or cancelled) with its forum, by forum date
        (``/datasaya``: what is stored about me)."""
        stmt = (
            select(Forum, ForumRsvp)
            .join(ForumRsvp, ForumRsvp.forum_id == Forum.id)
            .where(ForumRsvp.user_id == user_id)
            .order_by(Forum.starts_at, Forum.id)
        )
        return [(f, r) for f, r in (await self.session.execute(stmt)).all()]

    async def attendees(self, forum_id: int, *, include_cancelled: bool = False) -> list[Attendee]:
        stmt = (
            select(ForumRsvp, User)
            .join(User, User.id == ForumRsvp.user_id)
            .where(ForumRsvp.forum_id == forum_id)
            .order_by(ForumRsvp.registered_at, ForumRsvp.user_id)
        )
        if not include_cancelled:
            stmt = stmt.where(ForumRsvp.status == "registered")
        out = []
        for r, u in (await self.session.execute(stmt)).all():
            erased = u.erased_at is not None
            out.append(
                Attendee(
                    user_id=u.id,
                    name=None if erased else (u.display_name or ""),
                    channel=None if erased else u.channel,
                    status=r.status,
                    registered_at=r.registered_at,
                    cancelled_at=r.cancelled_at,
                )
            )
        return out

    # ---- written input --------------------------------------------------------------------
    def add_input(
        self, *, forum_id: int, user_id: int, anonymous: bool, channel: str, text: str, now: datetime
    ) -> ForumInput:
        row = ForumInput(
            forum_id=forum_id, user_id=user_id, anonymous=anonymous, channel=channel, text=text, submitted_at=now
        )
        self.session.add(row)
        return row

    async def input_count(self, forum_id: int, user_id: int | None = None) -> int:
        stmt = select(func.count()).select_from(ForumInput).where(ForumInput.forum_id == forum_id)
        if user_id is not None:
            stmt = stmt.where(ForumInput.user_id == user_id)
        return int((await self.session.execute(stmt)).scalar_one())

    async def inputs(self, forum_id: int, *, limit: int | None = None) -> list[InputRow]:
        """Input in the order sent. For anonymous input the user row is not even joined."""
        stmt = (
            select(ForumInput, User.display_name, User.erased_at)
            .outerjoin(User, and_(User.id == ForumInput.user_id, ForumInput.anonymous.is_(False)))
            .where(ForumInput.forum_id == forum_id)
            .order_by(ForumInput.id)
        )
        if limit is not None:
            stmt = stmt.limit(limit)
        out = []
        for row, name, erased_at in (await self.session.execute(stmt)).all():
            erased = not row.anonymous and (row.user_id is None or erased_at is not None)
            out.append(
                InputRow(
                    id=row.id,
                    submitted_at=row.submitted_at,
                    anonymous=row.anonymous,
                    name=None if (row.anonymous or erased) else (name or ""),
                    erased=erased,
                    channel=row.channel,
                    text=row.text,
                )
            )
        return out

    # ---- subscriptions --------------------------------------------------------------------
    async def subscriptions(self, user_id: int) -> list[str]:
        stmt = (
            select(ForumSubscription.scope)
            .where(ForumSubscription.user_id == user_id)
            .order_by(ForumSubscription.scope)
        )
        return list((await self.session.execute(stmt)).scalars().all())

    async def subscribe(self, user_id: int, scope: str, now: datetime) -> bool:
        """True when new (subscribing twice changes nothing)."""
        if await self.session.get(ForumSubscription, (user_id, scope)) is not None:
            return False
        self.session.add(ForumSubscription(user_id=user_id, scope=scope, created_at=now))
        await self.session.flush()
        return True

    async def unsubscribe(self, user_id: int, scope: str) -> bool:
        res = await self.session.execute(
            delete(ForumSubscription).where(ForumSubscription.user_id == user_id, ForumSubscription.scope == scope)
        )
        return bool(res.rowcount)

    async def subscribers(self, opd_code: str) -> Sequence[User]:
        """People subscribed to the whole region or to this OPD (once each, not erased)."""
        sub = select(ForumSubscription.user_id).where(ForumSubscription.scope.in_((SCOPE_REGION, opd_code)))
        stmt = select(User).where(User.id.in_(sub), User.erased_at.is_(None)).order_by(User.id)
        return (await self.session.execute(stmt)).scalars().all()

    async def outcome_audience(self, forum: Forum, since: datetime, until: datetime) -> AudienceIds:
        """Who receives the berita acara: registered participants, and subscribers (region or the
        forum's OPD) who filed a complaint or completed a survey on the OPD in [since, until)."""
        participants = (
            select(ForumRsvp.user_id)
            .join(User, User.id == ForumRsvp.user_id)
            .where(ForumRsvp.forum_id == forum.id, ForumRsvp.status == "registered", User.erased_at.is_(None))
        )
        complained = exists().where(
            Complaint.citizen_user_id == ForumSubscription.user_id,
            Complaint.opd_code == forum.opd_code,
            Complaint.filed_at >= since,
            Complaint.filed_at < until,
        )
        surveyed = exists().where(
            SurveyResponse.user_id == ForumSubscription.user_id,
            SurveyResponse.opd_code == forum.opd_code,
            SurveyResponse.status == "complete",
            SurveyResponse.finished_at >= since,
            SurveyResponse.finished_at < until,
        )
        contributors = (
            select(ForumSubscription.user_id)
            .join(User, User.id == ForumSubscription.user_id)
            .where(
                ForumSubscription.scope.in_((SCOPE_REGION, forum.opd_code)),
                User.erased_at.is_(None),
                or_(complained, surveyed),
            )
            .distinct()
        )
        p = frozenset(int(x) for x in (await self.session.execute(participants)).scalars().all())
        c = frozenset(int(x) for x in (await self.session.execute(contributors)).scalars().all())
        return AudienceIds(p, c)

    async def users(self, ids: Iterable[int]) -> list[User]:
        wanted = sorted(set(ids))
        if not wanted:
            return []
        stmt = select(User).where(User.id.in_(wanted), User.erased_at.is_(None)).order_by(User.id)
        return list((await self.session.execute(stmt)).scalars().all())

    # ---- data behind the agenda -----------------------------------------------------------
    async def complaint_topics(
        self, opd_code: str, start: datetime, end: datetime, *, limit: int = 10
    ) -> list[tuple[str, int]]:
        """(topic, complaints) of the OPD's complaints filed in [start, end), most frequent first."""
        n = func.count().label("n")
        stmt = (
            select(Complaint.topic, n)
            .where(
                Complaint.opd_code == opd_code,
                Complaint.filed_at >= start,
                Complaint.filed_at < end,
                Complaint.topic.is_not(None),
            )
            .group_by(Complaint.topic)
            .order_by(n.desc(), Complaint.topic)
            .limit(limit)
        )
        return [(str(t), int(c)) for t, c in (await self.session.execute(stmt)).all()]

    async def complaint_count(self, opd_code: str, start: datetime, end: datetime) -> int:
        stmt = (
            select(func.count())
            .select_from(Complaint)
            .where(Complaint.opd_code == opd_code, Complaint.filed_at >= start, Complaint.filed_at < end)
        )
        return int((await self.session.execute(stmt)).scalar_one())

    # ---- reminders ------------------------------------------------------------------------
    async def reminder_candidates(
        self,
        now: datetime,
        horizon: datetime,
        *,
        kind: str = "day_before",
        after: tuple[int, int] = (0, 0),
        limit: int = 500,
    ) -> list[tuple[ForumRsvp, Forum, User]]:
        """Registrations without a ``kind`` reminder for forums starting in (now, horizon), in
        (forum, user) order after ``after`` (keyset paging), locked for this transaction on
        PostgreSQL (skipping rows another sweep holds). The rules decide which are due
        (``bot.domain.forum_rules.reminder_due``)."""
        sent = exists().where(
            ForumReminder.forum_id == ForumRsvp.forum_id,
            ForumReminder.user_id == ForumRsvp.user_id,
            ForumReminder.kind == kind,
        )
        stmt = (
            select(ForumRsvp, Forum, User)
            .join(Forum, Forum.id == ForumRsvp.forum_id)
            .join(User, User.id == ForumRsvp.user_id)
            .where(
                ForumRsvp.status == "registered",
                ~sent,
                Forum.status == "published",
                Forum.starts_at > now,
                Forum.starts_at < horizon,
                User.erased_at.is_(None),
                or_(ForumRsvp.forum_id > after[0], and_(ForumRsvp.forum_id == after[0], ForumRsvp.user_id > after[1])),
            )
            .order_by(ForumRsvp.forum_id, ForumRsvp.user_id)
            .limit(limit)
        )
        if self._pg:
            stmt = stmt.with_for_update(of=ForumRsvp, skip_locked=True)
        return [(r, f, u) for r, f, u in (await self.session.execute(stmt)).all()]

    async def record_reminder(self, forum_id: int, user_id: int, now: datetime, *, kind: str = "day_before") -> bool:
        """Record the reminder unless it is recorded already (primary key forum, user, kind);
        True when this call recorded it: the licence to enqueue the message."""
        insert = postgresql.insert if self._pg else sqlite.insert
        stmt = (
            insert(ForumReminder)
            .values(forum_id=forum_id, user_id=user_id, kind=kind, sent_at=now)
            .on_conflict_do_nothing(index_elements=["forum_id", "user_id", "kind"])
            .returning(ForumReminder.forum_id)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def reminders(self, forum_id: int) -> list[tuple[int, str, datetime]]:
        """(user id, kind, sent at) of the reminders recorded for a forum."""
        stmt = (
            select(ForumReminder.user_id, ForumReminder.kind, ForumReminder.sent_at)
            .where(ForumReminder.forum_id == forum_id)
            .order_by(ForumReminder.user_id, ForumReminder.kind)
        )
        return [(int(u), str(k), at) for u, k, at in (await self.session.execute(stmt)).all()]


async def upcoming_forums(db: Any, now: datetime, days: int, *, opd_code: str | None = None) -> list[ForumSummary]:
    """Digest hook: published forums starting in [now, now + days), soonest first, with their
    registration counts. ``db`` is a ``storage.Database`` (a unit of work is opened and closed
    here) or an ``AsyncSession`` already in use."""
    if hasattr(db, "unit_of_work"):
        async with db.unit_of_work() as uow:
            return await _upcoming(uow.session, now, days, opd_code)
    return await _upcoming(db, now, days, opd_code)


async def _upcoming(session: AsyncSession, now: datetime, days: int, opd_code: str | None) -> list[ForumSummary]:
    stmt = select(Forum).where(
        Forum.status == "published", Forum.starts_at >= now, Forum.starts_at < now + timedelta(days=days)
    )
    if opd_code is not None:
        stmt = stmt.where(Forum.opd_code == opd_code)
    rows = (await session.execute(stmt.order_by(Forum.starts_at, Forum.id))).scalars().all()
    counts = await ForumRepo(session).registered_counts(f.id for f in rows)
    return [
        ForumSummary(
            id=f.id,
            opd_code=f.opd_code,
            title=f.title,
            topic=f.topic,
            starts_at=f.starts_at,
            place=f.place,
            online_url=f.online_url,
            capacity=f.capacity,
            registered=counts.get(f.id, 0),
        )
        for f in rows
    ]
