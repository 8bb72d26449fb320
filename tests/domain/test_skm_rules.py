"""SKM rules (bot/skm.py): IKM maths, grades, Krejcie–Morgan, periods, data quality."""

from __future__ import annotations

import math
import statistics
from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import skm
from bot.domain.skm import (
    ELEMENT_BY_CODE,
    ELEMENT_CODES,
    ELEMENTS,
    PROFILE_FIELDS,
    Moments,
    PeriodError,
    compute_ikm,
    grade_for,
    krejcie_morgan,
    moments_from_rows,
    parse_period,
    period_containing,
    quality_from_moments,
    sample_status,
)

# ---- elements and profile -----------------------------------------------------------------


def test_elements_follow_the_domain_table():
    assert [e.code for e in ELEMENTS] == [f"U{i}" for i in range(1, 10)]
    assert ELEMENT_BY_CODE["U4"].labels == ("Sangat mahal", "Cukup mahal", "Murah", "Gratis")
    assert ELEMENT_BY_CODE["U7"].labels[3] == "Sangat sopan dan ramah"
    assert ELEMENT_BY_CODE["U9"].labels == (
        "Tidak ada",
        "Ada tetapi tidak berfungsi",
        "Berfungsi kurang maksimal",
        "Dikelola dengan baik",
    )
    assert ELEMENT_BY_CODE["U8"].name == "Sarana dan Prasarana" and ELEMENT_BY_CODE["U8"].column == "u8"
    assert (
        ELEMENT_BY_CODE["U1"].question
        == "Bagaimana pendapat Anda tentang kesesuaian persyaratan pelayanan dengan jenis pelayanannya?"
    )
    for e in ELEMENTS:
        assert e.question.startswith("Bagaimana pendapat Anda tentang ") and e.question.endswith("?")
        assert len(set(e.labels)) == 4


def test_profile_options():
    assert list(PROFILE_FIELDS) == ["umur", "jenis_kelamin", "pendidikan", "pekerjaan"]
    assert [o.label for o in PROFILE_FIELDS["pendidikan"].options] == ["SD", "SMP", "SMA", "D1–D3", "D4/S1", "S2", "S3"]
    assert [o.label for o in PROFILE_FIELDS["jenis_kelamin"].options] == ["Laki-laki", "Perempuan"]
    assert PROFILE_FIELDS["pekerjaan"].label("PELAJAR") == "Pelajar/Mahasiswa"
    for f in PROFILE_FIELDS.values():
        assert all(0 < len(o.code) <= 20 for o in f.options) and len(set(f.codes)) == len(f.codes)


# ---- IKM ------------------------------------------------------------------------------------

# five respondents, answers U1..U9 (a hand-worked example)
ROWS = [
    [4, 3, 3, 4, 3, 3, 4, 2, 3],
    [3, 3, 2, 4, 3, 4, 4, 3, 3],
    [2, 2, 2, 4, 3, 3, 3, 2, 2],
    [4, 4, 3, 4, 4, 4, 4, 3, 4],
    [3, 3, 3, 4, 3, 3, 4, 3, 3],
]


def totals_of(rows):
    return {
        f"U{i + 1}": (sum(r[i] for r in rows if r[i] is not None), sum(1 for r in rows if r[i] is not None))
        for i in range(9)
    }


def test_worked_example_by_hand():
    res = compute_ikm(totals_of(ROWS), len(ROWS))
    # by hand: column sums 16 15 13 20 16 17 19 13 15 over 5 answers
    assert res.nrr == {
        "U1": 3.2,
        "U2": 3.0,
        "U3": 2.6,
        "U4": 4.0,
        "U5": 3.2,
        "U6": 3.4,
        "U7": 3.8,
        "U8": 2.6,
        "U9": 3.0,
    }
    # Σ NRR = 28.8; × 1/9 = 3.2; × 25 = 80.00 → B, Baik
    assert res.ikm_unit_exact == Fraction(16, 5) and res.ikm_unit == Decimal("3.2000")
    assert res.ikm == Decimal("80.00") and (res.mutu, res.kinerja) == ("B", "Baik")
    assert res.nrr_weighted["U4"] == pytest.approx(4 / 9)
    assert res.weakest()[:2] == [("U3", 2.6), ("U8", 2.6)] and res.weakest()[-1] == ("U4", 4.0)
    # the annex's 0.111: 28.8 × 0.111 = 3.1968; × 25 = 79.92
    annex = compute_ikm(totals_of(ROWS), len(ROWS), "annex")
    assert annex.ikm == Decimal("79.92") and annex.mutu == "B" and annex.weights["U1"] == 0.111


def test_rounding_is_half_up_on_the_exact_value():
    # all 3s with the annex weight: 27 × 0.111 × 25 = 74.925 exactly → 74.93 (not banker's 74.92)
    res = compute_ikm(dict.fromkeys(ELEMENT_CODES, (3, 1)), 1, "annex")
    assert res.ikm == Decimal("74.93") and res.mutu == "C"
    assert compute_ikm(dict.fromkeys(ELEMENT_CODES, (4, 1)), 1, "annex").ikm == Decimal("99.90")
    assert compute_ikm(dict.fromkeys(ELEMENT_CODES, (4, 1)), 1).ikm == Decimal("100.00")
    assert compute_ikm(dict.fromkeys(ELEMENT_CODES, (1, 1)), 1).ikm == Decimal("25.00")


def _with_ninth(eight: Fraction, ninth: Fraction) -> dict[str, tuple[int, int]]:
    """Eight elements at NRR ``eight`` and U9 at ``ninth`` (denominators up to 10 000)."""
    t = {c: (int(eight * 10), 10) for c in ELEMENT_CODES[:8]}
    t["U9"] = (int(ninth * 10000), 10000)
    return t


@pytest.mark.parametrize(
    "eight,ninth,ikm,mutu",
    [
        (Fraction("2.5"), Fraction("3.3964"), "64.99", "D"),  # IKM unit 2.5996
        (Fraction("2.5"), Fraction("3.3982"), "65.00", "C"),  # 64.995 rounds to 65.00 first
        (Fraction("2.5"), Fraction("3.4"), "65.00", "C"),  # 2.6
        (Fraction("3.0"), Fraction("3.576"), "76.60", "C"),  # 3.064
        (Fraction("3.0"), Fraction("3.5796"), "76.61", "B"),  # 3.0644
        (Fraction("3.5"), Fraction("3.788"), "88.30", "B"),  # 3.532
        (Fraction("3.5"), Fraction("3.7916"), "88.31", "A"),  # 3.5324
    ],
)
def test_grade_boundaries_through_compute_ikm(eight, ninth, ikm, mutu):
    res = compute_ikm(_with_ninth(eight, ninth), 10000)
    assert res.ikm == Decimal(ikm) and res.mutu == mutu


@pytest.mark.parametrize(
    "value,mutu,kinerja",
    [
        ("64.99", "D", "Tidak baik"),
        ("65.00", "C", "Kurang baik"),
        ("76.60", "C", "Kurang baik"),
        ("76.61", "B", "Baik"),
        ("88.30", "B", "Baik"),
        ("88.31", "A", "Sangat baik"),
        ("25", "D", "Tidak baik"),
        ("100", "A", "Sangat baik"),
    ],
)
def test_grade_table(value, mutu, kinerja):
    assert grade_for(Decimal(value)) == (mutu, kinerja)
    assert grade_for(float(value)) == (mutu, kinerja)


def test_unanswered_element_drops_out_or_is_required():
    t = totals_of(ROWS)
    t["U4"] = (0, 0)  # "tidak terisi" in this unit
    res = compute_ikm(t, 5)
    # (28.8 − 4.0) / 8 = 3.1 → 77.50
    assert res.dropped == ("U4",) and "U4" not in res.nrr and res.weights["U1"] == 1 / 8
    assert res.ikm == Decimal("77.50") and res.mutu == "B"
    assert compute_ikm(t, 5, missing="require") is None
    assert compute_ikm(t, 5, "annex").weights["U1"] == 0.125
    assert compute_ikm({}, 0) is None and compute_ikm(dict.fromkeys(ELEMENT_CODES, (0, 0)), 3) is None
    with pytest.raises(ValueError):
        compute_ikm(t, 5, "half")


def test_some_answers_missing_per_row():
    rows = [r[:] for r in ROWS]
    rows[0][2] = None  # U3 not answered by the first respondent
    res = compute_ikm(totals_of(rows), 5)
    assert res.totals["U3"] == (10, 4) and res.nrr["U3"] == 2.5


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 200), st.floats(0, 1)), min_size=9, max_size=9),
    st.sampled_from(["exact", "annex"]),
)
def test_ikm_stays_on_the_scale(cells, weight):
    totals = {}
    for code, (count, pos) in zip(ELEMENT_CODES, cells, strict=False):
        totals[code] = (count + round(pos * 3 * count), count)  # sum between count and 4 × count
    res = compute_ikm(totals, 200, weight)
    low, high = (Decimal("25"), Decimal("100")) if weight == "exact" else (Decimal("24.98"), Decimal("99.90"))
    assert low <= res.ikm <= high
    assert res.ikm == res.ikm.quantize(Decimal("0.01"))
    assert (res.mutu, res.kinerja) == grade_for(res.ikm)
    if weight == "exact":  # a weighted mean of the NRRs, rounded to 2 decimals
        assert min(res.nrr.values()) * 25 - 0.005 <= float(res.ikm) <= max(res.nrr.values()) * 25 + 0.005


# ---- Krejcie–Morgan -------------------------------------------------------------------------

KM_TABLE = {
    10: 10,
    50: 44,
    100: 80,
    200: 132,
    500: 217,
    1000: 278,
    2000: 322,
    5000: 357,
    10000: 370,
    100000: 384,
    1000000: 384,
}


@pytest.mark.parametrize("population,required", sorted(KM_TABLE.items()))
def test_krejcie_morgan_table_points(population, required):
    assert krejcie_morgan(population) == required


def test_krejcie_morgan_small_and_monotonic():
    assert [krejcie_morgan(n) for n in range(0, 6)] == [0, 1, 2, 3, 4, 5]
    previous = 0
    for n in list(range(1, 3000)) + [50_000, 75_000, 99_999, 100_000, 500_000, 10**7]:
        req = krejcie_morgan(n)
        assert previous <= req <= min(n, 384)
        previous = req


def test_sample_status():
    assert sample_status(120, 1000) == skm.SampleStatus(278, 120, False)
    assert sample_status(278, 1000).adequate is True
    assert sample_status(5, None) == skm.SampleStatus(None, 5, None)
    assert sample_status(5, None).label == "populasi belum diketahui"


@pytest.mark.parametrize(
    "period,yearly,expected",
    [
        ("2026", 1200, 1200),
        ("2026-S2", 1200, 600),
        ("2026-Q4", 1200, 300),
        ("2026-11", 1200, 100),
        ("2026-11", 450, 38),
        ("2026-Q4", 450, 113),  # 37.5 and 112.5 round half up
        ("2026-01-01..2026-03-31", 365, 90),
        ("2026-11-23..2026-11-23", 100, 1),  # custom: days / 365, at least 1
        ("2026-Q4", 0, 0),
    ],
)
def test_population_for_the_period_from_the_yearly_figure(period, yearly, expected):
    p = parse_period(period, date(2026, 11, 23))
    assert skm.population_for_period(None, yearly, p) == expected
    assert skm.population_for_period(None, yearly, p, "period") == yearly  # taken as the figure for any period
    assert skm.population_for_period(77, yearly, p) == 77  # a coordinator's figure for the period wins


def test_population_unknown_and_bad_basis():
    p = parse_period("2026-Q4", date(2026, 11, 23))
    assert skm.population_for_period(None, None, p) is None
    assert sample_status(5, skm.population_for_period(None, None, p)).adequate is None
    with pytest.raises(ValueError):
        skm.population_for_period(None, 10, p, "month")


def test_speeder_limit():
    assert skm.speeder_limit(None) is None
    assert skm.speeder_limit(200) == 67  # 66.67: 66 s is a speeder, 67 s is not
    assert skm.speeder_limit(201) == 67  # exactly 67: 67 s is not under it
    assert skm.speeder_limit(200.5, 0.5) == 101


# ---- periods --------------------------------------------------------------------------------

TODAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    "text,kind,key,start,end,label",
    [
        ("2026-11", "month", "2026-11", date(2026, 11, 1), date(2026, 12, 1), "November 2026"),
        ("2026-12", "month", "2026-12", date(2026, 12, 1), date(2027, 1, 1), "Desember 2026"),
        ("2026-1", "month", "2026-01", date(2026, 1, 1), date(2026, 2, 1), "Januari 2026"),
        ("2026-Q4", "quarter", "2026-Q4", date(2026, 10, 1), date(2027, 1, 1), "Triwulan IV 2026"),
        ("2026-q1", "quarter", "2026-Q1", date(2026, 1, 1), date(2026, 4, 1), "Triwulan I 2026"),
        ("2026-S2", "semester", "2026-S2", date(2026, 7, 1), date(2027, 1, 1), "Semester II 2026"),
        ("2026-S1", "semester", "2026-S1", date(2026, 1, 1), date(2026, 7, 1), "Semester I 2026"),
        ("2026", "year", "2026", date(2026, 1, 1), date(2027, 1, 1), "Tahun 2026"),
        (
            "2026-01-01..2026-03-31",
            "custom",
            "2026-01-01..2026-03-31",
            date(2026, 1, 1),
            date(2026, 4, 1),
            "1 Januari 2026 – 31 Maret 2026",
        ),
        (
            " 2026-12-31 .. 2026-12-31 ",
            "custom",
            "2026-12-31..2026-12-31",
            date(2026, 12, 31),
            date(2027, 1, 1),
            "31 Desember 2026 – 31 Desember 2026",
        ),
        ("bulan-ini", "month", "2026-11", date(2026, 11, 1), date(2026, 12, 1), "November 2026"),
        ("Kuartal ini", "quarter", "2026-Q4", date(2026, 10, 1), date(2027, 1, 1), "Triwulan IV 2026"),
        ("semester-ini", "semester", "2026-S2", date(2026, 7, 1), date(2027, 1, 1), "Semester II 2026"),
        ("TAHUN-INI", "year", "2026", date(2026, 1, 1), date(2027, 1, 1), "Tahun 2026"),
        ("semester-lalu", "semester", "2026-S1", date(2026, 1, 1), date(2026, 7, 1), "Semester I 2026"),
    ],
)
def test_parse_period(text, kind, key, start, end, label):
    p = parse_period(text, TODAY)
    assert (p.kind, p.key, p.start, p.end, p.label_id) == (kind, key, start, end, label)


def test_words_across_year_ends():
    jan = date(2027, 1, 2)
    assert parse_period("bulan-lalu", jan).key == "2026-12"
    assert parse_period("kuartal-lalu", jan).key == "2026-Q4"
    assert parse_period("tahun-lalu", jan).key == "2026"
    assert parse_period("tahun-ini", date(2026, 12, 31)).key == "2026"
    assert period_containing(date(2026, 12, 31), "quarter").end == date(2027, 1, 1)
    assert period_containing(date(2027, 1, 1), "semester").key == "2027-S1"
    assert period_containing(date(2026, 6, 30), "semester").key == "2026-S1"
    assert period_containing(date(2026, 7, 1), "semester").key == "2026-S2"
    assert parse_period("2026-Q1", TODAY).previous().key == "2025-Q4"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "2026-13",
        "2026-00",
        "2026-Q5",
        "2026-Q0",
        "2026-S3",
        "26-11",
        "november",
        "2026-W3",
        "2026-02-30..2026-03-01",
        "2026-03-31..2026-01-01",
        "1900",
        "2026-11-01",
        "semester",
        "2026..2027",
    ],
)
def test_bad_periods_are_refused_in_both_languages(text):
    with pytest.raises(PeriodError) as info:
        parse_period(text, TODAY)
    message = str(info.value)
    assert "Periode tidak dikenali" in message and "Unknown period" in message and "2026-Q4" in message
    assert info.value.text_id in message and info.value.text_en in message


def test_utc_range_uses_local_midnight():
    lo, hi = parse_period("2026-Q4", TODAY).utc_range("Asia/Jakarta")  # WIB = UTC+7
    assert lo == datetime(2026, 9, 30, 17, 0, tzinfo=UTC)
    assert hi == datetime(2026, 12, 31, 17, 0, tzinfo=UTC)
    lo, _ = parse_period("2026-11", TODAY).utc_range("Asia/Jayapura")  # WIT = UTC+9
    assert lo == datetime(2026, 10, 31, 15, 0, tzinfo=UTC)
    assert skm.local_date(datetime(2026, 12, 31, 18, tzinfo=UTC), "Asia/Jakarta") == date(2027, 1, 1)


# ---- quality --------------------------------------------------------------------------------

# twelve complete questionnaires of one unit, plus three incomplete; durations in seconds
QROWS = [
    # answers,                       seconds, channel,    profile,                                user
    ([4, 3, 3, 4, 3, 3, 4, 2, 3], 200, "telegram", {"umur": "20-29", "jenis_kelamin": "P"}, 1),
    ([3, 3, 2, 4, 3, 4, 4, 3, 3], 180, "telegram", {"umur": "30-39", "jenis_kelamin": "L"}, 2),
    ([2, 2, 2, 4, 3, 3, 3, 2, 2], 240, "web", {"umur": "30-39", "jenis_kelamin": "L", "pekerjaan": "PNS"}, 3),
    ([4, 4, 3, 4, 4, 4, 4, 3, 4], 220, "web", {"jenis_kelamin": "P"}, 4),
    ([3, 3, 3, 4, 3, 3, 4, 3, 3], 190, "telegram", {}, 5),
    ([3, 3, 3, 3, 3, 3, 3, 3, 3], 30, "telegram", {}, 6),  # straight-liner and speeder
    ([4, 4, 4, 4, 4, 4, 4, 4, 4], 40, "whatsapp", {}, 7),  # straight-liner and speeder
    ([2, 3, 2, 3, 2, 3, 3, 2, 2], 210, "telegram", {"umur": "40-49"}, 8),
    ([1, 2, 1, 4, 2, 2, 3, 1, 1], 260, "web", {"umur": "50-59"}, 9),
    ([3, 4, 3, 4, 4, 3, 4, 3, 3], 205, "telegram", {}, 10),
    ([3, None, 3, 4, 3, 3, 4, 3, 3], 199, "telegram", {}, 11),  # U2 unanswered: not in alpha
    ([2, 2, 3, 4, 2, 3, 3, 2, 3], 201, "telegram", {}, 12),
]


def quality_rows():
    rows = [
        {"status": "complete", "answers": a, "seconds": s, "channel": ch, "profile": p, "user_id": u}
        for a, s, ch, p, u in QROWS
    ]
    rows += [
        {
            "status": "abandoned",
            "answers": [3] * 4 + [None] * 5,
            "seconds": None,
            "channel": "web",
            "profile": {},
            "user_id": 3,
        },
        {"status": "abandoned", "answers": [None] * 9, "seconds": None, "channel": "web", "profile": {}, "user_id": 13},
        {
            "status": "in_progress",
            "answers": [2] * 2 + [None] * 7,
            "seconds": None,
            "channel": "web",
            "profile": {},
            "user_id": 13,
        },
    ]
    return rows


def direct_alpha_and_item_total(rows):
    """Straight from the rows: sample variances and Pearson correlations (no moments)."""
    k = 9
    items = [[r[i] for r in rows] for i in range(k)]
    totals = [sum(r) for r in rows]
    alpha = k / (k - 1) * (1 - sum(statistics.variance(col) for col in items) / statistics.variance(totals))
    item_total = {}
    for i in range(k):
        rest = [t - x for t, x in zip(totals, items[i], strict=False)]
        constant = len(set(items[i])) == 1 or len(set(rest)) == 1
        item_total[f"U{i + 1}"] = None if constant else statistics.correlation(items[i], rest)
    return alpha, item_total


def test_quality_on_a_small_hand_data_set():
    m = moments_from_rows(quality_rows())
    assert (m.n_complete, m.n_incomplete, m.n_full, m.straightline) == (12, 3, 11, 2)
    assert m.duplicate_users == 0 and m.repeat_start_users == 2  # user 3 (abandoned, then complete), user 13 (twice)
    q = quality_from_moments(m, population=50)
    full = [a for a, *_ in QROWS if None not in a]
    alpha, item_total = direct_alpha_and_item_total(full)
    assert q.cronbach_alpha == pytest.approx(alpha, abs=1e-12)
    for code in ELEMENT_CODES:
        assert q.item_total[code] == pytest.approx(item_total[code], abs=1e-12)
    assert q.n == 12 and q.incomplete_share == pytest.approx(3 / 15) and q.straightline_share == pytest.approx(2 / 12)
    # durations sorted: 30 40 180 190 199 200 201 205 210 220 240 260 → median (200 + 201) / 2 = 200.5
    assert q.median_seconds == 200.5 and q.speeders == 2 and q.speeder_share == pytest.approx(2 / 12)
    assert q.duplicates == 2
    assert q.by_channel == {"telegram": 8, "web": 3, "whatsapp": 1}
    assert q.by_profile["jenis_kelamin"] == {"P": 2, "L": 2, None: 8}
    assert q.sample == skm.SampleStatus(44, 12, False)
    assert "sampel belum memadai (12 dari 44)" in q.flags
    assert "terlalu cepat 17%" in q.flags and "duplikat 2 orang" in q.flags
    assert not any(f.startswith("jawaban seragam") for f in q.flags)  # 17% is under the 20% default
    assert not any(f.startswith("tidak selesai") for f in q.flags)  # 20% is under 30%
    strict = quality_from_moments(m, population=12, straightline_max=0.10, incomplete_max=0.10, speeder_fraction=0.1)
    assert "jawaban seragam 17%" in strict.flags and "tidak selesai 20%" in strict.flags
    assert strict.speeders == 0 and not any(f.startswith("terlalu cepat") for f in strict.flags)
    assert not any(f.startswith("sampel") for f in strict.flags)
    # every flag can be rendered again through a translator
    assert q.flags_in(lambda msgid, **v: msgid.format(**v)) == q.flags


def test_low_alpha_and_weak_items_are_flagged():
    # answers drawn at random (seed 7): the items do not measure one thing
    answers = [
        [3, 2, 4, 1, 1, 1, 3, 1, 2],
        [1, 1, 4, 4, 1, 2, 1, 4, 1],
        [1, 2, 1, 4, 1, 2, 1, 2, 3],
        [4, 2, 1, 3, 2, 1, 2, 3, 1],
        [1, 1, 2, 4, 4, 3, 4, 4, 3],
        [3, 2, 2, 2, 1, 3, 4, 3, 4],
        [3, 1, 1, 4, 2, 3, 2, 4, 4],
        [1, 1, 3, 3, 3, 4, 4, 1, 1],
        [3, 4, 1, 1, 3, 4, 3, 4, 3],
        [1, 4, 3, 2, 1, 4, 1, 2, 3],
        [2, 2, 4, 4, 4, 1, 2, 4, 4],
        [3, 2, 4, 3, 4, 3, 4, 2, 2],
    ]
    rows = [
        {"status": "complete", "answers": a, "seconds": 100, "channel": "web", "profile": {}, "user_id": i}
        for i, a in enumerate(answers)
    ]
    q = quality_from_moments(moments_from_rows(rows))
    alpha, item_total = direct_alpha_and_item_total(answers)
    assert q.cronbach_alpha == pytest.approx(alpha, abs=1e-12) and alpha < 0.7
    assert "alfa Cronbach rendah 0,07" in q.flags
    weak = [c for c in ELEMENT_CODES if item_total[c] < 0.3]
    assert weak == ["U1", "U2", "U3", "U4", "U6", "U7", "U8", "U9"]  # only U5 (0.57) holds
    assert (
        "korelasi item-total rendah: U1 -0,12, U2 -0,19, U3 -0,28, U4 -0,26, U6 0,03, U7 0,21, U8 0,19, U9 0,22"
        in q.flags
    )
    assert "populasi belum diketahui" in q.flags
    relaxed = quality_from_moments(moments_from_rows(rows), alpha_min=0.05, item_total_min=-0.5, population=12)
    assert relaxed.flags == []


def test_profile_skew_and_degenerate_cases():
    rows = [
        {
            "status": "complete",
            "answers": [3] * 9,
            "seconds": 60,
            "channel": "web",
            "profile": {"jenis_kelamin": "L"},
            "user_id": i,
        }
        for i in range(19)
    ]
    rows.append(
        {
            "status": "complete",
            "answers": [3] * 9,
            "seconds": 60,
            "channel": "web",
            "profile": {"jenis_kelamin": "P"},
            "user_id": 99,
        }
    )
    q = quality_from_moments(moments_from_rows(rows), population=20)
    assert "profil timpang: jenis_kelamin L 95%" in q.flags
    assert "jawaban seragam 100%" in q.flags
    assert q.cronbach_alpha is None and all(v is None for v in q.item_total.values())  # no variance at all
    empty = quality_from_moments(Moments(), population=100)
    assert empty.n == 0 and empty.median_seconds is None and empty.cronbach_alpha is None
    assert empty.flags == ["sampel belum memadai (0 dari 80)"]


def test_histogram_median():
    assert skm.histogram_median({}) is None
    assert skm.histogram_median({5: 1}) == 5
    assert skm.histogram_median({1: 2, 9: 2}) == 5
    assert skm.histogram_median({1: 1, 2: 1, 100: 1}) == 2


@settings(max_examples=50, deadline=None)
@given(st.lists(st.lists(st.integers(1, 4), min_size=9, max_size=9), min_size=3, max_size=40))
def test_alpha_from_moments_equals_direct(rows):
    m = moments_from_rows(
        [
            {"status": "complete", "answers": a, "seconds": 1, "channel": "web", "profile": {}, "user_id": i}
            for i, a in enumerate(rows)
        ]
    )
    q = quality_from_moments(m)
    totals = [sum(r) for r in rows]
    if statistics.pvariance(totals) == 0:
        assert q.cronbach_alpha is None
    else:
        alpha, item_total = direct_alpha_and_item_total(rows)
        assert q.cronbach_alpha == pytest.approx(alpha, rel=1e-9, abs=1e-9)
        for code in ELEMENT_CODES:
            assert (q.item_total[code] is None) == (item_total[code] is None)
            if item_total[code] is not None:
                assert q.item_total[code] == pytest.approx(item_total[code], rel=1e-9, abs=1e-9)
    assert all(v is None or -1 - 1e-9 <= v <= 1 + 1e-9 for v in q.item_total.values())
    assert not math.isnan(q.cronbach_alpha or 0.0)
