"""SKM rules (PermenPANRB No. 14/2017): the nine elements and their answer labels, the respondent
profile options, IKM and grades, Krejcie–Morgan sample sizes, report periods, and the data-quality
report computed from aggregated moments.

Pure: no SQL, no platform types, no clock. The database only adds up (``storage/skm_repo.py``);
every division, rounding and judgement happens here, so the same numbers come out of the chat, the
CLI and the XLSX export. The package re-exports the public names of its modules: ``catalogue``
(elements, answers, profile fields), ``ikm`` (NRR, IKM, grades), ``sample`` (Krejcie–Morgan, sample
status, population), ``period`` (report periods) and ``quality`` (data-quality checks).

Choices where the regulation leaves room (documented, configurable):

* weight: ``"exact"`` = 1/9 per element (default) or ``"annex"`` = 0,111 as in the annex's worked
  example (so an all-4 unit scores 99,90 and an all-1 unit 24,98 under "annex").
* an element with no answers at all in a unit ("tidak terisi") drops out of that unit's IKM and
  the weight is spread over the answered elements (``missing="drop"``, UNCONFIRMED default);
  ``missing="require"`` gives no IKM until every element has answers.
* the IKM is computed exactly (fractions) and rounded half-up to two decimals once, at the end;
  the grade is read from that two-decimal value (64,99 → D, 65,00 → C, 76,60 → C, 76,61 → B,
  88,30 → B, 88,31 → A).
"""

from bot.domain.skm.catalogue import (
    ELEMENT_BY_CODE,
    ELEMENT_CODES,
    ELEMENTS,
    PROFILE_FIELDS,
    Element,
    ProfileField,
    ProfileOption,
    age_band,
)
from bot.domain.skm.ikm import (
    GRADE_TABLE,
    KINERJA,
    TWO,
    WEIGHTS,
    IkmResult,
    compute_ikm,
    element_weight,
    grade_for,
    round_half_up,
)
from bot.domain.skm.period import (
    MAX_YEAR,
    MIN_YEAR,
    MONTHS_EN,
    MONTHS_ID,
    PERIOD_EXAMPLES,
    PERIOD_KINDS,
    ROMAN,
    WORDS,
    Period,
    PeriodError,
    custom_period,
    local_date,
    make_period,
    parse_period,
    period_containing,
)
from bot.domain.skm.quality import (
    Moments,
    MomentsLike,
    QualityReport,
    cronbach_from_moments,
    histogram_median,
    moments_from_rows,
    quality_from_moments,
    quality_report,
    speeder_limit,
)
from bot.domain.skm.sample import (
    KM_CHI2,
    KM_D,
    KM_LARGE_N,
    KM_LARGE_SAMPLE,
    KM_P,
    POPULATION_BASES,
    SampleStatus,
    krejcie_morgan,
    population_for_period,
    sample_status,
)

__all__ = [
    "age_band",
    "ELEMENTS",
    "ELEMENT_BY_CODE",
    "ELEMENT_CODES",
    "Element",
    "GRADE_TABLE",
    "IkmResult",
    "KINERJA",
    "KM_CHI2",
    "KM_D",
    "KM_LARGE_N",
    "KM_LARGE_SAMPLE",
    "KM_P",
    "MAX_YEAR",
    "MIN_YEAR",
    "MONTHS_EN",
    "MONTHS_ID",
    "Moments",
    "MomentsLike",
    "PERIOD_EXAMPLES",
    "PERIOD_KINDS",
    "POPULATION_BASES",
    "PROFILE_FIELDS",
    "Period",
    "PeriodError",
    "ProfileField",
    "ProfileOption",
    "QualityReport",
    "ROMAN",
    "SampleStatus",
    "TWO",
    "WEIGHTS",
    "WORDS",
    "compute_ikm",
    "cronbach_from_moments",
    "custom_period",
    "element_weight",
    "grade_for",
    "histogram_median",
    "krejcie_morgan",
    "local_date",
    "make_period",
    "moments_from_rows",
    "parse_period",
    "period_containing",
    "population_for_period",
    "quality_from_moments",
    "quality_report",
    "round_half_up",
    "sample_status",
    "speeder_limit",
]
