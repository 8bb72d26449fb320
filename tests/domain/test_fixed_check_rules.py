"""“Sudah beres?” rules: when the reporter is asked, which typed words answer, the region file's
per-OPD ``fixed_check_days`` validated with its place."""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime, time

import pytest

from bot.domain import fixed_check
from bot.domain.region import RegionError, demo_region_path, load_region_file, parse_region
from bot.domain.region_config import SlaConfig
from bot.domain.workdays import WorkCalendar

REGION = load_region_file()
CAL = WorkCalendar.from_region(REGION)


def test_due_is_the_start_of_the_nth_working_day_after_closing():
    closed = CAL.start_of_day(date(2026, 11, 23), time(15))  # Monday
    assert fixed_check.due_at(closed, CAL, 10) == CAL.start_of_day(date(2026, 12, 7))
    assert fixed_check.due_at(closed, CAL, 5) == CAL.start_of_day(date(2026, 11, 30))
    friday = CAL.start_of_day(date(2026, 11, 27), time(23, 30))
    assert fixed_check.due_at(friday, CAL, 1) == CAL.start_of_day(date(2026, 11, 30))  # over the weekend
    assert fixed_check.due_at(closed, CAL, 0) is None  # 0: never asked


@pytest.mark.parametrize("typed", ["sudah", "Sudah!", "udah", "ya", "iya", "✅ Sudah beres", "beres", "yes", "fixed"])
def test_fixed_words(typed):
    assert fixed_check.answer_with_reason(typed) == (fixed_check.FIXED, "")


@pytest.mark.parametrize("typed", ["belum", "BELUM", "blm", "tidak", "gak", "❌ Belum", "masih", "no", "belum beres"])
def test_not_fixed_words(typed):
    assert fixed_check.answer_with_reason(typed) == (fixed_check.NOT_FIXED, "")


def test_belum_with_its_reason_and_other_texts():
    assert fixed_check.answer_with_reason("Belum, masih bocor di ujung gang") == (
        fixed_check.NOT_FIXED,
        "masih bocor di ujung gang",
    )
    for other in ("", "jalan rusak di depan sekolah", "lapor", "masih bocor", "halo"):
        assert fixed_check.answer_with_reason(other) == (None, ""), other
    assert not fixed_check.valid_reason("ok") and fixed_check.valid_reason("bocor")


def test_answer_window():
    now = datetime(2026, 12, 10, tzinfo=UTC)
    assert (now - fixed_check.answer_window_start(now)).days == fixed_check.ANSWER_DAYS


def test_region_default_and_per_opd_override():
    assert REGION.sla.fixed_check_days == 10 and REGION.sla.fixed_check_days_for("PUPR") == 10
    assert REGION.sla.fixed_check_days_for("PDAM") == 5 and REGION.sla.fixed_check_days_for(None) == 10
    assert (REGION.sla.kinerja_window_days, REGION.sla.kinerja_flag_days) == (30, 6)
    stored = SlaConfig.parse(REGION.sla.as_dict())  # what region_context reads back from the database
    assert stored == REGION.sla and stored.fixed_check_days_for("PDAM") == 5


def test_invalid_values_are_reported_with_their_place():
    raw = tomllib.loads(demo_region_path().read_text(encoding="utf-8"))
    raw["sla"]["fixed_check_days"] = -1
    raw["sla"]["kinerja_flag_days"] = "enam"
    raw["sla"]["kinerja_window_days"] = 0
    raw["opd"][1]["fixed_check_days"] = "lima"
    with pytest.raises(RegionError) as err:
        parse_region(raw, folder=demo_region_path().parent)
    problems = err.value.problems
    assert "sla.fixed_check_days: expected a whole number ≥ 0, got -1" in problems
    assert "sla.kinerja_flag_days: expected a whole number ≥ 0, got 'enam'" in problems
    assert "sla.kinerja_window_days: expected a whole number ≥ 1, got 0" in problems
    assert any(p.startswith("opd[1].fixed_check_days: expected a whole number ≥ 0") for p in problems)
    raw = tomllib.loads(demo_region_path().read_text(encoding="utf-8"))
    raw["opd"][0]["fixed_check_days"] = 0  # PUPR: never asked
    region = parse_region(raw, folder=demo_region_path().parent)
    assert region.sla.fixed_check_days_for(raw["opd"][0]["code"]) == 0
