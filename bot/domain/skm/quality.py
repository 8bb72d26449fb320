"""Data quality of one unit and period from aggregated moments: incomplete, straight-lined and
too-fast questionnaires, duplicates, Cronbach's alpha and item-total correlations, lopsided
profiles and sample adequacy, as flags in plain words."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Protocol

from bot.domain.i18n import N_
from bot.domain.skm.catalogue import ELEMENT_CODES, PROFILE_FIELDS
from bot.domain.skm.ikm import round_half_up
from bot.domain.skm.sample import SampleStatus, sample_status


class MomentsLike(Protocol):
    """What ``quality_from_moments`` reads (``storage.skm_repo.UnitMoments`` has these attributes).

    The alpha moments cover the complete questionnaires with all nine elements answered, with
    T = u1 + … + u9 the total score."""

    n_complete: int  # complete questionnaires in the period
    n_incomplete: int  # abandoned + in progress
    n_full: int  # complete ones with all nine elements answered (used for alpha)
    straightline: int  # complete, all nine answered and all equal
    sums: tuple[int, ...]  # Σ u_i over the full rows, 9 values
    squares: tuple[int, ...]  # Σ u_i²
    cross: tuple[int, ...]  # Σ u_i·T
    t_sum: int  # Σ T
    t_squares: int  # Σ T²
    durations: Mapping[int, int]  # completion time in whole seconds → complete questionnaires
    duplicate_users: int  # people with more than one complete questionnaire for the unit
    repeat_start_users: int  # people who started more than once (at most one complete)
    by_channel: Mapping[str, int]  # complete questionnaires per channel
    by_profile: Mapping[str, Mapping[str | None, int]]  # field → value (None = not given) → count
    # optional (segments of a unit): ``timed`` and ``speeders`` counted against the unit's limit
    # instead of a histogram of their own


@dataclass(frozen=True)
class Moments:
    """Plain moments (tests, and what :func:`moments_from_rows` returns)."""

    n_complete: int = 0
    n_incomplete: int = 0
    n_full: int = 0
    straightline: int = 0
    sums: tuple[int, ...] = (0,) * 9
    squares: tuple[int, ...] = (0,) * 9
    cross: tuple[int, ...] = (0,) * 9
    t_sum: int = 0
    t_squares: int = 0
    durations: Mapping[int, int] = field(default_factory=dict)
    duplicate_users: int = 0
    repeat_start_users: int = 0
    by_channel: Mapping[str, int] = field(default_factory=dict)
    by_profile: Mapping[str, Mapping[str | None, int]] = field(default_factory=dict)
    timed: int | None = None
    speeders: int | None = None


def moments_from_rows(rows: Iterable[Mapping[str, Any]]) -> Moments:
    """Moments of one unit from plain rows, in Python (reference for the SQL, and small data).

    Row keys: ``status`` ("complete" | "in_progress" | "abandoned"), ``answers`` (nine values or
    None, in element order U1..U9), ``seconds`` (completion time), ``channel``, ``profile`` (dict),
    ``user_id``.
    """
    n_complete = n_incomplete = n_full = straight = 0
    sums, squares, cross = [0] * 9, [0] * 9, [0] * 9
    t_sum = t_squares = 0
    durations: dict[int, int] = {}
    by_channel: dict[str, int] = {}
    by_profile: dict[str, dict[str | None, int]] = {k: {} for k in PROFILE_FIELDS}
    per_user: dict[Any, list[int]] = {}
    for r in rows:
        started = per_user.setdefault(r.get("user_id"), [0, 0])
        started[0] += 1
        if r["status"] != "complete":
            n_incomplete += 1
            continue
        started[1] += 1
        n_complete += 1
        a = list(r["answers"])
        if all(v is not None for v in a):
            n_full += 1
            if len(set(a)) == 1:
                straight += 1
            t = sum(a)
            t_sum += t
            t_squares += t * t
            for i in range(9):
                sums[i] += a[i]
                squares[i] += a[i] * a[i]
                cross[i] += a[i] * t
        if r.get("seconds") is not None:
            s = int(math.floor(r["seconds"] + 0.5))
            durations[s] = durations.get(s, 0) + 1
        ch = r.get("channel") or ""
        by_channel[ch] = by_channel.get(ch, 0) + 1
        prof = r.get("profile") or {}
        for k in PROFILE_FIELDS:
            v = prof.get(k)
            by_profile[k][v] = by_profile[k].get(v, 0) + 1
    dup = sum(1 for s, c in per_user.values() if c > 1)
    rep = sum(1 for s, c in per_user.values() if s > 1 and c <= 1)
    return Moments(
        n_complete,
        n_incomplete,
        n_full,
        straight,
        tuple(sums),
        tuple(squares),
        tuple(cross),
        t_sum,
        t_squares,
        durations,
        dup,
        rep,
        by_channel,
        by_profile,
    )


def histogram_median(hist: Mapping[int, int]) -> float | None:
    """Median of values given as value → count (mean of the two middle values when even)."""
    total = sum(c for c in hist.values() if c > 0)
    if total == 0:
        return None
    lo_rank, hi_rank = (total - 1) // 2, total // 2  # 0-based ranks of the middle value(s)
    lo = hi = None
    seen = 0
    for value in sorted(hist):
        c = hist[value]
        if c <= 0:
            continue
        if lo is None and seen + c > lo_rank:
            lo = value
        if seen + c > hi_rank:
            hi = value
            break
        seen += c
    return (lo + hi) / 2


def cronbach_from_moments(
    n: int, sums: tuple[int, ...], squares: tuple[int, ...], cross: tuple[int, ...], t_sum: int, t_squares: int
) -> tuple[float | None, dict[str, float | None]]:
    """Cronbach's alpha and corrected item–total correlations from n, Σx_i, Σx_i², Σx_i·T, ΣT, ΣT²
    (T = Σx_i, the total score).

    Works on n(n−1) × the sample (co)variances, exact integers: item variances
    V_i = nΣx_i² − (Σx_i)², item–total covariances C_i = nΣx_i·T − Σx_i·ΣT, total variance
    W = nΣT² − (ΣT)²; every ratio below is scale-free. The corrected item–total correlation is
    corr(x_i, T − x_i) = (C_i − V_i) / √(V_i · (W − 2C_i + V_i)). Alpha is None with fewer than two
    rows or a total without variance; an item's correlation is None when the item or the rest has
    no variance.
    """
    k = len(sums)
    codes = ELEMENT_CODES[:k]
    if n < 2 or k < 2:
        return None, dict.fromkeys(codes)
    var = [n * squares[i] - sums[i] * sums[i] for i in range(k)]
    cov = [n * cross[i] - sums[i] * t_sum for i in range(k)]
    total = n * t_squares - t_sum * t_sum
    alpha = None if total <= 0 else float(Fraction(k, k - 1) * (1 - Fraction(sum(var), total)))
    item_total: dict[str, float | None] = {}
    for i, code in enumerate(codes):
        rest_var = total - 2 * cov[i] + var[i]
        denom = var[i] * rest_var
        item_total[code] = None if denom <= 0 else (cov[i] - var[i]) / math.sqrt(denom)
    return alpha, item_total


def speeder_limit(median_seconds: float | None, fraction: float | Fraction = Fraction(1, 3)) -> int | None:
    """The completion time in whole seconds under which a questionnaire is a speeder: a time s
    (whole seconds) is one when s < fraction × median, i.e. when s < this limit (the ceiling)."""
    if median_seconds is None:
        return None
    return math.ceil(Fraction(fraction) * Fraction(median_seconds))


def _pct(x: float) -> str:
    return str(round_half_up(x * 100, 0))


def _dec(x: float, places: int = 2) -> str:
    return str(round_half_up(x, places)).replace(".", ",")


@dataclass(frozen=True)
class QualityReport:
    n: int  # complete questionnaires
    incomplete_share: float | None  # incomplete / (complete + incomplete)
    straightline_share: float | None  # of complete
    speeders: int
    speeder_share: float | None  # of complete with a known duration
    median_seconds: float | None
    duplicates: int  # duplicate_users + repeat_start_users
    cronbach_alpha: float | None
    item_total: dict[str, float | None]  # corrected item–total correlation per element
    by_channel: dict[str, int]
    by_profile: dict[str, dict[str | None, int]]
    sample: SampleStatus
    flags: list[str]  # short Indonesian texts
    flag_items: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (msgid, values) for t()
    duplicate_users: int = 0
    repeat_start_users: int = 0
    n_incomplete: int = 0
    straightline: int = 0

    def flags_in(self, t) -> list[str]:
        """The flags in another language: ``t`` is a ``Translator`` (``t(msgid, **values)``)."""
        return [t(msgid, **values) for msgid, values in self.flag_items]


def _speeders(m: MomentsLike, fraction: float | Fraction, unit_median: float | None) -> tuple[int, int, float | None]:
    """(questionnaires with a known duration, speeders among them, median seconds) of ``m``."""
    if getattr(m, "speeders", None) is not None:  # a segment: counted against the unit's limit
        return int(getattr(m, "timed", None) or 0), int(m.speeders), unit_median
    hist = {int(k): int(v) for k, v in m.durations.items() if v}
    timed = sum(hist.values())
    median = histogram_median(hist)
    speeders = 0
    if median is not None:
        limit = speeder_limit(median, fraction)
        speeders = sum(c for s, c in hist.items() if s < limit)
    return timed, speeders, median


def _sample_flags(sample: SampleStatus) -> list[tuple[str, dict[str, Any]]]:
    if sample.adequate is None:
        return [(N_("populasi belum diketahui"), {})]
    if not sample.adequate:
        return [(N_("sampel belum memadai ({n} dari {required})"), {"n": sample.n, "required": sample.required})]
    return []


def _reliability_flags(
    alpha: float | None, item_total: Mapping[str, float | None], alpha_min: float, item_total_min: float
) -> list[tuple[str, dict[str, Any]]]:
    flags: list[tuple[str, dict[str, Any]]] = []
    if alpha is not None and alpha < alpha_min:
        flags.append((N_("alfa Cronbach rendah {alpha}"), {"alpha": _dec(alpha)}))
    low = [f"{c} {_dec(r)}" for c, r in item_total.items() if r is not None and r < item_total_min]
    if low:
        flags.append((N_("korelasi item-total rendah: {items}"), {"items": ", ".join(low)}))
    return flags


def _profile_flags(
    by_profile: Mapping[str, Mapping[str | None, int]], min_n: int, dominance_max: float
) -> list[tuple[str, dict[str, Any]]]:
    """A flag per profile field where one value holds more than ``dominance_max`` of the answers."""
    flags: list[tuple[str, dict[str, Any]]] = []
    for key in PROFILE_FIELDS:
        counts = {v: c for v, c in by_profile.get(key, {}).items() if v is not None and c > 0}
        answered = sum(counts.values())
        if answered >= min_n:
            top, top_n = max(counts.items(), key=lambda kv: kv[1])
            if top_n / answered > dominance_max:
                flags.append(
                    (
                        N_("profil timpang: {field} {value} {pct}%"),
                        {"field": key, "value": top, "pct": _pct(top_n / answered)},
                    )
                )
    return flags


def quality_from_moments(
    m: MomentsLike,
    *,
    population: int | None = None,
    speeder_fraction: float | Fraction = Fraction(1, 3),
    min_n: int = 10,
    straightline_max: float = 0.20,
    speeder_max: float = 0.10,
    incomplete_max: float = 0.30,
    alpha_min: float = 0.70,
    item_total_min: float = 0.30,
    profile_dominance_max: float = 0.90,
    check_sample: bool = True,
    unit_median: float | None = None,
) -> QualityReport:
    """The quality report of one unit and period.

    Defaults (configurable): a speeder finished in less than ``speeder_fraction`` (1/3) of the
    unit's median time; flags are raised for straight-lining above 20 %, speeders above 10 %,
    incomplete questionnaires above 30 %, alpha below 0,70, corrected item–total correlation below
    0,30, one profile value above 90 % of the answers for that field, any duplicate, and an
    inadequate sample. Share, alpha and profile flags wait for ``min_n`` (10) observations.

    A segment of a unit (one channel, one profile value: ``storage.skm_repo.UnitMoments`` with
    ``speeders`` set) has its speeders counted in SQL against the unit's limit
    (:func:`speeder_limit` of the unit's median, given as ``unit_median`` for the report);
    ``check_sample=False`` leaves the sample-size flags out (the population is the unit's).
    """
    n = m.n_complete
    flags: list[tuple[str, dict[str, Any]]] = []
    sample = sample_status(n, population)
    if check_sample:
        flags.extend(_sample_flags(sample))

    started = n + m.n_incomplete
    incomplete_share = m.n_incomplete / started if started else None
    if incomplete_share is not None and started >= min_n and incomplete_share > incomplete_max:
        flags.append((N_("tidak selesai {pct}%"), {"pct": _pct(incomplete_share)}))

    straight_share = m.straightline / n if n else None
    if straight_share is not None and n >= min_n and straight_share > straightline_max:
        flags.append((N_("jawaban seragam {pct}%"), {"pct": _pct(straight_share)}))

    timed, speeders, median = _speeders(m, speeder_fraction, unit_median)
    speeder_share = speeders / timed if timed else None
    if speeder_share is not None and timed >= min_n and speeder_share > speeder_max:
        flags.append((N_("terlalu cepat {pct}%"), {"pct": _pct(speeder_share)}))

    duplicates = m.duplicate_users + m.repeat_start_users
    if duplicates:
        flags.append((N_("duplikat {count} orang"), {"count": duplicates}))

    alpha, item_total = cronbach_from_moments(m.n_full, *map(tuple, (m.sums, m.squares, m.cross)), m.t_sum, m.t_squares)
    if m.n_full >= min_n:
        flags.extend(_reliability_flags(alpha, item_total, alpha_min, item_total_min))

    by_profile = {k: dict(v) for k, v in m.by_profile.items()}
    flags.extend(_profile_flags(by_profile, min_n, profile_dominance_max))

    return QualityReport(
        n=n,
        incomplete_share=incomplete_share,
        straightline_share=straight_share,
        speeders=speeders,
        speeder_share=speeder_share,
        median_seconds=median,
        duplicates=duplicates,
        cronbach_alpha=alpha,
        item_total=item_total,
        by_channel=dict(m.by_channel),
        by_profile=by_profile,
        sample=sample,
        flags=[msgid.format(**values) for msgid, values in flags],
        flag_items=flags,
        duplicate_users=m.duplicate_users,
        repeat_start_users=m.repeat_start_users,
        n_incomplete=m.n_incomplete,
        straightline=m.straightline,
    )


#: the name the chat flow looks up
quality_report = quality_from_moments
