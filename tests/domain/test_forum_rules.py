"""FKP rules (bot/forum.py): input checks, date parsing, who may register, when the reminder is
due, the agenda proposed from SKM and complaint data, and who receives the berita acara."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from bot.domain import forum_rules as rules
from bot.domain import spoken_when
from bot.domain.i18n import Translator

WIB = ZoneInfo("Asia/Jakarta")
WIT = ZoneInfo("Asia/Jayapura")
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 09:00 WIB
ID, EN = Translator("id"), Translator("en")


def local(y, m, d, hh=0, mm=0, tz=WIB) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=tz)


# ---- texts and numbers ------------------------------------------------------------------------
def test_lengths_are_checked_after_cleaning():
    assert rules.check_length("  Forum\x00 Air  ", rules.TITLE, "Judul") == "Forum Air"
    with pytest.raises(rules.ForumInputError) as short:
        rules.check_length("Air", rules.TITLE, "Judul")
    assert short.value.text(ID) == "Judul terlalu pendek (3 huruf); paling sedikit 5 huruf."
    assert short.value.text(EN).startswith("Title is too short")
    with pytest.raises(rules.ForumInputError, match="terlalu panjang"):
        rules.check_length("x" * 201, rules.TITLE, "Judul")


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("Aula PDAM, Jl. Merdeka 1", ("Aula PDAM, Jl. Merdeka 1", None)),
        ("https://meet.example.id/fkp", (None, "https://meet.example.id/fkp")),
        ("Aula PDAM | https://zoom.example/j/1", ("Aula PDAM", "https://zoom.example/j/1")),
        ("Aula PDAM\nhttps://zoom.example/j/1", ("Aula PDAM", "https://zoom.example/j/1")),
    ],
)
def test_place_link_or_both(typed, expected):
    assert rules.parse_place(typed) == expected


@pytest.mark.parametrize(
    "typed, msgid_part",
    [
        ("", "Ketik tempat forum"),
        ("https://a.example https://b.example", "tidak valid"),
        ("https://a.example | https://b.example", "satu tautan"),
        ("www.meet", "tidak valid"),
        ("ab", "terlalu pendek"),
    ],
)
def test_bad_places(typed, msgid_part):
    with pytest.raises(rules.ForumInputError) as exc:
        rules.parse_place(typed)
    assert msgid_part in exc.value.text(ID)


def test_capacity():
    assert (
        rules.parse_capacity("50") == 50
        and rules.parse_capacity("1.000") == 1000
        and rules.parse_capacity("30 orang") == 30
    )
    for bad in ("lima puluh", "0", "10001", "-3", "", "²", "5²"):
        with pytest.raises(rules.ForumInputError):
            rules.parse_capacity(bad)


# ---- date and time ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "typed",
    ["2026-11-30 09:00", "30-11-2026 09.00", "30/11/2026 jam 9:00", "2026-11-30T09:00", "30/11/2026, 09:00 WIB"],
)
def test_when_is_read_in_the_region_time(typed):
    assert rules.parse_when(typed, WIB, NOW) == local(2026, 11, 30, 9).astimezone(UTC)


def test_when_in_another_zone():
    assert rules.parse_when("2026-11-30 09:00", "Asia/Jayapura", NOW) == local(2026, 11, 30, 9, tz=WIT).astimezone(UTC)


@pytest.mark.parametrize(
    "typed, expected",
    [
        # the forms of the issue: Indonesian words, parts of the day, day-first numbers
        ("Kamis 10 Desember jam 9 pagi", local(2026, 12, 10, 9)),
        ("besok jam 13.00", local(2026, 11, 24, 13)),
        ("10/12 09:00", local(2026, 12, 10, 9)),
        ("10 Des 2026 pukul 14:30", local(2026, 12, 10, 14, 30)),
        ("10 Desember jam 3 sore", local(2026, 12, 10, 15)),
        ("Kamis 10 Desember jam 7 malam", local(2026, 12, 10, 19)),
        ("Sabtu, 12 Desember 2026, pukul 08.00 WIB", local(2026, 12, 12, 8)),
        ("lusa jam 1 siang", local(2026, 11, 25, 13)),
        ("Senin depan jam 10", local(2026, 11, 30, 10)),
        ("hari ini jam 14", local(2026, 11, 23, 14)),
        ("jam 12 siang", local(2026, 11, 23, 12)),  # an hour alone: today while it is ahead
        ("jam 8 pagi", local(2026, 11, 24, 8)),  # ... else tomorrow
        ("tomorrow 1pm", local(2026, 11, 24, 13)),
        ("10/11 09:00", local(2027, 11, 10, 9)),  # a day already past this year: the next one
        # what people add around a date: a range, the place, "jm", am/pm
        ("Kamis 10 Desember jam 09.00 - 12.00 WIB", local(2026, 12, 10, 9)),
        ("10/12 pukul 13.00 s/d 15.00", local(2026, 12, 10, 13)),
        ("10/12 09:00-12:00", local(2026, 12, 10, 9)),
        ("Kamis 10 Desember 09.00 - 12.00", local(2026, 12, 10, 9)),
        ("10 Desember jam 9 pagi sampai selesai", local(2026, 12, 10, 9)),
        ("Kamis 10 Desember jam 9 pagi di aula", local(2026, 12, 10, 9)),
        ("10 desember jm 9", local(2026, 12, 10, 9)),
        ("10 December 2026 3 pm", local(2026, 12, 10, 15)),
        # the same hour as now: dateparser calls it a day, the hour written out says otherwise
        ("besok jam 9", local(2026, 11, 24, 9)),
        ("tomorrow 9am", local(2026, 11, 24, 9)),
    ],
)
def test_natural_dates_are_read_day_first_in_the_future(typed, expected):
    assert rules.parse_when(typed, WIB, NOW) == expected.astimezone(UTC)


@pytest.mark.parametrize(
    "hour, part, expected",
    [(9, "pagi", 9), (12, "siang", 12), (1, "siang", 13), (3, "sore", 15), (7, "malam", 19), (12, "malam", 0)],
)
def test_parts_of_the_day_give_the_24_hour_clock(hour, part, expected):
    assert spoken_when.hour_of(hour, part) == expected


def test_a_day_without_a_time_is_kept_for_the_time_question():
    said = rules.read_when("Kamis 10 Desember", WIB, NOW)
    assert not said.has_time and said.day == date(2026, 12, 10)
    assert not rules.read_when("besok pagi", WIB, NOW).has_time  # "pagi" alone is not an hour
    assert rules.read_when("hari ini", WIB, NOW).day == date(2026, 11, 23)  # today is still possible
    assert rules.at_time_of(date(2026, 12, 10), "jam 9 pagi", WIB, NOW) == local(2026, 12, 10, 9).astimezone(UTC)
    assert rules.at_time_of(date(2026, 12, 10), "11 Desember jam 9", WIB, NOW) is None  # more than a time
    with pytest.raises(rules.ForumInputError) as exc:
        rules.at_time_of(date(2026, 11, 23), "08.00", WIB, NOW)
    assert "sudah lewat" in exc.value.text(ID)


def test_the_read_back_is_in_the_readers_language():
    at = local(2026, 12, 10, 9).astimezone(UTC)
    assert rules.fmt_when_long(at, WIB, ID, "id") == "Kamis, 10 Desember 2026 pukul 09.00 WIB"
    assert rules.fmt_when_long(at, WIB, EN, "en") == "Thursday, 10 December 2026 at 09:00 WIB"


@pytest.mark.parametrize(
    "typed, part",
    [
        ("besok pagi", "Jam berapa forum dimulai?"),  # no time: the command line needs one
        ("halo apa kabar", "tidak dapat saya baca"),
        ("50", "tidak dapat saya baca"),
        ("2026-02-30 09:00", "Tanggal 2026-02-30 tidak ada"),
        ("31/02 10:00", "Tanggal 2026-02-31 tidak ada"),
        ("2026-11-30 25:00", "Jam 25:00 tidak ada"),
        ("10 Desember jam 25", "Jam 25:00 tidak ada"),
        ("2026-11-23 08:59", "sudah lewat"),
        ("2026-11-23 09:00", "sudah lewat"),
        ("kemarin jam 9", "sudah lewat"),
        ("2029-01-01 09:00", "dua tahun"),
        ("Jumat 10 Desember jam 9", "jatuh pada Kamis, 10 Desember 2026"),
    ],
)
def test_bad_dates(typed, part):
    with pytest.raises(rules.ForumInputError) as exc:
        rules.parse_when(typed, WIB, NOW)
    assert part in exc.value.text(ID)


def test_bad_dates_in_english():
    with pytest.raises(rules.ForumInputError) as exc:
        rules.parse_when("Friday 10 December 9am", WIB, NOW)
    assert "Thursday, 10 December 2026" in exc.value.text(EN)
    with pytest.raises(rules.ForumInputError) as exc:
        rules.parse_when("hello", WIB, NOW)
    assert "Thursday 10 December 9am" in exc.value.text(EN), exc.value.text(EN)


def test_when_is_shown_with_weekday_and_zone():
    at = local(2026, 11, 30, 9).astimezone(UTC)
    assert rules.fmt_when(at, WIB, "id") == "Sen, 30 Nov 2026 09:00 WIB"
    assert rules.fmt_when(at, WIB, "en") == "Mon, 30 Nov 2026 09:00 WIB"
    assert rules.tz_abbrev(WIT) == "WIT" and rules.tz_abbrev("Europe/Berlin") == "Europe/Berlin"


# ---- what may happen when ---------------------------------------------------------------------
def test_registration_rules():
    start = NOW + timedelta(days=2)
    ok = {"status": "published", "starts_at": start, "now": NOW, "capacity": 2, "registered": 1, "already": False}
    assert rules.rsvp_problem(**ok) is None
    assert "penuh" in rules.rsvp_problem(**{**ok, "registered": 2})
    assert "sudah terdaftar" in rules.rsvp_problem(**{**ok, "already": True})
    assert "dibatalkan" in rules.rsvp_problem(**{**ok, "status": "cancelled"})
    assert "ditutup" in rules.rsvp_problem(**{**ok, "now": start})
    assert rules.seats_left(2, 5) == 0


def test_input_and_result_rules():
    start = NOW + timedelta(days=2)
    assert rules.input_problem(status="published", starts_at=start, now=NOW, sent_by_person=4) is None
    assert "batasnya" in rules.input_problem(
        status="published", starts_at=start, now=NOW, sent_by_person=rules.MAX_INPUTS_PER_PERSON
    )
    assert "sebelum forum dimulai" in rules.input_problem(
        status="published", starts_at=start, now=start, sent_by_person=0
    )
    assert "belum berlangsung" in rules.result_problem(status="published", starts_at=start, now=NOW, published_at=None)
    assert rules.result_problem(status="published", starts_at=start, now=start, published_at=None) is None
    assert "sudah diterbitkan" in rules.result_problem(
        status="published", starts_at=start, now=start, published_at=start
    )
    assert rules.phase("published", start, NOW) == "upcoming" and rules.phase("published", start, start) == "past"


# ---- the day-before reminder ------------------------------------------------------------------
def test_reminder_window():
    start = local(2026, 11, 30, 9).astimezone(UTC)
    early = local(2026, 11, 20, 10)

    def due(now, registered=early):
        return rules.reminder_due(starts_at=start, registered_at=registered, now=now.astimezone(UTC), tz=WIB)

    assert not due(local(2026, 11, 28, 23, 59))
    assert not due(local(2026, 11, 29, 7, 59))  # nobody is woken at night
    assert (
        due(local(2026, 11, 29, 8, 0)) and due(local(2026, 11, 29, 22)) and due(local(2026, 11, 30, 8, 59))
    )  # a late run catches up
    assert not due(local(2026, 11, 30, 9, 0))  # it has started
    assert due(local(2026, 11, 29, 20), registered=local(2026, 11, 29, 19))  # registered the day before
    assert not due(local(2026, 11, 30, 8), registered=local(2026, 11, 30, 7))  # registered on the day
    # the horizon covers today's and tomorrow's forums, not the day after
    horizon = rules.reminder_horizon(local(2026, 11, 29, 10).astimezone(UTC), WIB)
    assert horizon == local(2026, 12, 1).astimezone(UTC)


# ---- the agenda from the data -----------------------------------------------------------------
# three questionnaires: NRR U1 3,67 · U2 3,00 · U3 2,00 · U4–U6 4,00 · U7 2,33 · U8–U9 4,00
ANSWERS = [[4, 3, 2, 4, 4, 4, 3, 4, 4], [3, 3, 1, 4, 4, 4, 2, 4, 4], [4, 3, 3, 4, 4, 4, 2, 4, 4]]
TOTALS = {f"U{i + 1}": (sum(a[i] for a in ANSWERS), 3) for i in range(9)}


def test_agenda_names_the_weakest_elements_and_top_topics():
    p = rules.propose_agenda(
        opd_name="Perumda Air Minum",
        period_key="2026-S1",
        period_label="Semester I 2026",
        skm_totals=TOTALS,
        skm_responses=3,
        topic_counts=[
            ("tagihan air", 2),
            ("air tidak mengalir", 3),
            ("pipa bocor", 1),
            (None, 4),
            ("  ", 2),
            ("nol", 0),
        ],
        complaints=12,
    )
    assert [(e.code, e.nrr) for e in p.weakest] == [
        ("U3", Decimal("2.00")),
        ("U7", Decimal("2.33")),
        ("U2", Decimal("3.00")),
    ]
    assert p.topics == (("air tidak mengalir", 3), ("tagihan air", 2), ("pipa bocor", 1))
    assert p.ikm == Decimal("86.11") and p.mutu == "B" and p.responses == 3 and p.complaints == 12 and p.has_data
    text = rules.render_agenda(p, ID, "id")
    assert (
        "Unsur SKM terendah Semester I 2026 (3 responden, IKM 86,11 mutu B): U3 Waktu Penyelesaian (NRR 2,00); "
        "U7 Perilaku Pelaksana (NRR 2,33); U2 Sistem, Mekanisme, dan Prosedur (NRR 3,00)" in text
    )
    assert (
        "Pengaduan terbanyak Semester I 2026 (dari 12 pengaduan): air tidak mengalir (3 pengaduan); tagihan air (2 pengaduan); "
        "pipa bocor (1 pengaduan)" in text
    )
    assert text.splitlines()[0].startswith("1. ") and text.splitlines()[-1].startswith("5. ")
    english = rules.render_agenda(p, EN, "en")
    assert "IKM 86.11" in english and "NRR 2.00" in english and "U3 Completion time (NRR 2.00)" in english


def test_topics_merge_and_ties_are_alphabetical():
    p = rules.propose_agenda(
        opd_name="X",
        period_key="k",
        period_label="L",
        skm_totals=None,
        skm_responses=0,
        topic_counts=[("b", 1), ("a", 1), ("c", 2), ("b ", 1)],
    )
    assert p.topics == (("b", 2), ("c", 2), ("a", 1)) and p.complaints == 5 and p.ikm is None


def test_agenda_without_data_says_so():
    p = rules.propose_agenda(
        opd_name="DLH",
        period_key="2026-S1",
        period_label="Semester I 2026",
        skm_totals={},
        skm_responses=0,
        topic_counts=[],
    )
    assert not p.has_data
    text = rules.render_agenda(p, ID, "id")
    assert "Hasil SKM Semester I 2026: belum ada survei selesai" in text and "belum ada pengaduan bertopik" in text


# ---- cards and who receives the berita acara --------------------------------------------------
def test_card_reminder_and_result_texts():
    f = SimpleNamespace(
        id=7,
        title="Forum Air",
        topic="Gangguan air",
        starts_at=local(2026, 11, 30, 9).astimezone(UTC),
        place="Aula PDAM",
        online_url="https://meet.example/x",
        capacity=50,
        description="Untuk pelanggan.",
        agenda="1. Pembukaan",
        result_text="Disepakati jadwal gangguan diumumkan H-1.",
    )
    card = rules.render_card(f, opd_name="Perumda Air Minum", tz=WIB, t=ID, lang="id", registered=3)
    assert (
        "🤝 Forum #7: Forum Air" in card
        and "Aula PDAM · daring: https://meet.example/x" in card
        and "Terdaftar 3 dari 50" in card
    )
    assert card.endswith("Agenda:\n1. Pembukaan")
    assert "Sen, 30 Nov 2026 09:00 WIB" in rules.reminder_text(f, tz=WIB, t=ID, lang="id")
    assert rules.reminder_text(f, tz=WIB, t=EN, lang="en").startswith("⏰ Reminder: tomorrow")
    assert rules.result_text(f, opd_name="PDAM", tz=WIB, t=ID, lang="id").endswith(
        "Disepakati jadwal gangguan diumumkan H-1."
    )
    assert rules.announcement_text(f, opd_name="PDAM", tz=WIB, t=ID, lang="id").startswith(
        "📢 Forum konsultasi publik baru"
    )


def test_audience_and_outcome_window():
    a = rules.Audience(frozenset({1, 2}), frozenset({2, 3}))
    assert a.all == {1, 2, 3} and a.without(2).all == {1, 3} and a.without(None) is a
    created, data_from, published = NOW - timedelta(days=10), NOW - timedelta(days=200), NOW
    assert rules.outcome_window(data_from, created, published) == (data_from, published)
    assert rules.outcome_window(None, created, published) == (created, published)


@pytest.mark.parametrize("typed", ["0001-01-01 00:00", "01-01-0001 09:00", "9999-12-31 23:59", "1900-06-01 10:00"])
def test_dates_far_away_are_refused_with_a_message_not_an_overflow(typed):
    with pytest.raises(rules.ForumInputError) as exc:
        rules.parse_when(typed, WIB, NOW)
    assert "sudah lewat" in exc.value.text(ID) or "dua tahun" in exc.value.text(ID)


def test_the_start_is_checked_again_at_publication():
    at = rules.parse_when("2026-11-30 09:00", WIB, NOW)
    assert rules.check_start(at, NOW) == at
    with pytest.raises(rules.ForumInputError) as exc:
        rules.check_start(at, at)  # published when it starts
    assert "sudah lewat" in exc.value.text(ID)


@hsettings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(max_size=100),
        st.from_regex(
            r"(senin|kamis|besok|lusa|hari ini)? ?\d{1,2}[/ .-]\d{1,2}([/ .-]\d{2,4})? (jam|pukul)? ?\d{1,2}([.:]\d{2})?"
            r" ?(pagi|siang|sore|malam)?",
            fullmatch=True,
        ),
    )
)
def test_any_text_gives_a_start_ahead_or_a_reason(typed):
    """Nothing typed makes the parser crash or accept a start that has passed."""
    try:
        at = rules.at_time_of(date(2026, 12, 10), typed, WIB, NOW)
        assert at is None or at == local(2026, 12, 10, at.astimezone(WIB).hour, at.minute).astimezone(UTC)
    except rules.ForumInputError as exc:
        assert exc.text(ID) and exc.text(EN)
    try:
        said = rules.read_when(typed, WIB, NOW)
    except rules.ForumInputError as exc:
        assert exc.text(ID) and exc.text(EN)
        return
    if said.has_time:
        assert NOW < said.at <= NOW + rules.MAX_AHEAD
    else:
        assert said.day >= NOW.astimezone(WIB).date()
