"""SLA performance arithmetic: on-time shares, open/late counts, the red flag at its threshold,
the late list and the order (worst first)."""

from __future__ import annotations

from datetime import date, datetime, time

from bot.domain.region import load_region_file
from bot.domain.sla_performance import ComplaintTimes, late_list, on_time, performance, red_flagged, totals
from bot.domain.workdays import WorkCalendar

CAL = WorkCalendar.from_region(load_region_file())


def at(d: int, hh: int = 10) -> datetime:
    return CAL.start_of_day(date(2026, 11, d), time(hh))


NOW = at(23, 9)  # Monday 23 November 2026


def c(number, opd="PUPR", state="disposisi", filed=16, rdue=19, first=None, cdue=23, resolved=None) -> ComplaintTimes:
    return ComplaintTimes(
        number,
        opd,
        state,
        at(filed),
        at(filed),
        at(rdue) if rdue else None,
        at(first) if first else None,
        at(cdue, 23) if cdue else None,
        at(resolved) if resolved else None,
    )


def test_on_time_is_decided_by_the_deadline_or_by_the_work():
    assert on_time(at(18), at(19), NOW) is True
    assert on_time(at(19, 10), at(19, 10), NOW) is True  # at the deadline itself
    assert on_time(at(20), at(19), NOW) is False
    assert on_time(None, at(19), NOW) is False  # passed without it
    assert on_time(None, at(24), NOW) is None  # not due yet
    assert on_time(at(18), None, NOW) is None


def test_shares_and_counts_per_opd():
    window = [
        c("A", state="ditutup", first=17, resolved=18, cdue=20),  # on time both
        c("B", state="selesai", first=20, resolved=20, cdue=19),  # late both
        c("C", filed=20, rdue=25, cdue=27),  # nothing decided
        c("D", opd="DLH", state="tindak_lanjut", first=17, cdue=20),  # response on time; resolution late (open)
    ]
    open_now = [x for x in window if x.state in ("disposisi", "tindak_lanjut")]
    rows = {p.opd: p for p in performance(window, open_now, NOW, CAL, 6, ["DINKES"])}
    pupr, dlh, dinkes = rows["PUPR"], rows["DLH"], rows["DINKES"]
    assert (pupr.received, pupr.response_on_time, pupr.response_decided) == (3, 1, 2)
    assert (pupr.resolution_on_time, pupr.resolution_decided, pupr.open, pupr.late) == (1, 2, 1, 0)
    assert pupr.response_share == 0.5 and dlh.response_share == 1.0 and dlh.resolution_share == 0.0
    assert (dlh.open, dlh.late, dlh.flagged) == (1, 1, 0)
    assert dinkes.received == 0 and dinkes.response_share is None and dinkes.resolution_share is None
    total = totals(list(rows.values()))
    assert (total.received, total.response_decided, total.open, total.late) == (4, 3, 2, 1)


def test_red_flag_exactly_at_the_threshold():
    waiting = c("E", filed=13, rdue=18, cdue=20)  # reached the OPD Friday 13th
    assert not red_flagged(waiting, at(20, 9), CAL, 6)  # 5 working days (16-20)
    assert red_flagged(waiting, at(23, 9), CAL, 6)  # 6 working days
    answered = c("F", filed=13, rdue=18, first=14, cdue=20)
    assert not red_flagged(answered, at(23, 9), CAL, 6)  # answered: late maybe, never flagged
    assert not red_flagged(c("G", state="selesai", filed=2), at(23, 9), CAL, 6)  # not held by the OPD


def test_worst_first_and_the_late_list():
    open_now = [
        c("OK", opd="DLH", filed=20, rdue=25, cdue=27),
        c("LATE", opd="DISHUB", filed=10, rdue=13, first=11, cdue=17),
        c("FLAG", opd="PUPR", filed=13, rdue=18, cdue=25),
    ]
    rows = performance([], open_now, NOW, CAL, 6)
    assert [p.opd for p in rows] == ["PUPR", "DISHUB", "DLH"]
    assert [p.red for p in rows] == [True, False, False]
    late = late_list(open_now, NOW, CAL, 6)
    assert [(x.number, x.waiting_days, x.unanswered, x.flagged) for x in late] == [
        ("LATE", 9, False, False),
        ("FLAG", 6, True, True),
    ]
