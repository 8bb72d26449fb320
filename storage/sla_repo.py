"""SQL of the scheduled jobs: SLA scans and reminder records, auto-close, retention, digest figures.

Every scan is an indexed range query over ``complaints`` (indexes from migrations 0004/0005):

=============  =============================================  ===================================
scan           predicate                                      index
=============  =============================================  ===================================
triage         state = 'triase' AND triage_due_at in range     ix_complaints_triage_due
response       state IN (disposisi, tindak_lanjut) AND         ix_complaints_response_due
               first_response_at IS NULL AND response_due_at   (partial: first_response_at NULL)
completion     state IN (…) AND completion_due_at in range     ix_complaints_state_due
auto-close     state = 'selesai' AND resolved_at < bound       ix_complaints_resolved
retention      state = 'ditutup' AND closed_at < bound AND     ix_complaints_retention
               anonymised_at IS NULL                           (partial: anonymised_at NULL)
sudah beres?   fixed_check_due_at <= now AND                   ix_complaints_fixed_check
               fixed_asked_at IS NULL (state ditutup, …)       (partial: fixed_asked_at NULL)
=============  =============================================  ===================================

Reminders already recorded are excluded in the same statement (``NOT EXISTS`` probes on the
``reminders_sent`` primary key), so a sweep with nothing new to send reads only index ranges.
The ``reminders_sent`` row is the idempotency key: :meth:`SlaRepo.record_reminders` inserts with
``ON CONFLICT DO NOTHING … RETURNING`` (PostgreSQL and SQLite alike) and only the rows it got back
may be announced — a second instance, a re-run or a restart gets nothing back and sends nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Date,
    ForeignKey,
    String,
    and_,
    case,
    delete,
    exists,
    func,
    literal,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from bot.domain.sla import ReminderKey, ScanWindow
from bot.domain.sla_performance import ComplaintTimes
from storage.follower_repo import FollowerRepo
from storage.forum_repo import upcoming_forums
from storage.lapor_repo import LaporRepo
from storage.models import AuditEvent, Base, Complaint, ComplaintEvent, ComplaintPhoto, ReminderSent, User
from storage.routing_repo import RoutingRepo
from storage.unit_state import release_media, write_deferred

HANDLING = ("disposisi", "tindak_lanjut")
OPEN = ("triase", *HANDLING)
STAGE_COLUMNS = {
    "triage": Complaint.triage_due_at,
    "response": Complaint.response_due_at,
    "completion": Complaint.completion_due_at,
}
#: what stays of a complaint's text after retention (the statistics columns are kept)
ANONYMISED_TEXT = "[dihapus: masa retensi data berakhir]"
#: audit actions whose actor is the reporter (their id is removed with the complaint's)
CITIZEN_AUDIT_ACTIONS = (
    "complaint_filed",
    "complaint_rate_good",
    "complaint_rate_bad",
    "complaint_fixed_confirmed",
    "complaint_reopen_not_fixed",
)


class DigestSent(Base):
    """One row per person and local day a scheduled digest was queued: its idempotency key.
    (Created by migration 0005; the lead may move this model into ``storage.models``.)"""

    __tablename__ = "digests_sent"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # coordinator | officer
    sent_at: Mapped[datetime]


def stage_condition(stage: str):
    """The states in which ``stage``'s deadline is running."""
    if stage == "triage":
        return Complaint.state == "triase"
    if stage == "response":
        return and_(Complaint.state.in_(HANDLING), Complaint.first_response_at.is_(None))
    if stage == "completion":
        return Complaint.state.in_(HANDLING)
    raise ValueError(f"unknown stage {stage!r}")


def overdue_condition(now: datetime):
    """An open complaint past the deadline of a stage it is in."""
    return or_(
        and_(Complaint.state == "triase", Complaint.triage_due_at < now),
        and_(
            Complaint.state.in_(HANDLING),
            or_(
                Complaint.completion_due_at < now,
                and_(Complaint.first_response_at.is_(None), Complaint.response_due_at < now),
            ),
        ),
    )


class SlaRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.dialect = session.bind.dialect.name

    def _insert(self, model):
        return (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(model)

    # ---- SLA sweep --------------------------------------------------------------------------
    @staticmethod
    def scan_statement(windows: Sequence[ScanWindow]):
        """One ``UNION ALL`` of the windows' range scans: rows (complaint id, stage, kind)."""
        parts = []
        for w in windows:
            due = STAGE_COLUMNS[w.stage]
            r = ReminderSent
            sent = select(literal(1)).where(r.complaint_id == Complaint.id, r.stage == w.stage, r.kind == w.kind)
            if w.seq is not None:
                sent = sent.where(r.seq == w.seq)
            if w.sent_since is not None:
                sent = sent.where(r.sent_at >= w.sent_since)
            if w.after_deadline:
                sent = sent.where(r.sent_at > due)
            where = [stage_condition(w.stage), due.is_not(None), ~exists(sent)]
            if w.due_from is not None:
                where.append(due >= w.due_from)
            if w.due_before is not None:
                where.append(due < w.due_before)
            parts.append(
                select(
                    Complaint.id.label("id"),
                    literal(w.stage, String).label("stage"),
                    literal(w.kind, String).label("kind"),
                ).where(*where)
            )
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else union_all(*parts)

    async def scan(self, windows: Sequence[ScanWindow]) -> list[tuple[int, str, str]]:
        """(complaint id, stage, kind) of every complaint a window selects, ordered by id."""
        stmt = self.scan_statement(windows)
        if stmt is None:
            return []
        rows = (await self.session.execute(stmt)).all()
        return sorted((int(i), s, k) for i, s, k in rows)

    async def complaints(self, ids: Iterable[int]) -> Sequence[Complaint]:
        ids = list(ids)
        if not ids:
            return []
        stmt = select(Complaint).where(Complaint.id.in_(ids)).order_by(Complaint.id)
        return (await self.session.execute(stmt)).scalars().all()

    async def opd_codes(self, ids: Iterable[int]) -> dict[int, str | None]:
        """The current OPD of each complaint (by primary key, in batches)."""
        ids = sorted(set(ids))
        out: dict[int, str | None] = {}
        for i in range(0, len(ids), 5000):
            stmt = select(Complaint.id, Complaint.opd_code).where(Complaint.id.in_(ids[i : i + 5000]))
            out.update({int(cid): opd for cid, opd in (await self.session.execute(stmt)).all()})
        return out

    async def record_reminders(self, keys: Sequence[ReminderKey], now: datetime) -> set[ReminderKey]:
        """Insert the reminder rows; the keys that were new (a conflict — already recorded, or
        recorded concurrently by another instance, which waits for and then loses to the first
        writer on PostgreSQL's unique index — is skipped and not returned)."""
        unique = list(dict.fromkeys(keys))
        if not unique:
            return set()
        table = ReminderSent.__table__
        stmt = (
            self._insert(table)
            .on_conflict_do_nothing(index_elements=["complaint_id", "stage", "kind", "seq"])
            .returning(table.c.complaint_id, table.c.stage, table.c.kind, table.c.seq)
        )
        # one compiled statement, sent as multi-row batches by SQLAlchemy's "insertmanyvalues"
        rows = await self.session.execute(
            stmt,
            [
                {"complaint_id": k.complaint_id, "stage": k.stage, "kind": k.kind, "seq": k.seq, "sent_at": now}
                for k in unique
            ],
        )
        return {ReminderKey(int(cid), stage, kind, int(seq)) for cid, stage, kind, seq in rows.all()}

    async def reminders(self, complaint_id: int | None = None) -> Sequence[ReminderSent]:
        stmt = select(ReminderSent)
        if complaint_id is not None:
            stmt = stmt.where(ReminderSent.complaint_id == complaint_id)
        return (
            (
                await self.session.execute(
                    stmt.order_by(ReminderSent.complaint_id, ReminderSent.stage, ReminderSent.kind, ReminderSent.seq)
                )
            )
            .scalars()
            .all()
        )

    async def staff(self) -> Sequence[User]:
        """Officers and coordinators who can receive reminders (not erased)."""
        stmt = select(User).where(User.role.in_(("officer", "coordinator")), User.erased_at.is_(None)).order_by(User.id)
        return (await self.session.execute(stmt)).scalars().all()

    async def users(self, ids: Iterable[int]) -> dict[int, User]:
        ids = list(set(ids))
        if not ids:
            return {}
        stmt = select(User).where(User.id.in_(ids), User.erased_at.is_(None))
        return {u.id: u for u in (await self.session.execute(stmt)).scalars().all()}

    # ---- auto-close -------------------------------------------------------------------------
    async def autoclose_candidates(self, resolved_before: datetime) -> list[int]:
        stmt = (
            select(Complaint.id)
            .where(Complaint.state == "selesai", Complaint.resolved_at < resolved_before)
            .order_by(Complaint.id)
        )
        return [int(i) for i in (await self.session.execute(stmt)).scalars().all()]

    async def autoclose(
        self, ids: Sequence[int], *, resolved_before: datetime, now: datetime
    ) -> list[tuple[int, str, int | None, str | None]]:
        """Close the given complaints that are (still) 'selesai' and past the window, atomically:
        (id, number, citizen user id, OPD) of those actually closed. Adds their history events."""
        if not ids:
            return []
        stmt = (
            update(Complaint)
            .where(Complaint.id.in_(list(ids)), Complaint.state == "selesai", Complaint.resolved_at < resolved_before)
            .values(state="ditutup", closed_at=now, updated_at=now)
            .returning(Complaint.id, Complaint.number, Complaint.citizen_user_id, Complaint.opd_code)
            .execution_options(synchronize_session=False)
        )
        closed = sorted((int(i), n, u, o) for i, n, u, o in (await self.session.execute(stmt)).all())
        if closed:
            await self.session.execute(
                ComplaintEvent.__table__.insert(),
                [
                    {
                        "complaint_id": i,
                        "at": now,
                        "actor_user_id": None,
                        "actor_role": "system",
                        "action": "autoclose",
                        "from_state": "selesai",
                        "to_state": "ditutup",
                        "opd_code": o,
                        "text": None,
                        "visible_to_citizen": True,
                    }
                    for i, _n, _u, o in closed
                ],
            )
            await self.session.execute(
                AuditEvent.__table__.insert(),
                [
                    {
                        "at": now,
                        "actor_user_id": None,
                        "action": "complaint_autoclose",
                        "subject_type": "complaint",
                        "subject_id": n,
                        "detail": {"from_state": "selesai", "to_state": "ditutup", "opd": o},
                    }
                    for _i, n, _u, o in closed
                ],
            )
        return closed

    async def schedule_fixed_checks(self, due: Sequence[tuple[int, datetime]]) -> None:
        """Set ``fixed_check_due_at`` of just-closed complaints not asked yet: (id, when) pairs."""
        for cid, when in due:
            await self.session.execute(
                update(Complaint)
                .where(Complaint.id == cid, Complaint.fixed_asked_at.is_(None))
                .values(fixed_check_due_at=when)
                .execution_options(synchronize_session=False)
            )

    # ---- "Sudah beres?" ---------------------------------------------------------------------
    @staticmethod
    def _fixed_check_due(now: datetime):
        return (
            Complaint.fixed_check_due_at <= now,
            Complaint.fixed_asked_at.is_(None),
            Complaint.state == "ditutup",
            Complaint.citizen_user_id.is_not(None),
            Complaint.anonymised_at.is_(None),
        )

    async def fixed_check_candidates(self, now: datetime) -> list[int]:
        """Closed complaints whose reporter is due to be asked "Sudah beres?" (the partial index
        ``ix_complaints_fixed_check``)."""
        stmt = select(Complaint.id).where(*self._fixed_check_due(now)).order_by(Complaint.id)
        return [int(i) for i in (await self.session.execute(stmt)).scalars().all()]

    async def claim_fixed_checks(
        self, ids: Sequence[int], now: datetime
    ) -> list[tuple[int, str, int, str | None, str, datetime | None]]:
        """Mark the given complaints asked, atomically: (id, number, reporter, OPD, text, closed at)
        of those this call claimed (a second run or instance gets nothing back)."""
        if not ids:
            return []
        stmt = (
            update(Complaint)
            .where(Complaint.id.in_(list(ids)), *self._fixed_check_due(now))
            .values(fixed_asked_at=now)
            .returning(*self._CLAIMED)
            .execution_options(synchronize_session=False)
        )
        return sorted((int(i), n, int(u), o, x, c) for i, n, u, o, x, c in (await self.session.execute(stmt)).all())

    _CLAIMED = (
        Complaint.id,
        Complaint.number,
        Complaint.citizen_user_id,
        Complaint.opd_code,
        Complaint.text,
        Complaint.closed_at,
    )

    # ---- SLA performance (/kinerja, the digest) -------------------------------------------
    _TIMES = (
        Complaint.number,
        Complaint.opd_code,
        Complaint.state,
        Complaint.filed_at,
        Complaint.routed_at,
        Complaint.response_due_at,
        Complaint.first_response_at,
        Complaint.completion_due_at,
        Complaint.resolved_at,
    )

    async def performance_window(
        self, start: datetime, end: datetime, opd_code: str | None = None
    ) -> list[ComplaintTimes]:
        """Complaints filed in [start, end) that an OPD holds (the on-time shares)."""
        stmt = select(*self._TIMES).where(
            Complaint.filed_at >= start, Complaint.filed_at < end, Complaint.opd_code.is_not(None)
        )
        if opd_code is not None:
            stmt = stmt.where(Complaint.opd_code == opd_code)
        return [ComplaintTimes(*row) for row in (await self.session.execute(stmt.order_by(Complaint.id))).all()]

    async def performance_open(self, opd_code: str | None = None) -> list[ComplaintTimes]:
        """The complaints OPDs hold now (open, late, red flags)."""
        stmt = select(*self._TIMES).where(Complaint.state.in_(HANDLING), Complaint.opd_code.is_not(None))
        if opd_code is not None:
            stmt = stmt.where(Complaint.opd_code == opd_code)
        return [ComplaintTimes(*row) for row in (await self.session.execute(stmt.order_by(Complaint.id))).all()]

    # ---- retention --------------------------------------------------------------------------
    async def retention_candidates(self, closed_before: datetime) -> list[int]:
        stmt = (
            select(Complaint.id)
            .where(Complaint.state == "ditutup", Complaint.closed_at < closed_before, Complaint.anonymised_at.is_(None))
            .order_by(Complaint.id)
        )
        return [int(i) for i in (await self.session.execute(stmt)).scalars().all()]

    async def _forget_linked(self, ids: list[int]) -> None:
        """The rows beside anonymised complaints that hold what they said or who cared: followers
        (links to people), photos (released after the commit), routing examples (with the models),
        queued SP4N-LAPOR! calls' texts."""
        await FollowerRepo(self.session).forget_complaints(ids)
        deleted = await self.session.execute(
            delete(ComplaintPhoto)
            .where(ComplaintPhoto.complaint_id.in_(ids))
            .returning(ComplaintPhoto.file_ref)
            .execution_options(synchronize_session=False)
        )
        release_media(self.session, deleted.scalars().all())
        await RoutingRepo(self.session).forget_complaints(ids)
        await LaporRepo(self.session).forget_complaints(ids)

    async def anonymise(self, ids: Sequence[int], *, closed_before: datetime, now: datetime) -> list[str]:
        """Remove what identifies the reporter from closed complaints; the numbers anonymised.

        Cleared: reporter link, address, coordinates, the text (replaced by ``ANONYMISED_TEXT``),
        photo references (rows deleted), the routing example (with the models that learnt from it),
        every history event's text and the reporter's id on
        history and audit events. Kept: number, OPD, topic, class, privacy, state, every date,
        rating, reopen count, who-did-what roles and reminder records — the statistics. Its followers go.
        """
        if not ids:
            return []
        stmt = (
            update(Complaint)
            .where(
                Complaint.id.in_(list(ids)),
                Complaint.state == "ditutup",
                Complaint.closed_at < closed_before,
                Complaint.anonymised_at.is_(None),
            )
            .values(
                citizen_user_id=None,
                address=None,
                latitude=None,
                longitude=None,
                text=ANONYMISED_TEXT,
                pin_hash=None,
                anonymised_at=now,
            )
            .returning(Complaint.id, Complaint.number)
            .execution_options(synchronize_session=False)
        )
        done = sorted((int(i), n) for i, n in (await self.session.execute(stmt)).all())
        if not done:
            return []
        done_ids = [i for i, _ in done]
        numbers = [n for _, n in done]
        await self._forget_linked(done_ids)
        await self.session.execute(
            update(ComplaintEvent)
            .where(ComplaintEvent.complaint_id.in_(done_ids))
            .values(
                text=None,
                actor_user_id=case((ComplaintEvent.actor_role == "citizen", None), else_=ComplaintEvent.actor_user_id),
            )
            .execution_options(synchronize_session=False)
        )
        await write_deferred(self.session)  # this transaction's own audit rows are anonymised too
        await self.session.execute(
            update(AuditEvent)
            .where(
                AuditEvent.subject_type == "complaint",
                AuditEvent.subject_id.in_(numbers),
                AuditEvent.action.in_(CITIZEN_AUDIT_ACTIONS),
            )
            .values(actor_user_id=None)
            .execution_options(synchronize_session=False)
        )
        await self.session.execute(
            AuditEvent.__table__.insert(),
            [
                {
                    "at": now,
                    "actor_user_id": None,
                    "action": "complaint_anonymised",
                    "subject_type": "complaint",
                    "subject_id": n,
                    "detail": {},
                }
                for n in numbers
            ],
        )
        return numbers

    # ---- digest -----------------------------------------------------------------------------
    async def new_by_opd(self, start: datetime, end: datetime) -> dict[str | None, int]:
        """Complaints filed in [start, end) per current OPD (None: not routed yet)."""
        stmt = (
            select(Complaint.opd_code, func.count())
            .where(Complaint.filed_at >= start, Complaint.filed_at < end)
            .group_by(Complaint.opd_code)
        )
        return {opd: int(n) for opd, n in (await self.session.execute(stmt)).all()}

    async def open_by_opd(self, now: datetime, opd_code: str | None = None) -> list[tuple[str | None, int, int]]:
        """(OPD or None for triage, open, overdue) for every OPD with open complaints, worst first
        (most overdue, then most open, then code)."""
        overdue = func.sum(case((overdue_condition(now), 1), else_=0))
        stmt = select(Complaint.opd_code, func.count(), overdue).where(Complaint.state.in_(OPEN))
        if opd_code is not None:
            stmt = stmt.where(Complaint.opd_code == opd_code)
        rows = [
            (opd, int(n), int(late or 0))
            for opd, n, late in (await self.session.execute(stmt.group_by(Complaint.opd_code))).all()
        ]
        return sorted(rows, key=lambda r: (-r[2], -r[1], r[0] or ""))

    async def first_responses(
        self, start: datetime, end: datetime, opd_code: str | None = None
    ) -> list[tuple[str | None, datetime, datetime]]:
        """(OPD, filed at, first response at) of complaints first answered in [start, end)."""
        stmt = select(Complaint.opd_code, Complaint.filed_at, Complaint.first_response_at).where(
            Complaint.first_response_at >= start, Complaint.first_response_at < end
        )
        if opd_code is not None:
            stmt = stmt.where(Complaint.opd_code == opd_code)
        return [(o, f, r) for o, f, r in (await self.session.execute(stmt)).all()]

    async def overdue_list(self, opd_code: str, now: datetime, limit: int = 10) -> Sequence[Complaint]:
        """The OPD's overdue complaints, oldest completion deadline first."""
        stmt = (
            select(Complaint)
            .where(Complaint.opd_code == opd_code, Complaint.state.in_(HANDLING), overdue_condition(now))
            .order_by(Complaint.completion_due_at, Complaint.id)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def upcoming_forums(self, now: datetime, days: int = 7, opd_code: str | None = None) -> list[Any]:
        """The published forums starting in the next ``days`` days, soonest first (objects with
        ``title``, ``starts_at``, ``opd_code``, ``registered``, ``capacity``): the forum module's
        query."""
        return list(await upcoming_forums(self.session, now, days, opd_code=opd_code))

    async def routing_events(self, start: datetime, end: datetime) -> list[tuple[int, str, str | None]]:
        """``(complaint, action, OPD after it)`` of the routing events of complaints filed in [start,
        end), in order: the monthly routing figures (``bot.domain.routing_figures``)."""
        stmt = (
            select(ComplaintEvent.complaint_id, ComplaintEvent.action, ComplaintEvent.opd_code)
            .join(Complaint, Complaint.id == ComplaintEvent.complaint_id)
            .where(
                Complaint.filed_at >= start,
                Complaint.filed_at < end,
                ComplaintEvent.action.in_(("filed", "auto_routed", "route", "forward", "return", "refer_out")),
            )
            .order_by(ComplaintEvent.complaint_id, ComplaintEvent.id)
        )
        return [(int(cid), action, opd) for cid, action, opd in (await self.session.execute(stmt)).all()]

    async def record_digest(self, user_id: int, day: date, kind: str, now: datetime) -> bool:
        """True if this person's digest for ``day`` was not recorded yet (and now is)."""
        stmt = (
            self._insert(DigestSent)
            .values(user_id=user_id, day=day, kind=kind, sent_at=now)
            .on_conflict_do_nothing(index_elements=["user_id", "day"])
            .returning(DigestSent.user_id)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def digests(self, day: date | None = None) -> Sequence[DigestSent]:
        stmt = select(DigestSent)
        if day is not None:
            stmt = stmt.where(DigestSent.day == day)
        return (await self.session.execute(stmt.order_by(DigestSent.day, DigestSent.user_id))).scalars().all()
