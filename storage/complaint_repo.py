"""Pengaduan queries. Every read that serves an officer is filtered by the officer's OPD here, in
SQL, so a handler cannot forget it: another OPD's complaint is simply "not found"."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, or_, select, update

from storage.models import Complaint, ComplaintEvent, ComplaintPhoto, ComplaintVoice
from storage.unit_state import pending_writes_of

OPEN_STATES = ("triase", "disposisi", "tindak_lanjut")
QUEUE_STATES = ("disposisi", "tindak_lanjut")  # an OPD's queue (/antrian): routed and not yet resolved


def queue_open():
    """``state IN ('disposisi', 'tindak_lanjut')`` with the states rendered as literals, not bound
    parameters: the partial index ``ix_complaints_open_queue`` (migration 0007) has this predicate,
    and a planner only uses a partial index when it can prove the predicate from the query's text
    (SQLite always, PostgreSQL for generic plans of prepared statements)."""
    return Complaint.state.in_(bindparam("queue_states", QUEUE_STATES, expanding=True, literal_execute=True))


_SET_PIN_HASH = (
    update(Complaint.__table__)
    .where(Complaint.__table__.c.id == bindparam("complaint_id"))
    .values(pin_hash=bindparam("hash"))
)


@dataclass(frozen=True, slots=True)
class Page:
    rows: Sequence[Complaint]
    total: int
    offset: int


def _like_pattern(term: str) -> str:
    escaped = term.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class ComplaintRepo:
    def __init__(self, session, *, lapor=None) -> None:
        self.session = session
        #: the SP4N-LAPOR! queue (``storage.lapor_repo.LaporRepo``) when the bridge is on: every
        #: event LAPOR! must hear of is queued in this transaction
        self.lapor = lapor

    # ---- writing --------------------------------------------------------------------------
    async def create(self, *, number_year: int, **values) -> Complaint:
        """Insert and give the tracking number ADU-<year>-<id, 5+ digits> (unique by construction)."""
        row = Complaint(**values)
        self.session.add(row)
        await self.session.flush()
        row.number = f"ADU-{number_year:04d}-{row.id:05d}"
        return row

    def add_photo(
        self,
        *,
        complaint_id: int,
        channel: str,
        file_ref: str,
        mime_type: str | None,
        size: int | None,
        caption: str | None,
        now: datetime,
    ) -> None:
        self.session.add(
            ComplaintPhoto(
                complaint_id=complaint_id,
                channel=channel,
                file_ref=file_ref,
                mime_type=mime_type,
                size=size,
                caption=caption,
                added_at=now,
            )
        )

    def add_voice(
        self,
        *,
        complaint_id: int,
        channel: str,
        file_ref: str,
        mime_type: str | None,
        duration: int | None,
        size: int | None,
        now: datetime,
    ) -> ComplaintVoice:
        voice = ComplaintVoice(
            complaint_id=complaint_id,
            channel=channel,
            file_ref=file_ref,
            mime_type=mime_type,
            duration=duration,
            size=size,
            added_at=now,
        )
        self.session.add(voice)
        return voice

    def add_event(
        self,
        *,
        complaint: Complaint,
        at: datetime,
        actor_user_id: int | None,
        actor_role: str,
        action: str,
        from_state: str | None = None,
        text: str | None = None,
        visible_to_citizen: bool = True,
    ) -> ComplaintEvent:
        ev = ComplaintEvent(
            complaint_id=complaint.id,
            at=at,
            actor_user_id=actor_user_id,
            actor_role=actor_role,
            action=action,
            from_state=from_state,
            to_state=complaint.state,
            opd_code=complaint.opd_code,
            text=text,
            visible_to_citizen=visible_to_citizen,
        )
        self.session.add(ev)
        if self.lapor is not None:
            self.lapor.on_event(
                complaint,
                action=action,
                actor_role=actor_role,
                from_state=from_state,
                text=text,
                at=at,
                visible=visible_to_citizen,
            )
        return ev

    # ---- changing a complaint (flows name the change; the columns are set here) -----------
    def record_transition(
        self,
        complaint: Complaint,
        *,
        action: str,
        to_state: str,
        at: datetime,
        actor_user_id: int | None,
        actor_role: str,
        text: str | None,
        visible_to_citizen: bool = True,
        close: bool = False,
    ) -> ComplaintEvent:
        """Move the complaint to ``to_state`` (closing it when ``close``) and record the event."""
        before = complaint.state
        complaint.state = to_state
        complaint.updated_at = at
        if close:
            complaint.closed_at = at
        return self.add_event(
            complaint=complaint,
            at=at,
            actor_user_id=actor_user_id,
            actor_role=actor_role,
            action=action,
            from_state=before,
            text=text,
            visible_to_citizen=visible_to_citizen,
        )

    @staticmethod
    def route_to(complaint: Complaint, opd_code: str, at: datetime) -> None:
        """The complaint is now the business of ``opd_code`` (routed or forwarded)."""
        complaint.opd_code = opd_code
        complaint.routed_at = at

    @staticmethod
    def mark_answered(complaint: Complaint, at: datetime) -> None:
        """The first response, if this is the first one."""
        if complaint.first_response_at is None:
            complaint.first_response_at = at

    @classmethod
    def mark_resolved(cls, complaint: Complaint, at: datetime) -> None:
        cls.mark_answered(complaint, at)
        complaint.resolved_at = at

    @staticmethod
    def back_to_triage(complaint: Complaint, triage_due_at: datetime) -> None:
        """Returned by its OPD: no OPD, and a new triage deadline for the coordinators."""
        complaint.opd_code = None
        complaint.triage_due_at = triage_due_at

    def set_pin_hash(self, complaint: Complaint, pin_hash: asyncio.Future[str]) -> None:
        """The hash of the reporter's PIN (``bot.domain.complaint_pin``; never the PIN), still
        being computed (scrypt, slow on purpose, in a thread): written at the commit, so the
        turns after this one in a group commit do not wait for it."""
        pending_writes_of(self.session).add_when_ready(_SET_PIN_HASH, {"complaint_id": complaint.id}, hash=pin_hash)

    @staticmethod
    def move_to_reporter(complaint: Complaint, user_id: int) -> int | None:
        """The reporter proved with the PIN that ``complaint`` is theirs: it belongs to ``user_id``
        from now on (the identity it had loses it); the identity it had."""
        before = complaint.citizen_user_id
        complaint.citizen_user_id = user_id
        return before

    @staticmethod
    def rate_satisfied(complaint: Complaint) -> None:
        complaint.rating = "puas"

    @staticmethod
    def reopen_unsatisfied(complaint: Complaint, completion_due_at: datetime) -> None:
        """The reporter was not satisfied: open again for the same OPD with a new deadline."""
        complaint.rating = "tidak_puas"
        complaint.reopen_count += 1
        complaint.resolved_at = None
        complaint.completion_due_at = completion_due_at

    @staticmethod
    def schedule_fixed_check(complaint: Complaint, due_at: datetime | None) -> None:
        """Closed: the reporter is asked "Sudah beres?" at ``due_at`` (never when None, and never a
        second time: a complaint already asked keeps its record)."""
        if complaint.fixed_asked_at is None:
            complaint.fixed_check_due_at = due_at

    @staticmethod
    def record_fixed_answer(complaint: Complaint, answer: str) -> None:
        complaint.fixed_answer = answer

    @staticmethod
    def reopen_not_fixed(complaint: Complaint, completion_due_at: datetime) -> None:
        """ "Sudah beres?" answered "belum": open again for the same OPD with a new deadline."""
        complaint.fixed_answer = "belum"
        complaint.reopen_count += 1
        complaint.resolved_at = None
        complaint.closed_at = None
        complaint.completion_due_at = completion_due_at

    async def awaiting_fixed_answer(self, citizen_user_id: int, asked_since: datetime) -> Complaint | None:
        """The reporter's complaint most recently asked "Sudah beres?" (at or after ``asked_since``)
        that waits for the answer, locked; None when there is none."""
        stmt = (
            select(Complaint)
            .where(
                Complaint.citizen_user_id == citizen_user_id,
                Complaint.state == "ditutup",
                Complaint.fixed_asked_at >= asked_since,
                Complaint.fixed_answer.is_(None),
            )
            .order_by(Complaint.fixed_asked_at.desc(), Complaint.id.desc())
            .limit(1)
            .with_for_update()
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    # ---- reading, scoped ------------------------------------------------------------------
    async def get(
        self, number: str, *, lock: bool = False, citizen_user_id: int | None = None, opd_code: str | None = None
    ) -> Complaint | None:
        """One complaint by number, optionally restricted to its reporter or to its current OPD."""
        stmt = select(Complaint).where(Complaint.number == number)
        if citizen_user_id is not None:
            stmt = stmt.where(Complaint.citizen_user_id == citizen_user_id)
        if opd_code is not None:
            stmt = stmt.where(Complaint.opd_code == opd_code)
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def get_by_id(self, complaint_id: int) -> Complaint | None:
        return await self.session.get(Complaint, complaint_id)

    async def for_citizen(self, user_id: int, limit: int = 10) -> Sequence[Complaint]:
        stmt = (
            select(Complaint)
            .where(Complaint.citizen_user_id == user_id)
            .order_by(Complaint.filed_at.desc(), Complaint.id.desc())
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def all_for_citizen(self, user_id: int) -> Sequence[Complaint]:
        """Every complaint the person filed, oldest first (``/datasaya``: what is stored about me)."""
        stmt = select(Complaint).where(Complaint.citizen_user_id == user_id).order_by(Complaint.filed_at, Complaint.id)
        return (await self.session.execute(stmt)).scalars().all()

    async def photo_counts(self, complaint_ids: Sequence[int]) -> dict[int, int]:
        """The number of photos of each of ``complaint_ids`` (absent: none)."""
        if not complaint_ids:
            return {}
        stmt = (
            select(ComplaintPhoto.complaint_id, func.count())
            .where(ComplaintPhoto.complaint_id.in_(list(complaint_ids)))
            .group_by(ComplaintPhoto.complaint_id)
        )
        return {row[0]: row[1] for row in (await self.session.execute(stmt)).all()}

    async def queue(self, opd_code: str, *, limit: int = 10, offset: int = 0) -> Page:
        """The OPD's open complaints, nearest (or most overdue) completion deadline first."""
        where = (Complaint.opd_code == opd_code, queue_open())
        order = (Complaint.completion_due_at, Complaint.id)
        total = (await self.session.execute(select(func.count()).select_from(Complaint).where(*where))).scalar_one()
        # the page's ids first, from ix_complaints_open_queue alone (a deep page's OFFSET skips index
        # entries, not rows), then just those rows
        ids = select(Complaint.id).where(*where).order_by(*order).limit(limit).offset(offset)
        stmt = select(Complaint).where(Complaint.id.in_(ids)).order_by(*order)
        return Page((await self.session.execute(stmt)).scalars().all(), int(total), offset)

    async def triage(self, *, limit: int = 10, offset: int = 0) -> Page:
        where = (Complaint.state == "triase",)
        total = (await self.session.execute(select(func.count()).select_from(Complaint).where(*where))).scalar_one()
        stmt = (
            select(Complaint).where(*where).order_by(Complaint.triage_due_at, Complaint.id).limit(limit).offset(offset)
        )
        return Page((await self.session.execute(stmt)).scalars().all(), int(total), offset)

    async def search(self, term: str, *, limit: int = 10) -> Sequence[Complaint]:
        pattern = _like_pattern(term)
        stmt = (
            select(Complaint)
            .where(
                or_(
                    func.lower(Complaint.text).like(pattern, escape="\\"),
                    func.lower(Complaint.number).like(pattern, escape="\\"),
                )
            )
            .order_by(Complaint.filed_at.desc())
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def events(self, complaint_id: int, *, citizen_view: bool = False) -> Sequence[ComplaintEvent]:
        stmt = select(ComplaintEvent).where(ComplaintEvent.complaint_id == complaint_id)
        if citizen_view:
            stmt = stmt.where(ComplaintEvent.visible_to_citizen.is_(True))
        return (await self.session.execute(stmt.order_by(ComplaintEvent.id))).scalars().all()

    async def photos(self, complaint_id: int) -> Sequence[ComplaintPhoto]:
        stmt = select(ComplaintPhoto).where(ComplaintPhoto.complaint_id == complaint_id).order_by(ComplaintPhoto.id)
        return (await self.session.execute(stmt)).scalars().all()

    async def media_item(self, kind: str, media_id: int) -> ComplaintPhoto | ComplaintVoice | None:
        """One photo (``kind`` "photo") or voice note ("voice") by its id, or None."""
        model = ComplaintPhoto if kind == "photo" else ComplaintVoice
        return await self.session.get(model, media_id)

    async def media_ref_in_use(self, file_ref: str) -> bool:
        """Whether a photo or voice note row still names ``file_ref`` (a shared upload stays)."""
        for model in (ComplaintPhoto, ComplaintVoice):
            stmt = select(model.id).where(model.file_ref == file_ref).limit(1)
            if (await self.session.execute(stmt)).first() is not None:
                return True
        return False

    async def voices(self, complaint_id: int) -> Sequence[ComplaintVoice]:
        stmt = select(ComplaintVoice).where(ComplaintVoice.complaint_id == complaint_id).order_by(ComplaintVoice.id)
        return (await self.session.execute(stmt)).scalars().all()

    # ---- abuse limits and batched notices --------------------------------------------------
    async def filed_since(self, citizen_user_id: int, since: datetime) -> int:
        """How many complaints this person filed at or after ``since`` (the daily limit)."""
        stmt = select(func.count()).where(Complaint.citizen_user_id == citizen_user_id, Complaint.filed_at >= since)
        return (await self.session.execute(stmt)).scalar_one()

    async def filed_to_queue_since(self, opd_code: str | None, since: datetime, *, other_than: int) -> int:
        """Complaints filed at or after ``since`` for an OPD (``None``: the triage queue), but one."""
        queue = Complaint.opd_code == opd_code if opd_code is not None else Complaint.opd_code.is_(None)
        stmt = select(func.count()).where(queue, Complaint.filed_at >= since, Complaint.id != other_than)
        return (await self.session.execute(stmt)).scalar_one()

    async def notices_waiting(self) -> Sequence[Complaint]:
        """Complaints whose new-complaint notice waits for a summary, oldest first."""
        stmt = select(Complaint).where(Complaint.notice_due_at.is_not(None)).order_by(Complaint.id)
        return (await self.session.execute(stmt)).scalars().all()

    async def notices_sent(self, ids: Sequence[int]) -> int:
        """Clear the waiting notices of ``ids``; the number cleared (0: another run took them)."""
        res = await self.session.execute(
            update(Complaint)
            .where(Complaint.id.in_(list(ids)), Complaint.notice_due_at.is_not(None))
            .values(notice_due_at=None)
            .execution_options(synchronize_session=False)
        )
        return res.rowcount or 0

    async def anonymise_citizen(self, user_id: int) -> int:
        """On /hapusdata: detach the reporter from their complaints (statistics stay)."""
        rows = (
            (await self.session.execute(select(Complaint).where(Complaint.citizen_user_id == user_id))).scalars().all()
        )
        for c in rows:
            c.citizen_user_id = None
        return len(rows)
