"""The region as data: the loaded region row, its OPDs, units and services. The region, units and
services are read once per transaction (the unit of work's :class:`~storage.unit_state.ReadCache`):
the turns of a group commit share them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Opd, RegionRow, Service, Unit
from storage.sql_dialect import dialect_insert
from storage.unit_state import ReadCache

#: see :meth:`RegionRepo.get_unit` and :meth:`RegionRepo.services`
_GET_UNIT = select(Unit.__table__).where(Unit.__table__.c.code == bindparam("code"))
_UNIT_SERVICES = (
    select(Service.__table__)
    .where(Service.__table__.c.unit_code == bindparam("unit"), Service.__table__.c.active.is_(True))
    .order_by(Service.__table__.c.code)
)


class RegionRepo:
    """The ``region``, ``opds``, ``units`` and ``services`` tables."""

    def __init__(self, session: AsyncSession, reads: ReadCache) -> None:
        self.session = session
        self.dialect = session.bind.dialect.name
        self.reads = reads

    async def region(self) -> RegionRow | None:
        """The loaded region, read once per transaction."""
        if not self.reads.has_region:
            self.reads.region = (await self.session.execute(select(RegionRow).limit(1))).scalar_one_or_none()
        return self.reads.region

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
        cache = self.reads.units
        if code not in cache:
            cache[code] = (await self.session.execute(_GET_UNIT, {"code": code})).first()
        return cache[code]

    async def services(self, unit_code: str) -> Sequence[Row]:
        """The active services of a unit (read-only rows: code, unit_code, name, active), ordered by
        code; read once per transaction."""
        cache = self.reads.services
        if unit_code not in cache:
            cache[unit_code] = tuple((await self.session.execute(_UNIT_SERVICES, {"unit": unit_code})).all())
        return cache[unit_code]

    async def replace_region(
        self, *, code: str, name: str, timezone: str, config: dict[str, Any], opds: list[dict[str, Any]], now: datetime
    ) -> dict[str, int]:
        """Load a region: upsert OPDs, units and services; what the file no longer names is deactivated
        (kept, because complaints and survey answers refer to it)."""
        self.reads.clear()
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
                await self._upsert(Unit, "code", _unit_values(o, u))
                counts["units"] += 1
                for s in u["services"]:
                    await self._upsert(
                        Service, "code", {"code": s["code"], "unit_code": u["code"], "name": s["name"], "active": True}
                    )
                    counts["services"] += 1
        return counts

    async def _upsert(self, model, key: str, values: dict[str, Any]) -> None:
        stmt = dialect_insert(self.dialect, model).values(**values)
        stmt = stmt.on_conflict_do_update(index_elements=[key], set_={k: v for k, v in values.items() if k != key})
        await self.session.execute(stmt)


def _unit_values(opd: dict[str, Any], unit: dict[str, Any]) -> dict[str, Any]:
    return {
        "code": unit["code"],
        "opd_code": opd["code"],
        "name": unit["name"],
        "population": unit.get("population"),
        "active": True,
    }
