"""``sms_numbers`` and ``sms_usage`` (``uow.sms``): the number behind an SMS person's hashed key,
their STOP opt-out, and what was sent per day — for the per-person daily cap and the month's cost
estimate. Erasure marks a person's number (``storage/erasure.py``); it goes once the goodbye is
sent (:meth:`SmsRepo.forget`) or at the latest with :meth:`SmsRepo.forget_erased`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import SmsNumber, SmsUsage
from storage.sql_dialect import dialect_insert

#: ``sms_usage.key`` of the rows that count every SMS of a day (the cost estimate)
ALL = ""


@dataclass(frozen=True)
class SmsTarget:
    number: str
    opted_out: bool
    erased: bool


class SmsRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.dialect = session.bind.dialect.name

    async def remember(self, key: str, number: str, now: datetime) -> None:
        """Keep ``number`` for ``key`` (a person who writes again after erasure is kept again)."""
        stmt = dialect_insert(self.dialect, SmsNumber).values(
            key=key, number=number, opted_out=False, seen_at=now, erased_at=None
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["key"], set_={"number": number, "seen_at": now, "erased_at": None}
        )
        await self.session.execute(stmt)

    async def target(self, key: str) -> SmsTarget | None:
        row = await self.session.get(SmsNumber, key)
        if row is None:
            return None
        return SmsTarget(row.number, row.opted_out, row.erased_at is not None)

    async def set_opted_out(self, key: str, opted_out: bool) -> bool:
        """STOP (True) or MULAI (False); False when the key has no number."""
        stmt = update(SmsNumber).where(SmsNumber.key == key).values(opted_out=opted_out)
        return bool((await self.session.execute(stmt)).rowcount)

    async def numbers_of(self, keys: list[str]) -> dict[str, str]:
        if not keys:
            return {}
        rows = await self.session.execute(select(SmsNumber.key, SmsNumber.number).where(SmsNumber.key.in_(keys)))
        return {str(k): str(n) for k, n in rows.all()}

    async def mark_erased(self, keys: list[str], now: datetime) -> None:
        """Erasure: the numbers stay only until the goodbye is sent; their usage rows go now."""
        if not keys:
            return
        await self.session.execute(
            update(SmsNumber)
            .where(SmsNumber.key.in_(keys))
            .values(erased_at=now, opted_out=True)
            .execution_options(synchronize_session=False)
        )
        await self.session.execute(
            delete(SmsUsage).where(SmsUsage.key.in_(keys)).execution_options(synchronize_session=False)
        )

    async def forget(self, key: str) -> None:
        """Delete an erased person's number (their goodbye went out)."""
        await self.session.execute(delete(SmsNumber).where(SmsNumber.key == key, SmsNumber.erased_at.is_not(None)))

    async def forget_erased(self, before: datetime) -> int:
        """Delete the numbers erased before ``before`` whatever became of their goodbye."""
        stmt = delete(SmsNumber).where(SmsNumber.erased_at.is_not(None), SmsNumber.erased_at < before)
        return (await self.session.execute(stmt)).rowcount or 0

    async def spent(self, key: str, day: str) -> tuple[int, bool]:
        """(segments sent to ``key`` on ``day``, whether the cap notice went out)."""
        row = await self.session.get(SmsUsage, (day, key))
        return (row.segments, row.capped) if row is not None else (0, False)

    async def count(self, key: str, day: str, segments: int, *, capped: bool = False) -> None:
        """One SMS of ``segments`` sent to ``key`` on ``day`` (and to the day's total)."""
        t = SmsUsage.__table__
        for k in dict.fromkeys((key, ALL)):
            values = {"day": day, "key": k, "messages": 1, "segments": segments, "capped": capped and k == key}
            changes = {"messages": t.c.messages + 1, "segments": t.c.segments + segments}
            if capped and k == key:
                changes["capped"] = True
            stmt = dialect_insert(self.dialect, t).values(**values)
            await self.session.execute(stmt.on_conflict_do_update(index_elements=["day", "key"], set_=changes))

    async def usage(self, first_day: str, last_day: str) -> tuple[int, int]:
        """(messages, segments) sent from ``first_day`` to ``last_day`` (inclusive)."""
        stmt = select(func.coalesce(func.sum(SmsUsage.messages), 0), func.coalesce(func.sum(SmsUsage.segments), 0))
        stmt = stmt.where(SmsUsage.key == ALL, SmsUsage.day >= first_day, SmsUsage.day <= last_day)
        messages, segments = (await self.session.execute(stmt)).one()
        return int(messages), int(segments)

    async def prune_usage(self, before_day: str) -> int:
        """Per-person rows of days before ``before_day`` (the totals stay for the cost history)."""
        stmt = delete(SmsUsage).where(SmsUsage.key != ALL, SmsUsage.day < before_day)
        return (await self.session.execute(stmt)).rowcount or 0
