"""What several flows need from the region: timezone, SLA rules, working-day calendar, complaint
router. Built once per loaded region (keyed by its load time) and shared by all turns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Protocol
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime

from bot.domain.region_config import SkmConfig, SlaConfig
from bot.domain.routing import KeywordRouter
from bot.domain.workdays import WorkCalendar
from storage.region_repo import RegionRepo


class Reader(Protocol):
    """Whom a date is formatted for: only the language is read. Pass the reader's translator
    (``turn.translator_for(officer)``, ``notifier.translator_for(person)``) for a message to someone
    else; a ``Turn`` formats in the sender's language, right only for the sender's own replies."""

    lang: str


@dataclass
class RegionContext:
    code: str
    name: str
    tz: ZoneInfo
    sla: SlaConfig
    skm: SkmConfig
    calendar: WorkCalendar
    opd_names: dict[str, str]
    keywords: list[tuple[str, list[str]]] = field(default_factory=list)

    @cached_property
    def router(self):
        """The complaint router (built on first use: only complaint turns need its index)."""
        return KeywordRouter(self.keywords)

    def due(self, start: datetime, days: int) -> datetime:
        return self.calendar.add_days(start, days, working=self.sla.working_days)

    def completion_days(self, klass: str) -> int:
        return self.sla.completion_days_for(klass)


_cache: dict[tuple[str, datetime], RegionContext] = {}


async def region_context(repo: RegionRepo) -> RegionContext:
    """The context of the loaded region, read through ``repo`` (built once per region load)."""
    region = await repo.region()
    if region is None:
        raise RuntimeError("no region loaded")
    key = (region.code, region.loaded_at)
    ctx = _cache.get(key)
    if ctx is None:
        opds = await repo.opds()
        config = region.config or {}
        ctx = RegionContext(
            code=region.code,
            name=region.name,
            tz=ZoneInfo(region.timezone),
            sla=SlaConfig.parse(config.get("sla")),
            skm=SkmConfig.parse(config.get("skm")),
            calendar=WorkCalendar.from_region({"timezone": region.timezone, **config}),
            opd_names={o.code: o.name for o in opds},
            keywords=[(o.code, list(o.keywords or [])) for o in opds],
        )
        _cache.clear()
        _cache[key] = ctx
    return ctx


def fmt_date(turn: Reader, ctx: RegionContext, when: datetime | None) -> str:
    if when is None:
        return "-"
    return format_date(when.astimezone(ctx.tz).date(), "EEE, d MMM yyyy", locale=turn.lang)


def fmt_datetime(turn: Reader, ctx: RegionContext, when: datetime | None) -> str:
    if when is None:
        return "-"
    return format_datetime(when.astimezone(ctx.tz), "d MMM yyyy HH:mm", locale=turn.lang, tzinfo=ctx.tz)
