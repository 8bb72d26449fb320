"""Repositories: every SQL statement of the spine lives here, behind plain methods.

All methods take aware UTC datetimes (``now``) from the caller: time is injected, never read here.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, Update, bindparam, delete, event, func, inspect, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from storage.models import (
    AuditEvent,
    ConversationState,
    InboundMessage,
    Invite,
    Opd,
    OutboxMessage,
    RegionRow,
    Service,
    Unit,
    User,
)


@dataclass(frozen=True, slots=True)
class ClaimedMessage:
    """A claimed outbox row, detached from its session (it is sent outside the transaction)."""

    id: int
    channel: str
    address: str
    payload: dict[str, Any]
    attempts: int
    purpose: str
    user_id: int | None
    on_failure: dict[str, Any] | None = None


#: ``session.info`` key of the writes waiting for the commit: outbox and audit rows (see
#: :meth:`Repo.enqueue`) and a group commit's SKM answers (see :func:`defer_write`)
_DEFERRED = "kanal_deferred_rows"
#: ``session.info`` key: this transaction is a group commit (see :func:`in_group_commit`)
_GROUP_COMMIT = "kanal_group_commit"
#: ``session.info`` key of the region row read in this transaction (see :meth:`Repo.region`)
_REGION = "kanal_region"
#: ``session.info`` keys of the units and the services per unit read in this transaction
_UNITS = "kanal_units"
_SERVICES = "kanal_services"


def _write_state_statement():
    t = ConversationState.__table__
    return (
        t.update()
        .where(t.c.user_id == bindparam("b_uid"), t.c.version == bindparam("b_old"))
        .values(
            flow=bindparam("b_flow", type_=t.c.flow.type),
            step=bindparam("b_step", type_=t.c.step.type),
            data=bindparam("b_data", type_=t.c.data.type),
            version=bindparam("b_new", type_=t.c.version.type),
            updated_at=bindparam("b_at", type_=t.c.updated_at.type),
        )
    )


#: see :meth:`Repo.write_states`
_WRITE_STATE = _write_state_statement()


@functools.cache
def _claim_statement(by_channel: bool, replies: bool | None):
    """:meth:`Repo.claim_due`'s SELECT, built once per shape (parameters ``now``, ``limit`` and,
    when ``by_channel``, the expanding ``channels``)."""
    t = OutboxMessage.__table__
    now = bindparam("now", type_=t.c.next_attempt_at.type)
    due = or_(
        (t.c.status == "pending") & (t.c.next_attempt_at <= now), (t.c.status == "sending") & (t.c.locked_until < now)
    )
    # a message never overtakes an earlier one to the same chat that waits for a retry (a 429
    # or a network error paused it): it waits too, and they go out in order when it is due
    earlier = t.alias("earlier")
    waiting_before = (
        select(earlier.c.id)
        .where(
            earlier.c.channel == t.c.channel,
            earlier.c.address == t.c.address,
            earlier.c.id < t.c.id,
            earlier.c.status == "pending",
            earlier.c.next_attempt_at > now,
        )
        .exists()
    )
    stmt = select(
        t.c.id, t.c.channel, t.c.address, t.c.payload, t.c.attempts, t.c.purpose, t.c.user_id, t.c.on_failure
    ).where(due, ~waiting_before)
    if by_channel:
        stmt = stmt.where(t.c.channel.in_(bindparam("channels", expanding=True)))
    if replies is not None:
        stmt = stmt.where((t.c.purpose == "reply") if replies else (t.c.purpose != "reply"))
    return stmt.order_by(t.c.id).limit(bindparam("limit")).with_for_update(skip_locked=True)


def _mark_sending_statement():
    t = OutboxMessage.__table__
    return (
        t.update()
        .where(t.c.id.in_(bindparam("ids", expanding=True)))
        .values(
            status="sending",
            locked_until=bindparam("until", type_=t.c.locked_until.type),
            attempts=t.c.attempts + 1,
        )
    )


#: see :meth:`Repo.claim_due`
_MARK_SENDING = _mark_sending_statement()


@functools.cache
def _record_inbound_statement(dialect: str):
    """:meth:`Repo.record_inbound_many`'s INSERT for ``dialect``, built once."""
    t = InboundMessage.__table__
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        insert(t)
        .on_conflict_do_nothing(index_elements=["channel", "external_id"])
        .returning(t.c.channel, t.c.external_id)
    )


#: see :meth:`Repo.get_unit` and :meth:`Repo.services`
_GET_UNIT = select(Unit.__table__).where(Unit.__table__.c.code == bindparam("code"))
_UNIT_SERVICES = (
    select(Service.__table__)
    .where(Service.__table__.c.unit_code == bindparam("unit"), Service.__table__.c.active.is_(True))
    .order_by(Service.__table__.c.code)
)


def _deferred_writes(session: AsyncSession | Session) -> list[tuple[Any, list[dict[str, Any]]]]:
    """Take the deferred writes off the session: one (statement, rows) per statement, in the order
    first added. A model stands for the INSERT into its table (:meth:`Repo._defer`)."""
    rows = session.info.pop(_DEFERRED, None) or []
    by_target: dict[Any, list[dict[str, Any]]] = {}
    for target, values in rows:
        by_target.setdefault(target, []).append(values)
    return [
        (target.__table__.insert() if isinstance(target, type) else target, values)
        for target, values in by_target.items()
    ]


def _check_updated(session: AsyncSession | Session, stmt: Any, result: Any, rows: int) -> None:
    """An UPDATE run for many rows (deferred writes, a batch's states) must have found every row it
    was given. SQLite counts the rows of an executemany: a shortfall raises, which fails the group
    commit, whose turns then run one by one. PostgreSQL's driver does not count them."""
    if isinstance(stmt, Update) and session.bind.dialect.supports_sane_multi_rowcount and result.rowcount != rows:
        raise StaleDataError(f"{stmt.table.name}: {result.rowcount} of {rows} rows updated (changed concurrently)")


@event.listens_for(Session, "before_commit")
def _write_deferred(session: Session) -> None:
    """Outbox and audit rows (and a group commit's SKM answers) are written at commit: all the rows
    of a transaction (all the turns of a group commit) in one executemany per statement, instead of
    one statement each."""
    for stmt, values in _deferred_writes(session):
        _check_updated(session, stmt, session.execute(stmt, values), len(values))


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_transaction(session: Session) -> None:
    """What belonged to the transaction that ended: rows not written (after a rollback; a commit
    wrote them already) and the region, unit and service rows read in it."""
    session.info.pop(_DEFERRED, None)
    session.info.pop(_GROUP_COMMIT, None)
    _forget_region(session)


def _forget_region(session: AsyncSession | Session) -> None:
    """The region, unit and service rows read in this transaction, dropped (a region load changes them)."""
    for key in (_REGION, _UNITS, _SERVICES):
        session.info.pop(key, None)


async def write_deferred(session: AsyncSession) -> None:
    """Before a statement that reads or changes outbox or audit rows: write the deferred ones."""
    for stmt, values in _deferred_writes(session):
        _check_updated(session, stmt, await session.execute(stmt, values), len(values))


def defer_write(session: AsyncSession, stmt: Any, values: dict[str, Any]) -> None:
    """Run the prebuilt ``stmt`` (or an INSERT into the model ``stmt``) with ``values`` at commit,
    in one executemany with the other rows given for it in this transaction (see
    :func:`_write_deferred`)."""
    session.info.setdefault(_DEFERRED, []).append((stmt, values))


def in_group_commit(session: AsyncSession) -> bool:
    """Whether this transaction carries several people's turns (:meth:`Repo.begin_group_commit`)."""
    return bool(session.info.get(_GROUP_COMMIT))


def hash_code(code: str) -> str:
    return hashlib.sha256(code.strip().upper().encode()).hexdigest()


class Repo:
    """Queries over one session (one unit of work)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.dialect = session.bind.dialect.name

    def _defer(self, model: Any, **values: Any) -> None:
        defer_write(self.session, model, values)  # a model: an INSERT into its table

    def begin_group_commit(self) -> None:
        """Mark this transaction as a group commit: some single-row writes (an SKM answer) then
        wait for the commit's executemany (see :func:`in_group_commit`); its end clears the mark."""
        self.session.info[_GROUP_COMMIT] = True

    def _insert(self, model):
        return (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(model)

    # ---- inbound dedupe -------------------------------------------------------------------
    async def record_inbound(
        self, channel: str, external_id: str, now: datetime, user_id: int | None = None
    ) -> int | None:
        """Insert the dedupe row; the new row id, or None when this message was seen before."""
        stmt = (
            self._insert(InboundMessage)
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

    async def prune_inbound(self, before: datetime) -> int:
        res = await self.session.execute(delete(InboundMessage).where(InboundMessage.received_at < before))
        return res.rowcount or 0

    # ---- users ----------------------------------------------------------------------------
    async def get_or_create_user(
        self,
        channel: str,
        external_id: str,
        now: datetime,
        *,
        display_name: str | None = None,
        username: str | None = None,
    ) -> User:
        lookup = select(User).where(User.channel == channel, User.external_id == external_id)
        user = (await self.session.execute(lookup)).scalar_one_or_none()
        if user is not None:  # the common case: one query
            return user
        stmt = (
            self._insert(User)
            .values(
                channel=channel,
                external_id=external_id,
                display_name=display_name,
                username=username,
                role="citizen",
                created_at=now,
                language_explicit=False,
            )
            .on_conflict_do_nothing(index_elements=["channel", "external_id"])
        )
        await self.session.execute(stmt)  # a concurrent first message may have won: no error, same row
        return (await self.session.execute(lookup)).scalar_one()

    async def get_user(self, user_id: int) -> User | None:
        return await self.session.get(User, user_id)

    async def users_with_role(self, role: str, opd_code: str | None = None) -> Sequence[User]:
        stmt = select(User).where(User.role == role, User.erased_at.is_(None))
        if opd_code is not None:
            stmt = stmt.where(User.opd_code == opd_code)
        return (await self.session.execute(stmt.order_by(User.id))).scalars().all()

    async def erase_user(self, user: User, now: datetime) -> None:
        """Remove personal identifiers; the row (and the statistics pointing at it) stays."""
        await write_deferred(self.session)
        await self.session.execute(
            delete(OutboxMessage).where(OutboxMessage.user_id == user.id, OutboxMessage.status == "pending")
        )
        await self.session.execute(delete(ConversationState).where(ConversationState.user_id == user.id))
        user.external_id = f"erased:{user.id}"
        user.display_name = None
        user.username = None
        user.phone = None
        user.consent_at = None
        user.role = "citizen"
        user.opd_code = None
        user.erased_at = now

    async def people(
        self, keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], tuple[User, ConversationState | None]]:
        """The users with these ``(channel, external id)`` keys that exist, each with their state row
        (locked, FOR UPDATE on PostgreSQL, in user id order) or None when they have none yet: the
        reads that start a turn, for many people in two statements."""
        by_channel: dict[str, list[str]] = {}
        for channel, external_id in keys:
            by_channel.setdefault(channel, []).append(external_id)
        users: list[User] = []
        for channel, ids in by_channel.items():
            stmt = select(User).where(User.channel == channel, User.external_id.in_(ids))
            users += (await self.session.execute(stmt)).scalars().all()
        if not users:
            return {}
        stmt = (
            select(ConversationState)
            .where(ConversationState.user_id.in_([u.id for u in users]))
            .order_by(ConversationState.user_id)
            .with_for_update()
        )
        states = {st.user_id: st for st in (await self.session.execute(stmt)).scalars().all()}
        return {(u.channel, u.external_id): (u, states.get(u.id)) for u in users}

    # ---- conversation state ---------------------------------------------------------------
    async def load_state(self, user_id: int, now: datetime) -> ConversationState:
        """The user's state row, locked for this transaction (FOR UPDATE on PostgreSQL)."""
        stmt = select(ConversationState).where(ConversationState.user_id == user_id).with_for_update()
        state = (await self.session.execute(stmt)).scalar_one_or_none()
        if state is None:
            ins = self._insert(ConversationState).values(user_id=user_id, data={}, version=0, updated_at=now)
            await self.session.execute(ins.on_conflict_do_nothing(index_elements=["user_id"]))
            state = (await self.session.execute(stmt)).scalar_one()
        return state

    def take_state_change(self, state: ConversationState) -> dict[str, Any] | None:
        """For a group commit: if the turn changed ``state``, its new values as a row for
        :meth:`write_states`, and the object leaves the session so that no flush writes it; None
        when it is unchanged. One UPDATE per turn through the unit of work was the largest cost of
        a flow turn; the batch's state rows are written together instead."""
        info = inspect(state)
        if not info.persistent or not info.modified:
            return None
        row = {
            "b_uid": state.user_id,
            "b_old": state.version,
            "b_new": state.version + 1,
            "b_flow": state.flow,
            "b_step": state.step,
            "b_data": state.data,
            "b_at": state.updated_at,
        }
        self.session.expunge(state)
        return row

    async def write_states(self, rows: Sequence[dict[str, Any]]) -> None:
        """Write the state rows taken by :meth:`take_state_change`, in one executemany; each only
        if its version is still the one read (the row lock already holds off other writers; on
        SQLite, where the driver counts the rows of an executemany, a mismatch is raised)."""
        if rows:
            _check_updated(self.session, _WRITE_STATE, await self.session.execute(_WRITE_STATE, list(rows)), len(rows))

    # ---- outbox ---------------------------------------------------------------------------
    def enqueue(
        self,
        *,
        channel: str,
        address: str,
        payload: dict[str, Any],
        now: datetime,
        user_id: int | None = None,
        purpose: str = "reply",
        not_before: datetime | None = None,
        on_failure: dict[str, Any] | None = None,
    ) -> None:
        """Add an outbox row. It is written when the transaction commits (or before this repository
        next reads the outbox), in one statement with the transaction's other new rows.
        ``on_failure``: whom to tell if it cannot be delivered (``bot.engine.notify.Notifier.delivery_failed``)."""
        self._defer(
            OutboxMessage,
            channel=channel,
            address=address,
            user_id=user_id,
            payload=payload,
            purpose=purpose,
            status="pending",
            attempts=0,
            next_attempt_at=not_before or now,
            created_at=now,
            on_failure=on_failure,
        )

    async def claim_due(
        self,
        now: datetime,
        *,
        limit: int,
        lease: timedelta,
        channels: Iterable[str] | None = None,
        replies: bool | None = None,
    ) -> list[ClaimedMessage]:
        """Claim due rows (pending, or 'sending' whose lease ran out after a crash), oldest first;
        ``replies`` True: only answers to a person's own message (purpose ``reply``), False: only
        the others (notifications, reminders, broadcasts), None: both.

        On PostgreSQL concurrent senders skip each other's rows (FOR UPDATE SKIP LOCKED).
        """
        await write_deferred(self.session)
        channels = list(channels) if channels is not None else None
        params: dict[str, Any] = {"now": now, "limit": limit}
        if channels is not None:
            params["channels"] = channels
        rows = (await self.session.execute(_claim_statement(channels is not None, replies), params)).all()
        if not rows:
            return []
        # plain rows, no ORM objects: one UPDATE marks the batch (the SELECT above locked the rows
        # on PostgreSQL; SQLite's writer lock is held), and the attempts counted are those read + 1
        await self.session.execute(_MARK_SENDING, {"ids": [r.id for r in rows], "until": now + lease})
        return [
            ClaimedMessage(r.id, r.channel, r.address, r.payload, r.attempts + 1, r.purpose, r.user_id, r.on_failure)
            for r in rows
        ]

    async def mark_sent(self, outbox_id: int, now: datetime, platform_message_id: str | None) -> None:
        await self.mark_sent_many([(outbox_id, platform_message_id)], now)

    async def mark_sent_many(self, sent: Sequence[tuple[int, str | None]], now: datetime) -> None:
        """:meth:`mark_sent` for many rows in one statement (``(outbox id, platform message id)``)."""
        if sent:
            await self.session.execute(
                update(OutboxMessage),
                [
                    {
                        "id": i,
                        "status": "sent",
                        "sent_at": now,
                        "locked_until": None,
                        "platform_message_id": pm,
                        "last_error": None,
                    }
                    for i, pm in sent
                ],
            )

    async def mark_retry(self, outbox_id: int, at: datetime, error: str, *, count_attempt: bool = True) -> None:
        values: dict[str, Any] = {
            "status": "pending",
            "next_attempt_at": at,
            "locked_until": None,
            "last_error": error[:1000],
        }
        if not count_attempt:  # rate limited: not the message's fault
            values["attempts"] = OutboxMessage.attempts - 1
        await self.session.execute(update(OutboxMessage).where(OutboxMessage.id == outbox_id).values(**values))

    async def mark_failed(self, outbox_id: int, error: str) -> None:
        await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == outbox_id)
            .values(status="failed", locked_until=None, last_error=error[:1000])
        )

    async def reschedule_address(self, channel: str, address: str, now: datetime) -> int:
        await write_deferred(self.session)
        res = await self.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.channel == channel, OutboxMessage.address == address, OutboxMessage.status == "pending"
            )
            .values(next_attempt_at=now)
        )
        return res.rowcount or 0

    async def outbox_backlog(self, now: datetime) -> dict[str, int]:
        await write_deferred(self.session)
        stmt = (
            select(OutboxMessage.status, func.count())
            .where(OutboxMessage.status.in_(["pending", "sending", "failed"]))
            .group_by(OutboxMessage.status)
        )
        return dict((await self.session.execute(stmt)).all())

    async def sent_since(self, channel: str, address: str, after_id: int, limit: int = 100) -> Sequence[OutboxMessage]:
        await write_deferred(self.session)
        stmt = (
            select(OutboxMessage)
            # 'sending' too: a push racing a reconnect may have gone to the old socket (pages dedupe by id)
            .where(
                OutboxMessage.channel == channel,
                OutboxMessage.address == address,
                OutboxMessage.status.in_(["sent", "sending"]),
                OutboxMessage.id > after_id,
            )
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    # ---- platform delivery reports (WhatsApp statuses) -------------------------------------
    #: how far a message got; a report never moves a row backwards (reports arrive out of order)
    DELIVERY_RANK = {"sent": 1, "failed": 2, "delivered": 3, "read": 4}

    async def record_delivery_status(
        self,
        platform_message_id: str,
        status: str,
        at: datetime,
        error: str | None = None,
        *,
        channel: str | None = None,
    ) -> tuple[bool, dict[str, Any] | None]:
        """Record what the platform reported about a sent message: (found, whom to tell). Found is
        False when no row has that id (not recorded yet: the send's bookkeeping may still be in
        flight). A later report of a lower rank (``sent`` after ``read``, ``failed`` after
        ``delivered``) is ignored; a failure is kept in ``last_error``. Whom to tell: the row's
        ``on_failure`` when this report is the one that says it failed, else None."""
        await write_deferred(self.session)
        stmt = select(OutboxMessage).where(OutboxMessage.platform_message_id == platform_message_id)
        if channel is not None:
            stmt = stmt.where(OutboxMessage.channel == channel)
        # locked: Meta's reports of one message come as separate webhooks handled at once, and a
        # lower one read before a higher one committed would otherwise overwrite it (PostgreSQL;
        # SQLite's transactions here take turns)
        stmt = stmt.order_by(OutboxMessage.id.desc()).limit(1).with_for_update()
        row = (await self.session.execute(stmt)).scalar_one_or_none()
        if row is None:
            return False, None
        rank = self.DELIVERY_RANK.get(status, 0)
        tell = None
        if rank >= self.DELIVERY_RANK.get(row.delivery_status or "", 0):
            if status == "failed" and row.delivery_status != "failed":
                tell = row.on_failure
            row.delivery_status = status[:12]
            row.delivery_status_at = at
            if error:
                row.last_error = error[:1000]
        return True, tell

    async def last_inbound_at(self, channel: str, external_id: str) -> datetime | None:
        """When the person last wrote to us on ``channel`` (WhatsApp's 24-hour window), or None."""
        stmt = select(User.last_inbound_at).where(User.channel == channel, User.external_id == external_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def last_delivered_payload(self, channel: str, address: str) -> dict[str, Any] | None:
        """The payload of the newest message that went (or is going) out to ``address``."""
        await write_deferred(self.session)
        stmt = (
            select(OutboxMessage.payload)
            .where(
                OutboxMessage.channel == channel,
                OutboxMessage.address == address,
                OutboxMessage.status.in_(["sent", "sending"]),
            )
            .order_by(OutboxMessage.id.desc())
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    # ---- audit ----------------------------------------------------------------------------
    def audit(
        self,
        *,
        at: datetime,
        action: str,
        actor_user_id: int | None,
        subject_type: str | None = None,
        subject_id: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        self._defer(
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
        await write_deferred(self.session)
        stmt = select(AuditEvent)
        if subject_type is not None:
            stmt = stmt.where(AuditEvent.subject_type == subject_type)
        if subject_id is not None:
            stmt = stmt.where(AuditEvent.subject_id == subject_id)
        if actor_user_id is not None:
            stmt = stmt.where(AuditEvent.actor_user_id == actor_user_id)
        return (await self.session.execute(stmt.order_by(AuditEvent.id))).scalars().all()

    # ---- invites --------------------------------------------------------------------------
    def create_invite(
        self,
        *,
        code: str,
        role: str,
        opd_code: str | None,
        now: datetime,
        valid_for: timedelta,
        created_by: int | None = None,
    ) -> Invite:
        invite = Invite(
            code_hash=hash_code(code),
            role=role,
            opd_code=opd_code,
            created_at=now,
            expires_at=now + valid_for,
            created_by=created_by,
        )
        self.session.add(invite)
        return invite

    async def redeem_invite(self, code: str, user_id: int, now: datetime) -> Invite | None:
        """Mark the invite used by ``user_id``; None when unknown, used or expired (atomic)."""
        res = await self.session.execute(
            update(Invite)
            .where(Invite.code_hash == hash_code(code), Invite.used_at.is_(None), Invite.expires_at > now)
            .values(used_at=now, used_by=user_id)
            .returning(Invite.code_hash)
        )
        if res.scalar_one_or_none() is None:
            return None
        return await self.session.get(Invite, hash_code(code), populate_existing=True)

    # ---- region ---------------------------------------------------------------------------
    async def region(self) -> RegionRow | None:
        """The loaded region, read once per transaction: most turns ask for it (timezone, SLA,
        calendar), and the turns of a group commit share one transaction."""
        if _REGION not in self.session.info:
            self.session.info[_REGION] = (await self.session.execute(select(RegionRow).limit(1))).scalar_one_or_none()
        return self.session.info[_REGION]

    async def opds(self, *, active_only: bool = True) -> Sequence[Opd]:
        stmt = select(Opd).order_by(Opd.code)
        if active_only:
            stmt = stmt.where(Opd.active.is_(True))
        return (await self.session.execute(stmt)).scalars().all()

    async def get_opd(self, code: str) -> Opd | None:
        return await self.session.get(Opd, code.upper())

    async def units(self, opd_code: str | None = None) -> Sequence[Unit]:
        stmt = select(Unit).where(Unit.active.is_(True)).order_by(Unit.opd_code, Unit.code)
        if opd_code is not None:
            stmt = stmt.where(Unit.opd_code == opd_code)
        return (await self.session.execute(stmt)).scalars().all()

    async def get_unit(self, code: str) -> Row | None:
        """The unit ``code`` (a read-only row: code, opd_code, name, population, active), or None.
        Read once per transaction, like :meth:`region`: the turns of a group commit that survey
        one unit share it."""
        if not code:
            return None
        cache = self.session.info.setdefault(_UNITS, {})
        if code not in cache:
            cache[code] = (await self.session.execute(_GET_UNIT, {"code": code})).first()
        return cache[code]

    async def services(self, unit_code: str) -> Sequence[Row]:
        """The active services of a unit (read-only rows: code, unit_code, name, active), ordered by
        code; read once per transaction."""
        cache = self.session.info.setdefault(_SERVICES, {})
        if unit_code not in cache:
            cache[unit_code] = tuple((await self.session.execute(_UNIT_SERVICES, {"unit": unit_code})).all())
        return cache[unit_code]

    async def replace_region(
        self, *, code: str, name: str, timezone: str, config: dict[str, Any], opds: list[dict[str, Any]], now: datetime
    ) -> dict[str, int]:
        """Load a region: upsert OPDs, units and services; what the file no longer names is deactivated
        (kept, because complaints and survey answers refer to it)."""
        _forget_region(self.session)
        await self.session.execute(delete(RegionRow))
        self.session.add(RegionRow(code=code, name=name, timezone=timezone, config=config, loaded_at=now))
        for model in (Service, Unit, Opd):
            await self.session.execute(update(model).values(active=False))
        counts = {"opds": 0, "units": 0, "services": 0}
        for o in opds:
            await self._upsert(
                Opd, "code", {"code": o["code"], "name": o["name"], "keywords": o["keywords"], "active": True}
            )
            counts["opds"] += 1
            for u in o["units"]:
                await self._upsert(
                    Unit,
                    "code",
                    {
                        "code": u["code"],
                        "opd_code": o["code"],
                        "name": u["name"],
                        "population": u.get("population"),
                        "active": True,
                    },
                )
                counts["units"] += 1
                for s in u["services"]:
                    await self._upsert(
                        Service, "code", {"code": s["code"], "unit_code": u["code"], "name": s["name"], "active": True}
                    )
                    counts["services"] += 1
        return counts

    async def _upsert(self, model, key: str, values: dict[str, Any]) -> None:
        stmt = self._insert(model).values(**values)
        stmt = stmt.on_conflict_do_update(index_elements=[key], set_={k: v for k, v in values.items() if k != key})
        await self.session.execute(stmt)
