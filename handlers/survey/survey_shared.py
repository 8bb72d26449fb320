"""What the SKM questionnaire and the staff's SKM results share: the current period, the
population basis of the region and numbers in the reader's convention."""

from __future__ import annotations

from babel.numbers import format_decimal

from bot.domain import skm as rules
from bot.engine.region_context import RegionContext
from bot.engine.turn import Turn


def current_period(turn: Turn, ctx: RegionContext) -> rules.Period:
    """The SKM period (semester by default) that contains the turn's local date."""
    return rules.period_containing(turn.now.astimezone(ctx.tz).date(), ctx.skm.period)


def population_basis(ctx: RegionContext) -> str:
    """How the region's yearly population is turned into a period's (``year`` unless configured)."""
    basis = ctx.skm.population_basis
    return basis if basis in rules.POPULATION_BASES else "year"


def num(turn: Turn, value) -> str:
    """Two decimals in the reader's convention (82,41 in Indonesian, 82.41 in English)."""
    return format_decimal(value, "0.00", locale=turn.lang)
