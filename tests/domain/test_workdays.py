"""The working-day calendar: deadlines across year ends, long weekends, Idul Fitri cuti bersama,
the three Indonesian time zones, calendar-day mode, and properties against a day-by-day oracle."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.region import load_region_file
from bot.domain.workdays import WorkCalendar

WIB = ZoneInfo("Asia/Jakarta")
WITA = ZoneInfo("Asia/Makassar")
WIT = ZoneInfo("Asia/Jayapura")
UTC = UTC

REGION = load_region_file()


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar.from_region(REGION)


def end_of(d: date, tz: ZoneInfo = WIB) -> datetime:
    return datetime.combine(d, time(23, 59, 59, 999999), tzinfo=tz)


# ---- the rule, by example ---------------------------------------------------------------------


def test_friday_afternoon_plus_three_is_end_of_wednesday(cal):
    filed = datetime(2026, 11, 20, 16, 0, tzinfo=WIB)  # Friday
    due = cal.add_working_days(filed, 3)
    assert due == end_of(date(2026, 11, 25))  # Wednesday 23:59:59.999999 WIB
    assert due.tzinfo == UTC and due == datetime(2026, 11, 25, 16, 59, 59, 999999, tzinfo=UTC)
    assert cal.working_days_between(filed, due) == 3


def test_weekend_filing_counts_from_monday(cal):
    saturday = datetime(2026, 11, 21, 10, 0, tzinfo=WIB)
    assert cal.add_working_days(saturday, 1) == end_of(date(2026, 11, 23))
    assert cal.add_working_days(saturday, 5) == end_of(date(2026, 11, 27))


def test_zero_days_is_today_or_the_next_working_day(cal):
    tuesday = datetime(2026, 11, 24, 9, 0, tzinfo=WIB)
    sunday = datetime(2026, 11, 22, 9, 0, tzinfo=WIB)
    assert cal.add_working_days(tuesday, 0) == end_of(date(2026, 11, 24))
    assert cal.add_working_days(sunday, 0) == end_of(date(2026, 11, 23))


def test_negative_days_count_back(cal):
    monday = datetime(2026, 11, 23, 9, 0, tzinfo=WIB)
    assert cal.add_working_days(monday, -1) == end_of(date(2026, 11, 20))  # Friday
    assert cal.add_working_days(monday, -6) == end_of(date(2026, 11, 13))
    assert cal.working_days_between(monday, cal.add_working_days(monday, -6)) == -6
    saturday = datetime(2026, 11, 21, 9, 0, tzinfo=WIB)
    assert cal.add_working_days(saturday, -1) == end_of(date(2026, 11, 20))


def test_year_end_christmas_and_new_year(cal):
    # 24 Dec 2026 cuti bersama (region file), 25 Dec Natal, weekend, 1 Jan 2027 Tahun Baru (Friday)
    filed = datetime(2026, 12, 23, 15, 0, tzinfo=WIB)
    assert cal.add_working_days(filed, 3) == end_of(date(2026, 12, 30))
    assert cal.add_working_days(filed, 5) == end_of(date(2027, 1, 4))
    dec31 = datetime(2026, 12, 31, 23, 59, tzinfo=WIB)
    assert cal.add_working_days(dec31, 1) == end_of(date(2027, 1, 4))
    assert not cal.is_working_day(date(2027, 1, 1)) and cal.holiday_name(date(2027, 1, 1))
    assert cal.next_working_day(date(2026, 12, 23)) == date(2026, 12, 28)
    assert cal.working_days_between(filed, datetime(2027, 1, 4, 8, tzinfo=WIB)) == 5
    assert cal.working_days_between(datetime(2027, 1, 4, 8, tzinfo=WIB), filed) == -5


def test_long_weekend_ascension_2026(cal):
    # Thursday 14 May Kenaikan Yesus Kristus, Friday 15 May cuti bersama
    filed = datetime(2026, 5, 13, 11, 0, tzinfo=WIB)
    due = cal.add_working_days(filed, 1)
    assert due == end_of(date(2026, 5, 18))
    assert cal.holiday_name(date(2026, 5, 14)) == "Kenaikan Yesus Kristus"
    assert cal.holiday_name(date(2026, 5, 15)) == "Cuti bersama Kenaikan Yesus Kristus"
    # "remind one working day before" a Monday deadline → from the start of Wednesday 13 May
    assert cal.subtract_working_days(due, 1) == datetime(2026, 5, 13, 0, 0, tzinfo=WIB)
    assert cal.subtract_working_days(due, 1, at=time(8)) == datetime(2026, 5, 13, 8, 0, tzinfo=WIB)
    assert cal.subtract_working_days(due, 0) == datetime(2026, 5, 18, 0, 0, tzinfo=WIB)


def test_idul_fitri_2026_with_cuti_bersama(cal):
    # Nyepi 19 Mar (+ cuti 18), Idul Fitri 21-22 Mar (weekend) + cuti bersama 20, 23, 24 Mar
    for d in (18, 19, 20, 21, 22, 23, 24):
        assert not cal.is_working_day(date(2026, 3, d)), d
    assert cal.is_working_day(date(2026, 3, 17)) and cal.is_working_day(date(2026, 3, 25))
    assert cal.holiday_name(date(2026, 3, 21)) == "Hari Raya Idul Fitri"
    assert cal.holiday_name(date(2026, 3, 23)) == "Cuti bersama Idul Fitri 1447 H"
    filed = datetime(2026, 3, 17, 10, 0, tzinfo=WIB)
    assert cal.add_working_days(filed, 1) == end_of(date(2026, 3, 25))
    assert cal.add_working_days(filed, 3) == end_of(date(2026, 3, 27))
    # without the region's cuti bersama only the national days rest
    national_only = WorkCalendar("Asia/Jakarta")
    assert national_only.add_working_days(filed, 3) == end_of(date(2026, 3, 23))
    # the package's "government" category carries the same cuti bersama for 2026
    with_government = WorkCalendar("Asia/Jakarta", include_government=True)
    assert with_government.add_working_days(filed, 3) == end_of(date(2026, 3, 27))


def test_idul_fitri_2027(cal):
    # Nyepi 8 Mar, cuti 9, Idul Fitri 10-11, cuti 12, weekend, cuti 15 → next working day Tue 16
    filed = datetime(2027, 3, 5, 14, 0, tzinfo=WIB)  # Friday
    assert cal.add_working_days(filed, 1) == end_of(date(2027, 3, 16))
    assert cal.working_days_between(filed, datetime(2027, 3, 16, 9, tzinfo=WIB)) == 1
    assert [d for d in range(8, 17) if cal.is_working_day(date(2027, 3, d))] == [16]
    assert cal.previous_working_day(date(2027, 3, 16)) == date(2027, 3, 5)


@pytest.mark.parametrize("tz, name", [(WIB, "Asia/Jakarta"), (WITA, "Asia/Makassar"), (WIT, "Asia/Jayapura")])
def test_local_midnight_decides_the_day(tz, name):
    cal = WorkCalendar(name)
    # one minute before and after local midnight between Monday 23 and Tuesday 24 Nov 2026
    before = datetime(2026, 11, 23, 23, 59, tzinfo=tz)
    after = datetime(2026, 11, 24, 0, 1, tzinfo=tz)
    assert cal.add_working_days(before, 1) == end_of(date(2026, 11, 24), tz)
    assert cal.add_working_days(after, 1) == end_of(date(2026, 11, 25), tz)
    assert cal.working_days_between(before, after) == 1


def test_same_instant_different_zones():
    instant = datetime(2026, 11, 22, 15, 30, tzinfo=UTC)  # Sun 22:30 WIB, Sun 23:30 WITA, Mon 00:30 WIT
    wib, wita, wit = WorkCalendar("Asia/Jakarta"), WorkCalendar("Asia/Makassar"), WorkCalendar("Asia/Jayapura")
    assert wib.add_working_days(instant, 1) == end_of(date(2026, 11, 23), WIB)
    assert wita.add_working_days(instant, 1) == end_of(date(2026, 11, 23), WITA)
    assert wit.add_working_days(instant, 1) == end_of(date(2026, 11, 24), WIT)
    assert wit.add_working_days(instant, 1) == datetime(2026, 11, 24, 14, 59, 59, 999999, tzinfo=UTC)


def test_calendar_day_mode(cal):
    filed = datetime(2026, 3, 13, 16, 0, tzinfo=WIB)  # Friday before Nyepi and Idul Fitri
    assert cal.add_days(filed, 10, working=False) == end_of(date(2026, 3, 23))
    assert cal.add_days(filed, 10, working=True) == cal.add_working_days(filed, 10)
    assert cal.add_days(filed, 10) == cal.add_working_days(filed, 10)  # region default: working days
    assert cal.days_between(filed, end_of(date(2026, 3, 23)), working=False) == 10
    calendar_region = WorkCalendar.from_region(
        {**REGION.config(), "sla": {**REGION.sla, "working_days": False}}, timezone="Asia/Jakarta"
    )
    assert calendar_region.working_days is False
    assert calendar_region.add_days(filed, 10) == end_of(date(2026, 3, 23))
    assert calendar_region.subtract_days(end_of(date(2026, 3, 23)), 1) == datetime(2026, 3, 22, tzinfo=WIB)
    assert calendar_region.add_days(filed, -3) == end_of(date(2026, 3, 10))


def test_from_region_stored_config_matches_region():
    from_obj = WorkCalendar.from_region(REGION)
    from_cfg = WorkCalendar.from_region(REGION.config(), timezone=REGION.timezone)
    assert from_obj.extra_days == from_cfg.extra_days == dict(REGION.holidays)
    assert from_cfg.holiday_name(date(2026, 9, 14)) == "Hari Jadi Kabupaten Sukamaju (libur daerah)"
    assert not from_cfg.is_working_day(date(2026, 9, 14))  # a Monday, local holiday


def test_refuses_naive_instants_and_unknown_zones(cal):
    with pytest.raises(ValueError):
        cal.add_working_days(datetime(2026, 1, 5, 9, 0), 1)
    with pytest.raises(ValueError):
        WorkCalendar("Asia/Atlantis")
    with pytest.raises(TypeError):
        cal.is_working_day(datetime(2026, 1, 5, 9, 0, tzinfo=WIB))


def test_include_national_false_rests_only_on_weekends_and_extra_days():
    cal = WorkCalendar("Asia/Jakarta", {date(2026, 8, 18): "Libur lokal"}, include_national=False)
    assert cal.is_working_day(date(2026, 8, 17))  # Independence Day ignored on purpose
    assert not cal.is_working_day(date(2026, 8, 18))
    assert cal.holiday_name(date(2026, 8, 18)) == "Libur lokal"


# ---- properties against an independent day-by-day oracle ---------------------------------------

ZONES = {"Asia/Jakarta": WIB, "Asia/Makassar": WITA, "Asia/Jayapura": WIT}
CALS = {name: WorkCalendar(name, dict(REGION.holidays)) for name in ZONES}

instants = st.datetimes(min_value=datetime(2025, 11, 1), max_value=datetime(2028, 2, 1), timezones=st.just(UTC))


# built straight from the package and the region file, not through the calendar under test
RESTS = set(holidays.country_holidays("ID", years=range(2025, 2029))) | {d for d, _ in REGION.holidays}


def oracle_rests(cal: WorkCalendar, d: date) -> bool:
    return d.weekday() >= 5 or d in RESTS


def oracle_add(cal: WorkCalendar, start_local: date, n: int) -> date:
    d, left = start_local, n
    while left:
        d += timedelta(days=1)
        if not oracle_rests(cal, d):
            left -= 1
    return d


@settings(max_examples=300, deadline=None)
@given(start=instants, n=st.integers(min_value=1, max_value=90), zone=st.sampled_from(sorted(ZONES)))
def test_property_add_working_days(start, n, zone):
    cal, tz = CALS[zone], ZONES[zone]
    due = cal.add_working_days(start, n)
    due_local = due.astimezone(tz)
    assert due_local.time() == time(23, 59, 59, 999999)
    assert cal.is_working_day(due_local.date())
    assert due > start
    assert cal.working_days_between(start, due) == n
    assert cal.working_days_between(due, start) == -n
    assert due_local.date() == oracle_add(cal, start.astimezone(tz).date(), n)
    # the reminder one working day before lies on a working day, inside (start's day, due)
    remind = cal.subtract_working_days(due, 1)
    assert cal.is_working_day(remind.astimezone(tz).date()) and remind < due
    assert cal.working_days_between(remind, due) == 1


@settings(max_examples=200, deadline=None)
@given(start=instants, n=st.integers(min_value=-60, max_value=0), zone=st.sampled_from(sorted(ZONES)))
def test_property_zero_and_negative_from_a_working_day(start, n, zone):
    cal, tz = CALS[zone], ZONES[zone]
    start_day = cal.next_working_day(start.astimezone(tz).date(), inclusive=True)
    start = datetime.combine(start_day, start.astimezone(tz).time(), tzinfo=tz)
    due = cal.add_working_days(start, n)
    assert cal.is_working_day(due.astimezone(tz).date())
    assert cal.working_days_between(start, due) == n


@settings(max_examples=200, deadline=None)
@given(a=instants, b=instants, zone=st.sampled_from(sorted(ZONES)))
def test_property_between_counts_like_the_oracle(a, b, zone):
    cal, tz = CALS[zone], ZONES[zone]
    la, lb = a.astimezone(tz).date(), b.astimezone(tz).date()
    lo, hi = min(la, lb), max(la, lb)
    expected = sum(1 for k in range(1, (hi - lo).days + 1) if not oracle_rests(cal, lo + timedelta(days=k)))
    assert cal.working_days_between(a, b) == (expected if la <= lb else -expected)
