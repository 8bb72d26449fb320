"""SKM queries: questionnaires, respondent profiles and the IKM aggregation (in SQL)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from .models import RespondentProfile, SurveyResponse, Unit, UnitPopulation

ELEMENT_COLUMNS = ("u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9")


@dataclass(frozen=True, slots=True)
class ElementTotals:
    """Per group (unit, OPD or region): complete responses and, per element code, (sum, count)."""

    key: str
    responses: int
    totals: dict[str, tuple[int, int]]


class SkmRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # ---- profiles -------------------------------------------------------------------------
    async def profile(self, user_id: int) -> RespondentProfile | None:
        return await self.session.get(RespondentProfile, user_id)

    async def save_profile(self, user_id: int, values: dict[str, str | None], now: datetime) -> RespondentProfile:
        prof = await self.profile(user_id)
        if prof is None:
            prof = RespondentProfile(user_id=user_id, updated_at=now)
            self.session.add(prof)
        for key in ("umur", "jenis_kelamin", "pendidikan", "pekerjaan"):
            if key in values:
                setattr(prof, key, values[key])
        prof.updated_at = now
        return prof

    # ---- questionnaires -------------------------------------------------------------------
    def start(self, *, user_id: int, unit_code: str, opd_code: str, service_code: str | None, channel: str, period_key: str, now: datetime, profile: dict[str, Any]) -> SurveyResponse:
        row = SurveyResponse(user_id=user_id, unit_code=unit_code, opd_code=opd_code, service_code=service_code, channel=channel,
                             period_key=period_key, status="in_progress", started_at=now, profile=profile)
        self.session.add(row)
        return row

    async def get(self, response_id: int) -> SurveyResponse | None:
        return await self.session.get(SurveyResponse, response_id)

    async def completed_in_period(self, user_id: int, unit_code: str, period_key: str) -> SurveyResponse | None:
        stmt = select(SurveyResponse).where(
            SurveyResponse.user_id == user_id, SurveyResponse.unit_code == unit_code,
            SurveyResponse.period_key == period_key, SurveyResponse.status == "complete",
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def abandon_open(self, user_id: int, now: datetime) -> int:
        """Questionnaires left half-way are kept as 'abandoned' (never counted in the IKM)."""
        res = await self.session.execute(
            update(SurveyResponse).where(SurveyResponse.user_id == user_id, SurveyResponse.status == "in_progress")
            .values(status="abandoned", finished_at=now)
        )
        return res.rowcount or 0

    # ---- aggregation ----------------------------------------------------------------------
    async def element_totals(self, *, start: datetime, end: datetime, group_by: str = "unit", opd_code: str | None = None, unit_code: str | None = None) -> list[ElementTotals]:
        """Sums and counts per element over complete questionnaires finished in [start, end).

        ``group_by``: "unit", "opd", "service" or "region". NRR = sum / count is computed by the
        rules (``bot.skm``); the database only adds up, so a million rows stay one index scan.
        """
        column = {"unit": SurveyResponse.unit_code, "opd": SurveyResponse.opd_code, "service": SurveyResponse.service_code}.get(group_by)
        cols: list[Any] = [func.count()]
        for c in ELEMENT_COLUMNS:
            col = getattr(SurveyResponse, c)
            cols += [func.coalesce(func.sum(col), 0), func.count(col)]
        where = and_(SurveyResponse.status == "complete", SurveyResponse.finished_at >= start, SurveyResponse.finished_at < end)
        if opd_code is not None:
            where = and_(where, SurveyResponse.opd_code == opd_code)
        if unit_code is not None:
            where = and_(where, SurveyResponse.unit_code == unit_code)
        if column is None:
            stmt = select(*cols).where(where)
            rows = [("region", *r) for r in (await self.session.execute(stmt)).all()]
        else:
            stmt = select(column, *cols).where(where).group_by(column).order_by(column)
            rows = (await self.session.execute(stmt)).all()
        out = []
        for key, n, *pairs in rows:
            if not n:
                continue
            totals = {f"U{i + 1}": (int(pairs[2 * i]), int(pairs[2 * i + 1])) for i in range(len(ELEMENT_COLUMNS))}
            out.append(ElementTotals(key=str(key), responses=int(n), totals=totals))
        return out

    async def responses(self, *, unit_code: str, start: datetime, end: datetime, include_incomplete: bool = True) -> Sequence[SurveyResponse]:
        """The questionnaires of one unit in a period, for the quality report and the export."""
        stmt = select(SurveyResponse).where(SurveyResponse.unit_code == unit_code, SurveyResponse.started_at >= start, SurveyResponse.started_at < end)
        if not include_incomplete:
            stmt = stmt.where(SurveyResponse.status == "complete")
        return (await self.session.execute(stmt.order_by(SurveyResponse.id))).scalars().all()

    async def population(self, unit_code: str, period_key: str) -> int | None:
        """The coordinator's figure for the period if set, else the region file's yearly figure."""
        override = await self.session.get(UnitPopulation, (unit_code, period_key))
        if override is not None:
            return override.population
        unit = await self.session.get(Unit, unit_code)
        return unit.population if unit is not None else None

    async def set_population(self, unit_code: str, period_key: str, population: int, *, set_by: int | None, now: datetime) -> None:
        row = await self.session.get(UnitPopulation, (unit_code, period_key))
        if row is None:
            self.session.add(UnitPopulation(unit_code=unit_code, period_key=period_key, population=population, set_by=set_by, set_at=now))
        else:
            row.population, row.set_by, row.set_at = population, set_by, now
