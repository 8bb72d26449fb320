"""Staff lifecycle: who holds a staff role, since when, and taking it away (``kanal staff``,
the coordinator's /cabut). Both write an audit event; revocation takes effect at the next turn on
every channel, because every turn reads the role from the ``users`` row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

ROLE_GRANTED = "role_granted"
ROLE_REVOKED = "role_revoked"


@dataclass(frozen=True)
class StaffMember:
    user_id: int
    role: str
    opd_code: str | None
    channel: str
    identity: str  # masked: never the whole chat id or phone number
    since: datetime | None  # when the role was last granted (audit trail), else when the person first wrote
    name: str  # the display name the person chats under (to tell who is who), "" when none


def mask_identity(external_id: str | None) -> str:
    """A chat id, phone number or web id shown to operators: only its last three characters."""
    text = external_id or ""
    return "•••" + text[-3:] if len(text) > 3 else "•••"


async def staff_members(uow: Any) -> list[StaffMember]:
    """Every officer and coordinator, with the date their role was granted."""
    out = []
    for user in await uow.users.staff():
        granted = [
            e.at
            for e in await uow.audit.audit_events(subject_type="user", subject_id=str(user.id))
            if e.action == ROLE_GRANTED
        ]
        out.append(
            StaffMember(
                user_id=user.id,
                role=user.role,
                opd_code=user.opd_code,
                channel=user.channel,
                identity=mask_identity(user.external_id),
                since=granted[-1] if granted else user.created_at,
                name=user.display_name or "",
            )
        )
    return out


async def revoke(uow: Any, user: Any, *, actor_user_id: int | None, now: datetime, via: str) -> None:
    """Make ``user`` a citizen again and record who did it (``via``: "cli" or "chat")."""
    role, opd = user.role, user.opd_code
    await uow.users.revoke_staff(user)
    uow.audit.audit(
        at=now,
        action=ROLE_REVOKED,
        actor_user_id=actor_user_id,
        subject_type="user",
        subject_id=str(user.id),
        detail={"role": role, "opd": opd, "via": via},
    )
