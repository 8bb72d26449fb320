"""Staff invites: one-time codes (stored hashed) that give a role, redeemed atomically."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Invite


def hash_code(code: str) -> str:
    return hashlib.sha256(code.strip().upper().encode()).hexdigest()


class InviteRepo:
    """The ``invites`` table."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

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

    async def redeem_invite(
        self, code: str, user_id: int, now: datetime, *, code_hash: str | None = None
    ) -> Invite | None:
        """Mark the invite used by ``user_id``; None when unknown, used or expired (atomic).
        ``code_hash`` (from :meth:`usable_invite`) instead of ``code``: the code itself is never kept."""
        key = code_hash or hash_code(code)
        res = await self.session.execute(
            update(Invite)
            .where(Invite.code_hash == key, Invite.used_at.is_(None), Invite.expires_at > now)
            .values(used_at=now, used_by=user_id)
            .returning(Invite.code_hash)
        )
        if res.scalar_one_or_none() is None:
            return None
        return await self.session.get(Invite, key, populate_existing=True)

    async def usable_invite(self, code: str, now: datetime) -> Invite | None:
        """The invite for ``code`` if it can still be redeemed (not used, not expired); nothing is marked."""
        stmt = select(Invite).where(
            Invite.code_hash == hash_code(code), Invite.used_at.is_(None), Invite.expires_at > now
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()
