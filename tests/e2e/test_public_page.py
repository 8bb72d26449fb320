"""The public transparency page (``/publik``, ``/publik.json``, ``/publik.csv``, ``/publik/skm/<unit>``)
over HTTP from the running app, against a seeded database: complaints with known timestamps across
working days and holidays (Nyepi, Idul Fitri with its cuti bersama, Good Friday, 17 August), SKM
questionnaires and forums. Figures checked by hand; small cells suppressed; no personal data or
complaint text anywhere in the three formats."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta, timezone

import aiohttp
import pytest

from bot.app import KanalApp
from bot.domain.clock import ManualClock
from bot.domain.region import load_region_file
from bot.services.regions import store_region
from storage import Repo
from storage.models import SurveyResponse

WIB = timezone(timedelta(hours=7))
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 09:00 WIB; the period is Nov 2025 – Oct 2026


def wib(y: int, m: int, d: int, h: int = 10) -> datetime:
    return datetime(y, m, d, h, 0, tzinfo=WIB).astimezone(UTC)


def end_of(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 23, 59, 59, 999999, tzinfo=WIB).astimezone(UTC)


NAMES = ["Sri Wahyuni Lestari", "Bambang Hartono Petugas", "Yohanes Kurniadi", "Dewi Anggraeni Putri"]
PHONES = ["+6281234567890", "6285799887766", "081311122233"]
CHAT_IDS = ["987654321", "55512345", "whatsapp-6285799887766"]


def text(tag: str) -> str:
    return f"Laporan {tag}: jalan berlubang di depan rumah Sri Wahyuni nomor 17 RT 03"


# (tag, opd, privacy, filed, first response, response due, resolved, completion due, events)
# Working days after Tue 17 March 2026: 18-20 and 23-24 March are holidays → Wed 25 = 1, … Thu 2 April = 7,
# Fri 3 April (Good Friday) off → Mon 6 April = 8.
COMPLAINTS = [
    (
        "A",
        "PUPR",
        "biasa",
        wib(2026, 3, 17),
        wib(2026, 3, 26, 9),
        end_of(2026, 3, 27),
        wib(2026, 4, 6),
        end_of(2026, 3, 31),
        ["rate_bad"],
    ),  # response 2 wd on time; resolved 8 wd, late
    (
        "B",
        "PUPR",
        "rahasia",
        wib(2026, 6, 8),
        wib(2026, 6, 9),
        end_of(2026, 6, 11),
        wib(2026, 6, 12),
        end_of(2026, 6, 15),
        ["rate_good"],
    ),  # 1 wd, 4 wd (16 June is a holiday, not reached)
    (
        "C",
        "PUPR",
        "anonim",
        wib(2026, 8, 14, 15),
        wib(2026, 8, 21),
        end_of(2026, 8, 20),
        wib(2026, 8, 26),
        end_of(2026, 8, 24),
        ["rate_good", "reopen_not_fixed"],
    ),  # 17 and 25 Aug off: 4 wd late, 6 wd late
    (
        "D",
        "PUPR",
        "biasa",
        wib(2026, 9, 7, 9),
        wib(2026, 9, 7, 14),
        end_of(2026, 9, 10),
        wib(2026, 9, 9),
        end_of(2026, 9, 14),
        ["rate_good"],
    ),  # 0 wd, 2 wd
    ("E", "PUPR", "biasa", wib(2026, 10, 26, 9), None, end_of(2026, 10, 29), None, end_of(2026, 11, 2), []),
    (
        "F",
        "PUPR",
        "biasa",
        wib(2026, 10, 30, 9),
        wib(2026, 11, 2),
        end_of(2026, 11, 4),
        None,
        end_of(2026, 11, 30),
        [],
    ),  # 1 wd; completion deadline still running: not counted
    (
        "I",
        "PUPR",
        "biasa",
        wib(2026, 9, 15, 9),
        wib(2026, 9, 18),
        end_of(2026, 9, 18),
        wib(2026, 9, 22),
        end_of(2026, 9, 22),
        ["rate_bad"],
    ),  # 3 wd, 5 wd, both on time
    ("G", "PUPR", "biasa", wib(2026, 11, 10), None, None, None, None, []),  # this month: outside the period
    ("H", "PUPR", "biasa", wib(2025, 10, 15), None, None, None, None, []),  # before the period
    ("J", "DLH", "rahasia", wib(2026, 5, 4), wib(2026, 5, 5), end_of(2026, 5, 7), None, None, []),
    ("K", "DLH", "anonim", wib(2026, 7, 6), None, None, None, None, []),
    ("L", None, "biasa", wib(2026, 10, 20), None, None, None, None, []),  # not routed yet
]

BM_S1 = [  # PUPR-BM, 2026-S1: six questionnaires
    [4, 3, 3, 4, 3, 3, 4, 2, 3],
    [3, 3, 2, 4, 3, 4, 4, 3, 3],
    [2, 2, 2, 4, 3, 3, 3, 2, 2],
    [4, 4, 3, 4, 4, 4, 4, 3, 4],
    [3, 3, 3, 4, 3, 3, 4, 3, 3],
    [4, 4, 4, 4, 4, 4, 4, 4, 4],
]


def by_hand(rows: list[list[int]]) -> tuple[float, list[float]]:
    nrr = [sum(r[i] for r in rows) / len(rows) for i in range(9)]
    return round(sum(nrr) / 9 * 25 + 1e-9, 2), [round(x + 1e-9, 2) for x in nrr]


async def seed(db) -> None:
    await store_region(db, load_region_file(), NOW)
    async with db.unit_of_work() as uow:
        repo = Repo(uow.session)
        people = []
        for i, name in enumerate(NAMES):
            u = await repo.get_or_create_user(["telegram", "whatsapp", "web", "telegram"][i], CHAT_IDS[i % 3], NOW)
            u.display_name, u.username, u.phone = name, f"user_{CHAT_IDS[i % 3]}", PHONES[i % 3]
            people.append(u)
        await uow.session.flush()
        officer = people[1]
        for n, (tag, opd, privacy, filed, first, rdue, resolved, cdue, events) in enumerate(COMPLAINTS):
            c = await uow.complaints.create(
                number_year=filed.year,
                citizen_user_id=people[n % len(people)].id,
                channel="telegram",
                text=text(tag),
                address=f"Jl. Melati {n}, dekat rumah {NAMES[0]}",
                privacy=privacy,
                state="ditutup" if resolved else ("disposisi" if opd else "triase"),
                opd_code=opd,
                filed_at=filed,
                updated_at=filed,
                routed_at=filed + timedelta(hours=1) if opd else None,
                first_response_at=first,
                response_due_at=rdue,
                resolved_at=resolved,
                completion_due_at=cdue,
            )
            uow.complaints.add_event(
                complaint=c,
                at=filed,
                actor_user_id=officer.id,
                actor_role="officer",
                action="reply",
                text=f"Jawaban petugas {NAMES[1]} untuk {NAMES[0]}, hubungi {PHONES[0]}",
            )
            for action in events:
                uow.complaints.add_event(
                    complaint=c,
                    at=filed + timedelta(days=30),
                    actor_user_id=c.citizen_user_id,
                    actor_role="citizen",
                    action=action,
                    text=f"alasan {tag}: {NAMES[2]} kecewa",
                )
        await seed_skm(uow, repo)
        await seed_forums(uow)
        await uow.commit()


async def seed_skm(uow, repo) -> None:
    plan = [("PUPR-BM", "2026-S1", a, wib(2026, 2, 2 + i)) for i, a in enumerate(BM_S1)]
    plan += [("PUPR-SDA", "2026-S1", [4] * 9, wib(2026, 3, 2 + i)) for i in range(3)]  # three: suppressed
    plan += [("PUPR-BM", "2025-S2", [4] * 9, wib(2025, 9, 1 + i)) for i in range(5)]  # 100.00 A
    for i, (unit, key, answers, finished) in enumerate(plan):
        user = await repo.get_or_create_user("web", f"skm-{i}", NOW)
        row = SurveyResponse(
            user_id=user.id,
            unit_code=unit,
            opd_code="PUPR",
            channel="web",
            period_key=key,
            status="complete",
            started_at=finished - timedelta(minutes=3),
            finished_at=finished,
            profile={},
            saran=f"Saran dari {NAMES[3]} {PHONES[2]}",
        )
        for k, v in enumerate(answers):
            setattr(row, f"u{k + 1}", v)
        uow.session.add(row)


async def seed_forums(uow) -> None:
    common = {"capacity": 50, "description": "Diskusi terbuka", "agenda": "1. Pembukaan", "created_at": NOW}
    await uow.forum.create(
        opd_code="PUPR",
        title="FKP Jalan Desa 2027",
        topic="Perbaikan jalan desa",
        starts_at=wib(2026, 12, 3, 9),
        place="Aula Dinas PUPR",
        **common,
    )
    await uow.forum.create(
        opd_code="DLH",
        title="FKP Sampah Pasar",
        topic="Pengangkutan sampah",
        starts_at=wib(2026, 10, 1, 9),
        place="Balai Desa",
        result_text="Disepakati jadwal angkut sampah tiga kali seminggu.",
        result_published_at=wib(2026, 10, 5),
        **common,
    )
    await uow.forum.create(
        opd_code="DLH", title="FKP Batal", topic="x", starts_at=wib(2026, 12, 10, 9), status="cancelled", **common
    )


@pytest.fixture
async def site(settings):
    app = KanalApp(settings, clock=ManualClock(NOW))
    await seed(app.db)
    await app.start()
    base = f"http://127.0.0.1:{app.port}"
    async with aiohttp.ClientSession() as http:
        yield app, http, base
    await app.stop()


async def get(http, url: str) -> tuple[int, str, dict]:
    async with http.get(url) as resp:
        return resp.status, await resp.text(), dict(resp.headers)


async def test_complaint_figures_in_working_days_with_small_cells_suppressed(site):
    _app, http, base = site
    status, body, headers = await get(http, base + "/publik.json")
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    assert headers["Cache-Control"] == "public, max-age=60"
    data = json.loads(body)
    assert data["k"] == 5
    assert data["complaints"]["period"] == {"from": "2025-11-01", "to": "2026-10-31"}
    opds = {o["code"]: o for o in data["complaints"]["opds"]}
    pupr = opds["PUPR"]
    assert pupr["received"] == {"value": 7, "suppressed": False}  # G (this month) and H (2025-10) are outside
    assert pupr["answered_on_time"]["value"] == 71.4  # A B D F I of A B C D E(unanswered, past due) F I
    assert pupr["resolved_on_time"]["value"] == 50.0  # B D I of A B C D E I (F still running)
    assert pupr["median_response_days"]["value"] == 1.5  # 0 1 1 2 3 4
    assert pupr["median_resolution_days"]["value"] == 5.0  # 2 4 5 6 8 (A: 8, across Nyepi and Idul Fitri)
    assert pupr["reopened_share"]["value"] == 60.0  # A (rate_bad), C (reopen_not_fixed), I of 5
    assert pupr["satisfaction"]["value"] == 60.0  # 3 rate_good, 2 rate_bad
    dlh = opds["DLH"]
    assert dlh["received"] == {"value": None, "suppressed": True}  # two complaints
    assert dlh["answered_on_time"] == {"value": None, "suppressed": True}
    assert opds["DINKES"]["received"] == {"value": 0, "suppressed": False}
    assert data["complaints"]["total"]["received"] == {"value": 10, "suppressed": False}  # + DLH 2 + unrouted 1

    status, page, headers = await get(http, base + "/publik")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "71,4%" in page and "1,5 hari kerja" in page and "5,0 hari kerja" in page
    assert "&lt;5" in page and "1 November 2025 – 31 Oktober 2026" in page

    status, body, _ = await get(http, base + "/publik.csv")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    pupr_row = next(r for r in rows if r[:2] == ["pengaduan", "PUPR"])
    assert pupr_row[4:] == ["7", "71,4", "50,0", "1,5", "5,0", "60,0", "60,0"]
    dlh_row = next(r for r in rows if r[:2] == ["pengaduan", "DLH"])
    # received 2, one answered (J); nothing resolved or rated: empty, not suppressed
    assert dlh_row[4:] == ["<5", "<5", "–", "<5", "–", "–", "–"]


async def test_skm_of_the_last_completed_period_with_its_trend_and_the_poster(site):
    _app, http, base = site
    data = json.loads((await get(http, base + "/publik.json"))[1])
    units = {u["code"]: u for u in data["skm"]}
    bm = units["PUPR-BM"]
    ikm, nrr = by_hand(BM_S1)
    assert bm["period"]["key"] == "2026-S1"  # the semester before the current one
    assert bm["ikm"] == ikm and bm["responses"] == {"value": 6, "suppressed": False}
    assert bm["nrr"] == {f"U{i + 1}": v for i, v in enumerate(nrr)}
    assert bm["sample"]["status"] == "sampel belum memadai" and bm["sample"]["adequate"] is False
    assert [p["period"] for p in bm["trend"]] == ["2024-S2", "2025-S1", "2025-S2", "2026-S1"]
    assert [p["ikm"] for p in bm["trend"]] == [None, None, 100.0, ikm]
    sda = units["PUPR-SDA"]
    assert sda["ikm"] is None and sda["responses"] == {"value": None, "suppressed": True} and sda["nrr"] == {}

    status, poster, headers = await get(http, base + "/publik/skm/PUPR-BM")
    assert status == 200 and "@page{size:A4" in poster and "Sampel belum memadai" in poster
    assert f"{ikm:.2f}".replace(".", ",") in poster and ">B<" in poster
    assert all(f"{v:.2f}".replace(".", ",") in poster for v in nrr)
    assert "Persyaratan" in poster and "Jumlah responden" in poster
    page = (await get(http, base + "/publik"))[1]
    assert 'href="/publik/skm/PUPR-BM"' in page
    status, body, _ = await get(http, base + "/publik/skm/NOPE-1")
    assert status == 404 and body == "Unit tidak ditemukan. / Unknown unit."
    status, body, _ = await get(http, base + "/publik/skm/%3Cscript%3E")
    assert status == 404 and "<script" not in body


async def test_forums_upcoming_and_published_minutes(site):
    _app, http, base = site
    data = json.loads((await get(http, base + "/publik.json"))[1])
    upcoming = data["forums"]["upcoming"]
    assert [f["title"] for f in upcoming] == ["FKP Jalan Desa 2027"]  # the cancelled one is not listed
    assert upcoming[0]["when"] == "3 Desember 2026 09.00"
    assert [f["berita_acara"] for f in data["forums"]["results"]] == [
        "Disepakati jadwal angkut sampah tiga kali seminggu."
    ]
    page = (await get(http, base + "/publik"))[1]
    assert "FKP Jalan Desa 2027" in page and "Disepakati jadwal angkut" in page


async def test_no_personal_data_or_complaint_text_in_any_format(site):
    _app, http, base = site
    bodies = [(await get(http, base + path))[1] for path in ("/publik", "/publik.json", "/publik.csv")]
    bodies.append((await get(http, base + "/publik/skm/PUPR-BM"))[1])
    secrets = [*NAMES, *PHONES, *CHAT_IDS, *(text(c[0]) for c in COMPLAINTS), "Jl. Melati", "Saran dari"]
    secrets += ["Sri Wahyuni", "Wahyuni", "berlubang di depan rumah", "alasan", "kecewa", "ADU-"]
    for body in bodies:
        low = body.lower()
        found = [s for s in secrets if s.lower() in low]
        assert not found, f"personal data or complaint text on the public page: {found}"
        for phone in PHONES:
            assert phone.lstrip("+0")[-9:] not in body


async def test_the_json_shape_is_stable(site):
    _app, http, base = site
    data = json.loads((await get(http, base + "/publik.json"))[1])
    assert set(data) == {"schema", "region", "generated_at", "k", "suppression_note", "complaints", "skm", "forums"}
    assert data["schema"] == 1
    assert set(data["complaints"]) == {"period", "days", "opds", "total"}
    figures = {
        "received",
        "answered_on_time",
        "resolved_on_time",
        "median_response_days",
        "median_resolution_days",
        "reopened_share",
        "satisfaction",
        "bases",
    }
    assert set(data["complaints"]["opds"][0]) == {"code", "name"} | figures
    assert set(data["complaints"]["total"]) == figures
    assert set(data["complaints"]["total"]["bases"]) == {
        "response_known",
        "resolution_known",
        "resolved_or_reopened",
        "ratings",
    }
    unit = data["skm"][0]
    assert set(unit) == {
        "code",
        "name",
        "opd_code",
        "opd",
        "period",
        "responses",
        "ikm",
        "mutu",
        "kinerja",
        "sample",
        "nrr",
        "trend",
    }
    assert set(unit["trend"][0]) == {"period", "label", "responses", "ikm", "mutu"}
    assert set(data["forums"]) == {"upcoming", "results"}
    assert set(data["forums"]["upcoming"][0]) == {"opd", "title", "topic", "when", "place", "online_url"}


async def test_figures_are_kept_for_a_minute(site):
    app, http, base = site
    first = (await get(http, base + "/publik.json"))[1]
    async with app.db.unit_of_work() as uow:
        await uow.complaints.create(
            number_year=2026,
            channel="web",
            text="baru",
            privacy="biasa",
            state="triase",
            opd_code=None,
            filed_at=wib(2026, 10, 21),
            updated_at=NOW,
        )
        await uow.commit()
    assert (await get(http, base + "/publik.json"))[1] == first  # kept
    app.publik.forget()  # as if the minute had passed
    again = json.loads((await get(http, base + "/publik.json"))[1])
    assert again["complaints"]["total"]["received"]["value"] == 11


async def test_a_small_k_from_the_region_file_shows_small_cells(settings, tmp_path):
    raw = load_region_file()
    app = KanalApp(settings, clock=ManualClock(NOW))
    await seed(app.db)
    async with app.db.unit_of_work() as uow:
        region = await uow.region.region()
        region.config = {**region.config, "public": {**region.config["public"], "publik_k": 2}}
        await uow.commit()
    await app.start()
    try:
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{app.port}/publik.json") as resp:
            data = await resp.json()
    finally:
        await app.stop()
    assert raw.public.publik_k == 5 and data["k"] == 2
    dlh = next(o for o in data["complaints"]["opds"] if o["code"] == "DLH")
    assert dlh["received"] == {"value": 2, "suppressed": False}
    assert dlh["median_response_days"] == {"value": None, "suppressed": True}  # one answered complaint
