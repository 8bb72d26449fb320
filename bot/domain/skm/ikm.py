"""IKM of a group from per-element sums and counts: NRR per element, weights (``exact`` 1/9 or
``annex`` 0,111), the exact unit value rounded half-up once at the end, and the grade (mutu) and
performance (kinerja) read from the two-decimal IKM."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from bot.domain.i18n import N_
from bot.domain.skm.catalogue import ELEMENT_CODES

WEIGHTS = ("exact", "annex")
KINERJA = {"A": N_("Sangat baik"), "B": N_("Baik"), "C": N_("Kurang baik"), "D": N_("Tidak baik")}
# lower bounds of the nilai interval konversi (two decimals), best first
GRADE_TABLE: tuple[tuple[Decimal, str], ...] = (
    (Decimal("88.31"), "A"),
    (Decimal("76.61"), "B"),
    (Decimal("65.00"), "C"),
    (Decimal("25.00"), "D"),
)
TWO = Decimal("0.01")


def round_half_up(value: Fraction | Decimal | int | float | str, places: int = 2) -> Decimal:
    """Round half away from zero to ``places`` decimals, exactly (floats via their shortest repr)."""
    if isinstance(value, float):
        value = Decimal(repr(value))
    x = Fraction(value)
    scale = 10**places
    n = math.floor(abs(x) * scale + Fraction(1, 2))
    return (Decimal(-n if x < 0 else n) / scale).quantize(Decimal(1).scaleb(-places))


def grade_for(value: Fraction | Decimal | int | float | str) -> tuple[str, str]:
    """(mutu, kinerja msgid) for an IKM on the 25–100 scale, read at two decimals (half-up)."""
    v = round_half_up(value, 2)
    for lower, mutu in GRADE_TABLE:
        if v >= lower:
            return mutu, KINERJA[mutu]
    return "D", KINERJA["D"]  # below 25 only happens with the annex weight (24,98)


def element_weight(weight: str, answered: int) -> Fraction:
    """Weight of each answered element: 1/k exactly, or 1/k rounded to three decimals as the
    annex writes it (0,111 for nine elements)."""
    if weight == "exact":
        return Fraction(1, answered)
    if weight == "annex":
        return Fraction(round_half_up(Fraction(1, answered), 3))
    raise ValueError(f"weight must be one of {WEIGHTS}, got {weight!r}")


@dataclass(frozen=True)
class IkmResult:
    responses: int  # complete questionnaires
    weight: str  # "exact" | "annex"
    totals: dict[str, tuple[int, int]]  # per element code: (sum of answers, number of answers)
    nrr: dict[str, float]  # nilai rata-rata per answered element
    weights: dict[str, float]  # weight per answered element
    nrr_weighted: dict[str, float]  # NRR tertimbang = NRR × weight
    ikm_unit_exact: Fraction  # Σ NRR tertimbang, scale 1–4, unrounded
    ikm_unit: Decimal  # the same, 4 decimals half-up (for display)
    ikm: Decimal  # converted 25–100, 2 decimals half-up: the published figure
    mutu: str  # A | B | C | D
    kinerja: str  # msgid: Sangat baik | Baik | Kurang baik | Tidak baik
    dropped: tuple[str, ...] = ()  # elements without any answer ("tidak terisi")

    def weakest(self) -> list[tuple[str, float]]:
        """(code, NRR) of the answered elements, lowest NRR first (ties by element order)."""
        order = {c: i for i, c in enumerate(ELEMENT_CODES)}
        return sorted(self.nrr.items(), key=lambda kv: (kv[1], order.get(kv[0], 99)))


def compute_ikm(
    totals: Mapping[str, tuple[int, int]], responses: int, weight: str = "exact", *, missing: str = "drop"
) -> IkmResult | None:
    """IKM of one group from per-element ``(sum, count)`` (as ``SkmRepo.element_totals`` returns).

    None when there is no complete questionnaire or no answered element, and with
    ``missing="require"`` when some element has no answer at all.
    """
    if weight not in WEIGHTS:
        raise ValueError(f"weight must be one of {WEIGHTS}, got {weight!r}")
    if missing not in ("drop", "require"):
        raise ValueError(f"missing must be 'drop' or 'require', got {missing!r}")
    if responses <= 0:
        return None
    clean = {code: (int(totals.get(code, (0, 0))[0]), int(totals.get(code, (0, 0))[1])) for code in ELEMENT_CODES}
    answered = [c for c in ELEMENT_CODES if clean[c][1] > 0]
    dropped = tuple(c for c in ELEMENT_CODES if clean[c][1] <= 0)
    if not answered or (dropped and missing == "require"):
        return None
    w = element_weight(weight, len(answered))
    nrr = {c: Fraction(clean[c][0], clean[c][1]) for c in answered}
    weighted = {c: nrr[c] * w for c in answered}
    ikm_unit = sum(weighted.values(), Fraction(0))
    ikm = round_half_up(ikm_unit * 25, 2)
    mutu, kinerja = grade_for(ikm)
    return IkmResult(
        responses=responses,
        weight=weight,
        totals=clean,
        nrr={c: float(v) for c, v in nrr.items()},
        weights={c: float(w) for c in answered},
        nrr_weighted={c: float(v) for c, v in weighted.items()},
        ikm_unit_exact=ikm_unit,
        ikm_unit=round_half_up(ikm_unit, 4),
        ikm=ikm,
        mutu=mutu,
        kinerja=kinerja,
        dropped=dropped,
    )
