"""A date and time as people type them in Indonesian or English, read with ``dateparser``.

"Kamis 10 Desember jam 9 pagi", "besok jam 13.00", "10/12 09:00", "10 Des 2026 pukul 14:30",
"lusa jam 3 sore", "2026-12-10 09:00", "tomorrow 1pm". Day-first (10/12 is 10 December), dates in
the future preferred, relative words ("besok") counted from the injected ``now`` in the region's
time zone. Pure: imports nothing of the project; the caller turns a :class:`WhenError` reason into
a message.

dateparser does not know the Indonesian parts of the day, so "jam 9 pagi", "jam 3 sore",
"jam 7 malam", "13.00" and "pukul 14" are first rewritten as 24-hour "09:00", "15:00", "19:00",
"13:00", "14:00"; a part of the day without an hour ("besok pagi") is dropped, leaving a date
without a time (:attr:`Spoken.has_time` false) for the caller to ask the time of.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateparser.date import DateDataParser

LANGUAGES = ["id", "en"]
#: longer answers are not read as a date
MAX_LENGTH = 80
#: how many words after a date may be dropped ("Kamis 10 Desember jam 9 di aula kantor")
TRAILING_WORDS = 3

#: the reasons of a :class:`WhenError`
UNKNOWN, BAD_TIME, BAD_DAY, PAST, TOO_FAR, WRONG_WEEKDAY = (
    "unknown",
    "bad_time",
    "bad_day",
    "past",
    "too_far",
    "wrong_weekday",
)


class WhenError(ValueError):
    """Why ``text`` is not a usable date: ``reason`` (one of the constants above) and ``value``
    (the part that is wrong, e.g. "25:00", or with WRONG_WEEKDAY the ISO date understood)."""

    def __init__(self, reason: str, value: str = "") -> None:
        super().__init__(f"{reason}: {value}" if value else reason)
        self.reason = reason
        self.value = value


@dataclass(frozen=True)
class Spoken:
    """What was understood: ``at`` in the region's time zone; ``has_time`` false when only a day
    was given (``at`` is then that day's midnight)."""

    at: datetime
    has_time: bool

    @property
    def day(self) -> date:
        return self.at.date()


_PART = r"(pagi|siang|sore|petang|malam|subuh)"
_UNTIL = r"(?:sampai|sampe|hingga|s\.?d\.?|s/d|until|to)"
_HOUR_WORD = r"(?:jam|jm|pukul|pkl\.?)"
#: the end of an hour range ("jam 9-12"), dropped
_RANGE_END = r"(?:\s*[-–]\s*\d{1,2}(?:[.:]\d{2})?)?"
_WITH_WORD = re.compile(rf"\b{_HOUR_WORD}\s*(\d{{1,2}})(?:[.:](\d{{2}}))?{_RANGE_END}(?:\s*{_PART}\b)?")
_WITH_PART = re.compile(rf"\b(\d{{1,2}})(?:[.:](\d{{2}}))?\s*{_PART}\b")
_AM_PM = re.compile(r"\b(\d{1,2})(?:[.:](\d{2}))?\s*([ap])\.?m\b\.?")
_DOT_TIME = re.compile(r"(?<![\d./-])(\d{1,2})\.(\d{2})(?![\d.])")
#: "09:00-12:00", "09:00 - 12.00": the start only
_CLOCK_RANGE = re.compile(r"(?<![\d.])(\d{1,2}:\d{2})\s*[-–]\s*\d{1,2}(?:[.:]\d{2})?(?!\d)")
_CLOCK = re.compile(r"(?<![\d.])(\d{1,2}):(\d{2})(?![\d])")
_ISO_DAY = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_DMY_DAY = re.compile(r"(?<![\d:.])(\d{1,2})[/-](\d{1,2})(?:[/-](\d{2,4}))?\b")
_YEAR = re.compile(r"(?<![\d:.])(\d{4})(?![\d:])")
_WEEKDAYS = {
    "senin": 0,
    "selasa": 1,
    "rabu": 2,
    "kamis": 3,
    "jumat": 4,
    "jum'at": 4,
    "sabtu": 5,
    "minggu": 6,
    "ahad": 6,
    "monday": 0,
    "tuesday": 1,
    "wednesday": 2,
    "thursday": 3,
    "friday": 4,
    "saturday": 5,
    "sunday": 6,
}


def hour_of(hour: int, part: str | None) -> int:
    """The 24-hour hour of "jam ``hour`` ``part``": 9 pagi → 9, 1 siang → 13, 3 sore → 15,
    7 malam → 19, 12 malam → 0, 2 malam → 2; an hour past 12 is already on the 24-hour clock."""
    if part is None or hour > 12:
        return hour
    if part in ("pagi", "subuh"):
        return hour
    if part == "siang":
        return hour if hour >= 10 else hour + 12
    if part in ("sore", "petang"):
        return hour if hour == 12 else hour + 12
    # malam: the evening up to midnight, small hours after it ("jam 2 malam")
    if hour == 12:
        return 0
    return hour + 12 if hour >= 6 else hour


def _clock(hour: str, minute: str | None, part: str | None) -> str:
    h, m = int(hour), int(minute or 0)
    if h > 23 or m > 59:
        raise WhenError(BAD_TIME, f"{hour}:{minute or '00'}")
    return f" {hour_of(h, part):02d}:{m:02d} "


def normalise(text: str) -> str:
    """``text`` in the words dateparser reads: lower case, hours on the 24-hour clock as HH:MM,
    no time-zone names, no lone parts of the day, "depan" (next) dropped after a weekday."""
    s = " " + " ".join(text.lower().replace(",", " ").split()) + " "
    # a range: its start ("jam 9 sampai 12", "09.00 s.d. selesai")
    s = re.sub(
        rf"\s{_UNTIL}\s+(?:{_HOUR_WORD}\s*)?\d{{1,2}}(?:[.:]\d{{2}})?(?:\s*(?:{_PART}|[ap]\.?m\.?))?(?=\s)", " ", s
    )
    s = re.split(rf"\s{_UNTIL}\s", s)[0] + " "
    s = re.sub(r"\b(wib|wita|wit)\b", " ", s)
    s = _WITH_WORD.sub(lambda m: _clock(m[1], m[2], m[3]), s)
    s = _WITH_PART.sub(lambda m: _clock(m[1], m[2], m[3]), s)
    s = _AM_PM.sub(lambda m: _clock(m[1], m[2], "pagi" if m[3] == "a" else "sore"), s)
    s = _DOT_TIME.sub(lambda m: _clock(m[1], m[2], None), s)
    s = _CLOCK_RANGE.sub(r"\1", s)
    for m in _CLOCK.finditer(s):
        _clock(m[1], m[2], None)
    s = re.sub(rf"\b{_PART}\b", " ", s)
    s = re.sub(r"\b(tanggal|tgl\.?|pada|depan)\b|\bhari\b(?!\s+ini)", " ", s)
    return " ".join(s.split())


def _check_numbers(s: str, now: datetime) -> None:
    """Refuse what dateparser would drop or overflow on: a day not in the calendar (31/02), a
    year far away (0001, 9999)."""
    for m in _YEAR.finditer(s):
        year = int(m[1])
        if year < now.year - 1:
            raise WhenError(PAST)
        if year > now.year + 3:
            raise WhenError(TOO_FAR)
    days = [(m[1], m[2], m[3]) for m in _ISO_DAY.finditer(s)]
    days += [(m[3] or str(now.year), m[2], m[1]) for m in _DMY_DAY.finditer(s) if not _ISO_DAY.search(s)]
    for y, mo, d in days:
        year = int(y) + (2000 if len(y) == 2 else 0)
        try:
            date(year, int(mo), int(d))
        except ValueError:
            raise WhenError(BAD_DAY, f"{year:04d}-{int(mo):02d}-{int(d):02d}") from None


def time_only(text: str) -> time | None:
    """The time of day when ``text`` is nothing else ("jam 9 pagi", "13.00", "pukul 14:30")."""
    s = normalise(text)
    m = re.fullmatch(r"(\d{2}):(\d{2})", s)
    return time(int(m[1]), int(m[2])) if m else None


def parse_when(text: str, now: datetime, tz: ZoneInfo | str) -> Spoken:
    """What ``text`` says about a moment after ``now`` (aware), read in ``tz``; raises
    :class:`WhenError` (UNKNOWN, BAD_TIME, BAD_DAY, PAST and TOO_FAR for far years,
    WRONG_WEEKDAY when a named weekday does not match the date). Whether the moment is still
    ahead is the caller's rule."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    if len(text) > MAX_LENGTH:  # no date is that long; dateparser is slow on long texts
        raise WhenError(UNKNOWN)
    s = normalise(text)
    _check_numbers(s, now)
    base = now.astimezone(zone).replace(tzinfo=None)
    clock = time_only(text)
    if clock is not None:  # an hour alone: today while it is ahead, else tomorrow
        at = at_time(base.date(), clock, zone)
        return Spoken(at if at > now else at_time(base.date() + timedelta(days=1), clock, zone), True)
    if re.search(r"\blusa\b", s):  # the day after tomorrow: "besok" seen from tomorrow
        s, base = re.sub(r"\blusa\b", "besok", s), base + timedelta(days=1)
    words = s.split()
    # words after the date ("… di aula", "… sampai selesai") are dropped, a few at most
    for end in range(len(words), max(len(words) - TRAILING_WORDS, 1) - 1, -1):
        read = " ".join(words[:end])
        data = _dateparser(read, base, zone)
        if data is not None:
            break
    else:
        raise WhenError(UNKNOWN)
    at = data.date_obj.astimezone(zone)
    # an hour written out is the time, also where dateparser says "day" ("besok 09:00" typed at 09:00)
    clocks = _CLOCK.findall(read)
    if clocks:
        return _checked(s, at_time(at.date(), time(int(clocks[-1][0]), int(clocks[-1][1])), zone), True)
    if data.period == "time":
        return _checked(s, at, True)
    return _checked(s, datetime.combine(at.date(), time(0), tzinfo=zone), False)


def _checked(s: str, at: datetime, has_time: bool) -> Spoken:
    """``at`` unless ``s`` names a weekday it does not fall on."""
    named = [d for word, d in _WEEKDAYS.items() if re.search(rf"\b{re.escape(word)}\b", s)]
    if named and at.weekday() not in named:
        raise WhenError(WRONG_WEEKDAY, at.date().isoformat())
    return Spoken(at, has_time)


def _dateparser(s: str, base: datetime, zone: ZoneInfo):
    """dateparser's reading of ``s`` when it is a day or a moment (not a month or a year)."""
    settings = {
        "RELATIVE_BASE": base,
        "PREFER_DATES_FROM": "future",
        "DATE_ORDER": "DMY",
        "TIMEZONE": zone.key,
        "RETURN_AS_TIMEZONE_AWARE": True,
        "RETURN_TIME_AS_PERIOD": True,
        "PREFER_DAY_OF_MONTH": "first",
    }
    try:
        data = DateDataParser(languages=LANGUAGES, settings=settings).get_date_data(s) if s else None
    except (OverflowError, ValueError, TypeError, KeyError, IndexError, AttributeError):
        return None  # dateparser on odd input: not a date we can use
    if data is None or data.date_obj is None or data.period not in ("day", "week", "time"):
        return None
    return data


def at_time(day: date, clock: time, tz: ZoneInfo | str) -> datetime:
    """``day`` at ``clock`` in ``tz`` (aware)."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    return datetime.combine(day, clock, tzinfo=zone)
