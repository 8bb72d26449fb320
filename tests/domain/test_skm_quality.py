"""SKM quality moments, suggestions and tabulation in SQL (storage/skm.py), on SQLite and PostgreSQL.

The SQL aggregation is checked against the pure Python reference ``bot.domain.skm.moments_from_rows``
run over the same rows, and against numbers worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain import skm
from bot.domain.region import load_region_file
from bot.services.regions import store_region
from storage import Repo
from storage.models import SurveyResponse
from storage.skm_repo import SkmRepo

T0 = datetime(2026, 11, 10, 3, 0, tzinfo=UTC)
START, END = datetime(2026, 10, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)

# (user, unit, status, answers, seconds, channel, profile, saran, period_key, finished offset in hours)
SEED = [
    (
        "a",
        "PUPR-BM",
        "complete",
        [4, 3, 3, 4, 3, 3, 4, 2, 3],
        200,
        "telegram",
        {"umur": "20-29", "jenis_kelamin": "P"},
        "Antrean terlalu panjang",
        "2026-11",
        0,
    ),
    (
        "b",
        "PUPR-BM",
        "complete",
        [3, 3, 2, 4, 3, 4, 4, 3, 3],
        180,
        "telegram",
        {"umur": "30-39", "jenis_kelamin": "L"},
        None,
        "2026-11",
        1,
    ),
    (
        "c",
        "PUPR-BM",
        "complete",
        [2, 2, 2, 4, 3, 3, 3, 2, 2],
        240,
        "web",
        {"umur": "30-39", "jenis_kelamin": "L", "pekerjaan": "PNS"},
        "   ",
        "2026-11",
        2,
    ),
    (
        "d",
        "PUPR-BM",
        "complete",
        [4, 4, 3, 4, 4, 4, 4, 3, 4],
        220,
        "web",
        {"jenis_kelamin": "P", "umur": None},
        "Petugas ramah",
        "2026-11",
        3,
    ),
    ("e", "PUPR-BM", "complete", [3, 3, 3, 3, 3, 3, 3, 3, 3], 30, "telegram", {}, None, "2026-11", 4),
    ("f", "PUPR-BM", "complete", [4, 4, 4, 4, 4, 4, 4, 4, 4], 41, "whatsapp", {}, None, "2026-11", 5),
    ("g", "PUPR-BM", "complete", [3, None, 3, 4, 3, 3, 4, 3, 3], 199, "telegram", {}, None, "2026-11", 6),
    ("h", "PUPR-BM", "complete", [1, 2, 1, 4, 2, 2, 3, 1, 1], 260, "web", {"umur": "50-59"}, None, "2026-11", 7),
    (
        "a",
        "PUPR-BM",
        "complete",
        [3, 3, 3, 3, 2, 3, 3, 3, 3],
        205,
        "telegram",
        {"umur": "20-29"},
        None,
        "2026-12",
        24 * 30,
    ),  # again next month
    (
        "c",
        "PUPR-BM",
        "abandoned",
        [3, 3, None, None, None, None, None, None, None],
        None,
        "web",
        {},
        None,
        "2026-11",
        8,
    ),
    ("i", "PUPR-BM", "abandoned", [None] * 9, None, "web", {}, None, "2026-11", 9),
    (
        "i",
        "PUPR-BM",
        "in_progress",
        [2, None, None, None, None, None, None, None, None],
        None,
        "web",
        {},
        None,
        "2026-11",
        10,
    ),
    ("a", "PUPR-SDA", "complete", [1, 1, 1, 1, 1, 1, 1, 1, 2], 100, "web", {}, "Mohon perbaiki saluran", "2026-11", 11),
    (
        "z",
        "PUPR-SDA",
        "complete",
        [4] * 9,
        100,
        "web",
        {},
        "di luar periode",
        "2026-11",
        -24 * 60,
    ),  # finished in September
]


@pytest.fixture
async def seeded(db, clock):
    await store_region(db, load_region_file(), clock.now())
    async with db.unit_of_work() as uow:
        repo = Repo(uow.session)
        users = {}
        for key, unit, status, answers, seconds, channel, profile, saran, period, offset in SEED:
            if key not in users:
                users[key] = (await repo.get_or_create_user("web", key, clock.now())).id
            finished = T0 + timedelta(hours=offset)
            started = finished - timedelta(seconds=seconds if seconds is not None else 60)
            row = SurveyResponse(
                user_id=users[key],
                unit_code=unit,
                opd_code="PUPR",
                service_code=None,
                channel=channel,
                period_key=period,
                status=status,
                started_at=started,
                finished_at=finished if status != "in_progress" else None,
                profile=profile,
                saran=saran,
            )
            for i, v in enumerate(answers):
                setattr(row, f"u{i + 1}", v)
            uow.session.add(row)
        await uow.commit()
    return db


def reference(unit: str):
    rows = []
    for key, u, status, answers, seconds, channel, profile, _saran, _period, offset in SEED:
        if u != unit or offset < 0:
            continue
        rows.append(
            {
                "status": status,
                "answers": answers,
                "seconds": seconds,
                "channel": channel,
                "profile": profile,
                "user_id": key,
            }
        )
    return skm.moments_from_rows(rows)


async def test_quality_moments_match_the_python_reference(seeded):
    async with seeded.unit_of_work() as uow:
        got = {m.unit_code: m for m in await SkmRepo(uow.session).quality_moments(START, END)}
    assert set(got) == {"PUPR-BM", "PUPR-SDA"}
    for unit in got:
        ref = reference(unit)
        m = got[unit]
        for name in (
            "n_complete",
            "n_incomplete",
            "n_full",
            "straightline",
            "sums",
            "squares",
            "cross",
            "t_sum",
            "t_squares",
            "durations",
            "duplicate_users",
            "repeat_start_users",
            "by_channel",
        ):
            assert getattr(m, name) == getattr(ref, name), (unit, name)
        for key in skm.PROFILE_FIELDS:
            assert m.by_profile[key] == dict(ref.by_profile[key].items()), (unit, key)


async def test_quality_moments_by_hand(seeded):
    async with seeded.unit_of_work() as uow:
        repo = SkmRepo(uow.session)
        (bm,) = await repo.quality_moments(START, END, unit_code="PUPR-BM")
        by_opd = await repo.quality_moments(START, END, opd_code="PUPR")
        none = await repo.quality_moments(START, END, opd_code="DLH")
        september = await repo.quality_moments(START - timedelta(days=30), START)
    assert bm.n_complete == 9 and bm.n_full == 8 and bm.n_incomplete == 3 and bm.straightline == 2
    assert bm.sums[0] == 4 + 3 + 2 + 4 + 3 + 4 + 1 + 3  # U1 over the eight complete rows with all nine answered
    full = [a for _k, u, st, a, *_rest in SEED if u == "PUPR-BM" and st == "complete" and None not in a]
    assert bm.squares[0] == sum(a[0] ** 2 for a in full) == 16 + 9 + 4 + 16 + 9 + 16 + 1 + 9
    assert bm.t_sum == sum(sum(a) for a in full) and bm.t_squares == sum(sum(a) ** 2 for a in full)
    assert bm.cross[1] == sum(a[1] * sum(a) for a in full)
    # the element totals per (OPD, service) cover every complete questionnaire, also the one with U2 unanswered
    assert list(bm.groups) == [("PUPR", None)]
    assert bm.totals().responses == 9 and bm.totals().totals["U2"] == (sum(a[1] for a in full), 8)
    assert bm.durations == {30: 1, 41: 1, 180: 1, 199: 1, 200: 1, 205: 1, 220: 1, 240: 1, 260: 1}
    assert bm.duplicate_users == 1  # "a" completed in November and in December
    assert bm.repeat_start_users == 2  # "c" (abandoned, then complete) and "i" (two starts, none complete)
    assert bm.by_channel == {"telegram": 5, "web": 3, "whatsapp": 1}
    assert bm.by_profile["umur"] == {"20-29": 2, "30-39": 2, "50-59": 1, None: 4}
    assert [m.unit_code for m in by_opd] == ["PUPR-BM", "PUPR-SDA"] and none == []
    assert [(m.unit_code, m.n_complete, m.sums) for m in september] == [("PUPR-SDA", 1, (4,) * 9)]
    q = skm.quality_from_moments(bm, population=1200)
    assert q.median_seconds == 200 and q.speeders == 2  # 30 and 41 s are under 200/3
    assert q.duplicates == 3 and "sampel belum memadai (9 dari 291)" in q.flags


async def test_suggestions_and_tabulation(seeded):
    async with seeded.unit_of_work() as uow:
        repo = SkmRepo(uow.session)
        all_units = await repo.suggestions(START, END)
        sda = await repo.suggestions(START, END, unit_code="PUPR-SDA")
        rows = [row async for row in repo.tabulation("PUPR-BM", START, END, batch=3)]
    assert [(u, s) for u, _f, s in all_units] == [
        ("PUPR-BM", "Antrean terlalu panjang"),
        ("PUPR-BM", "Petugas ramah"),
        ("PUPR-SDA", "Mohon perbaiki saluran"),
    ]
    assert all_units[0][1] == T0 and sda == [("PUPR-SDA", T0 + timedelta(hours=11), "Mohon perbaiki saluran")]
    assert len(rows) == 9 and [r.id for r in rows] == sorted(r.id for r in rows)
    first = rows[0]
    assert (first.finished_at, first.channel) == (T0, "telegram")
    assert [first.u1, first.u2, first.u3, first.u4, first.u5, first.u6, first.u7, first.u8, first.u9] == [
        4,
        3,
        3,
        4,
        3,
        3,
        4,
        2,
        3,
    ]
    assert first.profile == {"umur": "20-29", "jenis_kelamin": "P"}
    assert tuple(first)[:3] == (first.id, T0, "telegram") and rows[6].u2 is None


async def test_sql_moments_give_the_same_alpha_as_the_rows(seeded):
    async with seeded.unit_of_work() as uow:
        (bm,) = await SkmRepo(uow.session).quality_moments(START, END, unit_code="PUPR-BM")
    q = skm.quality_from_moments(bm)
    ref = skm.quality_from_moments(reference("PUPR-BM"))
    assert q.cronbach_alpha is not None and q.cronbach_alpha == pytest.approx(ref.cronbach_alpha, abs=1e-12)
    assert q.item_total == pytest.approx(ref.item_total, abs=1e-12)


def reference_segments(unit: str, split: str):
    """Per segment value: moments_from_rows over that segment's rows only."""
    values = {}
    for key, u, status, answers, seconds, channel, profile, _saran, _period, offset in SEED:
        if u != unit or offset < 0:
            continue
        value = channel if split == "channel" else (profile.get(split) or None)
        values.setdefault(value, []).append(
            {
                "status": status,
                "answers": answers,
                "seconds": seconds,
                "channel": channel,
                "profile": profile,
                "user_id": key,
            }
        )
    return {v: skm.moments_from_rows(rows) for v, rows in values.items()}


@pytest.mark.parametrize("split", ["channel", "umur", "jenis_kelamin", "pekerjaan"])
async def test_quality_split_by_channel_and_profile(seeded, split):
    async with seeded.unit_of_work() as uow:
        repo = SkmRepo(uow.session)
        (unit,) = await repo.quality_moments(START, END, unit_code="PUPR-BM")
        median = skm.quality_from_moments(unit).median_seconds
        limit = skm.speeder_limit(median)
        got = await repo.quality_moments(START, END, split=split, speeder_limits={"PUPR-BM": limit})
    segments = {m.value: m for m in got if m.unit_code == "PUPR-BM"}
    ref = reference_segments("PUPR-BM", split)
    assert set(segments) == set(ref)
    for value, m in segments.items():
        r = ref[value]
        assert m.split == split
        for name in (
            "n_complete",
            "n_incomplete",
            "n_full",
            "straightline",
            "sums",
            "squares",
            "cross",
            "t_sum",
            "t_squares",
            "duplicate_users",
            "repeat_start_users",
        ):
            assert getattr(m, name) == getattr(r, name), (split, value, name)
        # speeders against the unit's limit (median 200 s → under 67 s), not the segment's own median
        assert m.speeders == sum(c for s, c in r.durations.items() if s < limit) and m.timed == m.n_complete
        q = skm.quality_from_moments(m, check_sample=False, unit_median=median)
        assert q.cronbach_alpha == skm.quality_from_moments(r).cronbach_alpha
        assert not any(f.startswith(("sampel", "populasi")) for f in q.flags)
    if split == "channel":
        assert (segments["telegram"].n_complete, segments["telegram"].speeders, segments["telegram"].straightline) == (
            5,
            1,
            1,
        )
        assert (segments["whatsapp"].speeders, segments["web"].n_incomplete) == (1, 3)
        assert segments["web"].repeat_start_users == 2  # "c" (abandoned then complete, both on the web) and "i"
        assert segments["telegram"].duplicate_users == 1  # "a" in November and December
    with pytest.raises(ValueError):
        await SkmRepo(uow.session).quality_moments(START, END, split="alamat")


async def test_segments_without_limits_have_no_speeders(seeded):
    async with seeded.unit_of_work() as uow:
        got = await SkmRepo(uow.session).quality_moments(START, END, unit_code="PUPR-BM", split="channel")
    assert {m.value: m.speeders for m in got} == {"telegram": 0, "web": 0, "whatsapp": 0}
