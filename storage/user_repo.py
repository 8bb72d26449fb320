"""People and their conversations: users (identity, role, consent, language, last message), their
conversation state rows (locked and versioned per turn), and erasure of a person's identifiers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, inspect, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.erasure import PersonalData
from storage.models import ConversationState, OutboxMessage, User, WebPushSubscription
from storage.sql_dialect import dialect_insert
from storage.unit_state import PendingWrites, check_rowcount


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


#: see :meth:`UserRepo.write_states`
_WRITE_STATE = _write_state_statement()


class UserRepo:
    """The ``users`` and ``conversation_state`` tables."""

    def __init__(self, session: AsyncSession, pending: PendingWrites) -> None:
        self.session = session
        self.dialect = session.bind.dialect.name
        self.pending = pending

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
            dialect_insert(self.dialect, User)
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

    async def staff(self) -> Sequence[User]:
        """Everyone holding a staff role (officers and coordinators), not erased, by id."""
        stmt = select(User).where(User.role.in_(("officer", "coordinator")), User.erased_at.is_(None))
        return (await self.session.execute(stmt.order_by(User.id))).scalars().all()

    async def revoke_staff(self, user: User) -> None:
        """Take the staff role away at once: the person becomes a citizen, a staff flow they were in
        (e.g. a half-typed answer) is dropped with their conversation state, and the staff
        notifications not sent to them yet (a Rahasia complaint's card) are not sent at all."""
        await self.pending.write()
        await self.session.execute(delete(ConversationState).where(ConversationState.user_id == user.id))
        await self.session.execute(
            delete(OutboxMessage).where(
                OutboxMessage.user_id == user.id,
                OutboxMessage.status == "pending",
                OutboxMessage.purpose == "notification",
            )
        )
        user.role = "citizen"
        user.opd_code = None

    async def last_inbound_at(self, channel: str, external_id: str) -> datetime | None:
        """When the person last wrote to us on ``channel`` (WhatsApp's 24-hour window), or None."""
        stmt = select(User.last_inbound_at).where(User.channel == channel, User.external_id == external_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def identity_known(self, channel: str, external_id: str) -> bool:
        """Whether a (not erased) person is stored under this address (web chat identities)."""
        stmt = select(User.id).where(User.channel == channel, User.external_id == external_id)
        return (await self.session.execute(stmt)).first() is not None

    async def rekey(self, channel: str, old: str, new: str) -> bool:
        """Move a person and the messages addressed to them to a new address (a web chat identity
        rotated after a role change). False when nobody is stored under ``old``."""
        await self.pending.write()
        res = await self.session.execute(
            update(User).where(User.channel == channel, User.external_id == old).values(external_id=new)
        )
        if not res.rowcount:
            return False
        await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.channel == channel, OutboxMessage.address == old)
            .values(address=new)
        )
        await self.session.execute(
            update(WebPushSubscription).where(WebPushSubscription.address == old).values(address=new)
        )
        return True

    async def erase_user(self, user: User, now: datetime) -> None:
        """Erase the person's data: :meth:`storage.erasure.PersonalData.erase` (the one place
        that knows where it lives); the row (and the statistics pointing at it) stays."""
        await PersonalData(self.session, self.pending).erase([user], now)

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
            ins = dialect_insert(self.dialect, ConversationState).values(
                user_id=user_id, data={}, version=0, updated_at=now
            )
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
            result = await self.session.execute(_WRITE_STATE, list(rows))
            check_rowcount(self.session, _WRITE_STATE, result, len(rows))
