"""Sample size (Krejcie & Morgan 1970), whether a unit's sample is adequate, and the population
N of service users for a report period (a coordinator's override, or the yearly figure prorated)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from bot.domain.i18n import N_
from bot.domain.skm.period import Period

KM_CHI2 = Fraction("3.841")
KM_P = Fraction(1, 2)
KM_D = Fraction(5, 100)
KM_LARGE_N = 100_000
KM_LARGE_SAMPLE = 384


def krejcie_morgan(population: int) -> int:
    """Required sample for a population of ``population`` service users.

    n = χ²·N·P(1−P) / (d²·(N−1) + χ²·P(1−P)), χ² = 3,841, P = 0,5, d = 0,05, rounded to the nearest
    whole respondent (half up) as the published table does — rounding up would give 45 for N = 50,
    218 for 500 and 323 for 2 000 where the table says 44, 217 and 322. From N = 100 000 the
    table's 384 is used (the formula's 382,6 at 100 000 approaches 384,1 only as N grows; the
    table rounds these up). Never more than N.
    """
    if population <= 0:
        return 0
    if population >= KM_LARGE_N:
        return KM_LARGE_SAMPLE
    pq = KM_P * (1 - KM_P)
    n = KM_CHI2 * population * pq / (KM_D**2 * (population - 1) + KM_CHI2 * pq)
    return min(population, math.floor(n + Fraction(1, 2)))


@dataclass(frozen=True, slots=True)
class SampleStatus:
    required: int | None  # None when the population is unknown
    n: int
    adequate: bool | None  # None when the population is unknown

    @property
    def label(self) -> str:
        """msgid: "sampel memadai" / "sampel belum memadai" / "populasi belum diketahui"."""
        if self.adequate is None:
            return N_("populasi belum diketahui")
        return N_("sampel memadai") if self.adequate else N_("sampel belum memadai")


def sample_status(n: int, population: int | None) -> SampleStatus:
    if population is None:
        return SampleStatus(None, n, None)
    required = krejcie_morgan(population)
    return SampleStatus(required, n, n >= required)


POPULATION_BASES = ("year", "period")
_PERIOD_SHARE = {"month": Fraction(1, 12), "quarter": Fraction(1, 4), "semester": Fraction(1, 2), "year": Fraction(1)}


def population_for_period(override: int | None, yearly: int | None, period: Period, basis: str = "year") -> int | None:
    """The population N of service users for ``period`` (the N of Krejcie–Morgan).

    ``override`` is what a coordinator set for exactly this period (``/populasi``): used as is.
    Otherwise the region file's unit ``population``: with ``basis="year"`` (default, UNCONFIRMED:
    the demo region documents it as service users per year) it is prorated to the period — a
    twelfth for a month, a quarter, a half, the whole for a year, days/365 for custom dates —
    rounded half up, at least 1; with ``basis="period"`` it is taken as the figure for any period.
    None when neither is known.
    """
    if basis not in POPULATION_BASES:
        raise ValueError(f"population basis must be one of {POPULATION_BASES}, got {basis!r}")
    if override is not None:
        return int(override)
    if yearly is None:
        return None
    if basis == "period" or yearly <= 0:
        return int(yearly)
    share = _PERIOD_SHARE.get(period.kind) or Fraction((period.end - period.start).days, 365)
    return max(1, math.floor(yearly * share + Fraction(1, 2)))
