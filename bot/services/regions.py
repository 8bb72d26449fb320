"""Storing the region: the validated region file (``bot.domain.region.Region``) written to the
database in one transaction, used by ``kanal region load`` and the first start of ``kanal run``."""

from __future__ import annotations

from datetime import datetime

from bot.domain.region import Region
from storage import Database


async def store_region(db: Database, region: Region, now: datetime) -> dict[str, int]:
    """Write ``region`` to the database in one transaction: counts of OPDs, units and services."""
    async with db.unit_of_work() as uow:
        counts = await uow.region.replace_region(
            code=region.code,
            name=region.name,
            timezone=region.timezone,
            config=region.config(),
            opds=region.opd_rows(),
            now=now,
        )
        await uow.commit()
    return counts
