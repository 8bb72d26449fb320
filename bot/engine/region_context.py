"""What several flows need from the region: timezone, SLA rules, working-day calendar, complaint
router (keywords and outside bodies). Built once per loaded region (keyed by its load time) and
shared by all turns; the region's learned routing model (``routing_model``) is loaded once per
stored model."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Protocol
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime

from bot.domain.region_config import SkmConfig, SlaConfig
from bot.domain.reply_templates import Template
from bot.domain.routing import KeywordRouter, Outside
from bot.domain.routing_model import RoutingModel
from bot.domain.workdays import WorkCalendar
from storage.region_repo import RegionRepo
from storage.routing_repo import RoutingRepo


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
    outside: tuple[Outside, ...] = ()  # bodies outside the Pemda (region file ``[[outside]]``)
    templates: tuple[Template, ...] = ()  # officers' reply templates of the region file

    @cached_property
    def router(self) -> KeywordRouter:
        """The complaint router (built on first use: only complaint turns need its index)."""
        return KeywordRouter(self.keywords, outside=self.outside)

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
            outside=tuple(
                Outside(o["code"], o["name"], tuple(o["markers"]), bool(o.get("lapor", True)))
                for o in config.get("outside") or ()
            ),
            templates=tuple(Template(x["name"], x["text"], x.get("opd")) for x in config.get("templates") or ()),
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


_models: dict[tuple[int, datetime], RoutingModel | None] = {}


async def routing_model(repo: RoutingRepo) -> RoutingModel | None:
    """The region's latest trained routing model (None: none yet, or made by another scikit-learn
    version); one small query per call, the model itself loaded once per stored row."""
    stamp = await repo.latest_model_stamp()
    if stamp is None:
        return None
    if stamp not in _models:
        row = await repo.latest_model()
        if row is None:
            return None
        _models.clear()
        stamp = (row.id, row.created_at)
        _models[stamp] = RoutingModel.loads(row.blob)
    return _models[stamp]
