"""The public page's arithmetic (bot/domain/public_rules.py): percentages, medians in working days,
what counts as on time, and the k-anonymity suppression."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from bot.domain.public_rules import (
    Cell,
    ComplaintFacts,
    check_k,
    count_cell,
    median,
    median_cell,
    opd_figures,
    percent_cell,
    twelve_full_months,
)
from bot.domain.workdays import WorkCalendar

WIB = timezone(timedelta(hours=7))
CAL = WorkCalendar("Asia/Jakarta", {date(2026, 3, 18): "Cuti bersama", date(2026, 3, 20): "Cuti bersama"})
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def at(m: int, d: int, h: int = 10) -> datetime:
    return datetime(2026, m, d, h, tzinfo=WIB)


def test_counts_below_k_are_suppressed_but_zero_is_shown():
    assert count_cell(0, 5) == Cell(0)
    assert count_cell(4, 5) == Cell(None, True)
    assert count_cell(5, 5) == Cell(5)
    assert count_cell(1, 1) == Cell(1)


def test_percentages_round_half_up_to_one_decimal_and_need_k_behind_them():
    assert percent_cell(5, 7, 5) == Cell(71.4)
    assert percent_cell(1, 8, 5) == Cell(12.5)
    assert percent_cell(2, 3, 5) == Cell(None, True)
    assert percent_cell(0, 0, 5) == Cell(None, False)  # nothing to compute: empty, not hidden
    assert percent_cell(1, 6, 5).value == 16.7


def test_medians_of_odd_and_even_counts():
    assert median([4, 0, 2]) == 2.0
    assert median([4, 1, 0, 2]) == 1.5
    assert median([]) is None
    assert median_cell([1, 2, 3, 4], 5) == Cell(None, True)
    assert median_cell([1, 2, 3, 4, 9, 9], 5) == Cell(3.5)


def test_the_cell_as_text():
    assert Cell(None, True).shown(5) == "<5"
    assert Cell(None).shown(5) == "–"
    assert Cell(7).shown(5) == "7"
    assert Cell(71.4).shown(5) == "71,4"


def test_the_last_twelve_full_months():
    assert twelve_full_months(date(2026, 11, 23)) == (date(2025, 11, 1), date(2026, 11, 1))
    assert twelve_full_months(date(2026, 1, 1)) == (date(2025, 1, 1), date(2026, 1, 1))


def test_k_from_the_region_file():
    assert check_k(5) is None and check_k(1) is None and check_k(100) is None
    assert check_k(0) and check_k(True) and check_k("5") and check_k(2.5)


def test_figures_in_working_days_across_holidays_and_weekends():
    # filed Tue 17 March; 18 and 20 March are the region's days off, 19 March (Nyepi) a national one
    facts = [
        ComplaintFacts("X", at(3, 17), at(3, 23), at(3, 24, 23), at(3, 25), at(3, 26, 23), rate_good=1),
        ComplaintFacts("X", at(3, 16), at(3, 16, 15), at(3, 19, 23), at(3, 17), at(3, 20, 23), rate_good=1),
        ComplaintFacts("X", at(3, 2), None, at(3, 5, 23), None, at(3, 9, 23), reopened=True, rate_bad=1),
        ComplaintFacts("X", at(11, 20), None, at(11, 25, 23), None, at(11, 30, 23)),  # both deadlines running
        ComplaintFacts("X", at(3, 9), at(3, 13), at(3, 12, 23), at(3, 27), at(3, 16, 23), reopened=True),
    ]
    f = opd_figures("X", facts, CAL, 1, NOW)
    assert f.received == Cell(5)
    # known: 1 on time, 2 on time, 3 past due unanswered, 5 late → 2 of 4
    assert f.answered_on_time == Cell(50.0)
    assert f.resolved_on_time == Cell(50.0)  # 1 and 2 on time, 3 past due, 5 late
    # 17→23 March: 23 only (18, 19, 20 off, 21-22 weekend) = 1; 16→16 = 0; 9→13 = 4
    assert f.median_response_days == Cell(1.0)
    # 17→25: 23, 24, 25 = 3; 16→17 = 1; 9→27 March: 10 11 12 13 16 17 23 24 25 26 27 = 11
    assert f.median_resolution_days == Cell(3.0)
    assert f.reopened_share == Cell(50.0)  # 3 and 5 of 1, 2, 3, 5 (3 has no resolved_at but was reopened)
    assert f.satisfaction == Cell(66.7)
    hidden = opd_figures("X", facts, CAL, 5, NOW)
    assert hidden.received == Cell(5) and hidden.answered_on_time == Cell(None, True)
    assert hidden.bases["ratings"] == Cell(None, True)
