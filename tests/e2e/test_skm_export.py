"""SKM export (bot/skm_export.py): the workbook opened back with openpyxl, checked against a
hand computation; the CSV summary."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook

from bot.domain.region import load_region_file
from bot.domain.skm import parse_period
from bot.services.regions import store_region
from bot.services.skm_export import build_skm_csv, build_skm_workbook, collect_skm_report, sheet_title
from storage import Repo
from storage.models import SurveyResponse
from storage.skm_repo import SkmRepo

Q4 = parse_period("2026-Q4", datetime(2026, 11, 23).date())
T = datetime(2026, 11, 10, 3, 0, tzinfo=UTC)

BM = [  # PUPR-BM, the worked example: column sums 16 15 13 20 16 17 19 13 15 → NRR Σ 28.8 → 3.2 → 80.00 B
    [4, 3, 3, 4, 3, 3, 4, 2, 3],
    [3, 3, 2, 4, 3, 4, 4, 3, 3],
    [2, 2, 2, 4, 3, 3, 3, 2, 2],
    [4, 4, 3, 4, 4, 4, 4, 3, 4],
    [3, 3, 3, 4, 3, 3, 4, 3, 3],
]
SDA = [  # PUPR-SDA: sums 11 10 11 10 11 10 11 10 11 → Σ NRR 95/3 → /9 × 25 = 87.962… → 87.96 B
    [4, 4, 4, 4, 4, 4, 4, 4, 4],
    [3, 3, 3, 3, 3, 3, 3, 3, 3],
    [4, 3, 4, 3, 4, 3, 4, 3, 4],
]
DLH = [[1, 2, 1, 2, 1, 2, 1, 2, 1], [2, 2, 2, 2, 2, 2, 2, 2, 2]]  # another OPD


@pytest.fixture
async def seeded(db, clock):
    await store_region(db, load_region_file(), clock.now())
    dlh_unit = load_region_file().opds[1].units[0].code
    plan = [("PUPR-BM", "PUPR", a, T + timedelta(hours=i)) for i, a in enumerate(BM)]
    plan += [("PUPR-SDA", "PUPR", a, T + timedelta(days=1, hours=i)) for i, a in enumerate(SDA)]
    plan += [(dlh_unit, "DLH", a, T) for a in DLH]
    # 2026-09-30 18:00 UTC is 1 October 01:00 WIB: inside Q4; 2026-12-31 17:30 UTC is already 2027 in WIB
    plan += [("PUPR-SDA", "PUPR", [4] * 9, datetime(2026, 9, 30, 18, 0, tzinfo=UTC))]
    plan += [("PUPR-BM", "PUPR", [1] * 9, datetime(2026, 12, 31, 17, 30, tzinfo=UTC))]
    async with db.unit_of_work() as uow:
        repo = Repo(uow.session)
        for i, (unit, opd, answers, finished) in enumerate(plan):
            user = await repo.get_or_create_user("telegram" if i % 2 else "web", f"u{i}", clock.now())
            service = (f"{unit}-01" if i < 3 else f"{unit}-02") if unit == "PUPR-BM" and i < 5 else None
            row = SurveyResponse(
                user_id=user.id,
                unit_code=unit,
                opd_code=opd,
                service_code=service,
                channel="telegram" if i % 2 else "web",
                period_key="2026-S2",
                status="complete",
                started_at=finished - timedelta(minutes=3),
                finished_at=finished,
                profile={"jenis_kelamin": "P" if i % 3 else "L", "pendidikan": "D4/S1"} if i < 5 else {},
                saran="Parkir sempit" if i == 0 else None,
            )
            for k, v in enumerate(answers):
                setattr(row, f"u{k + 1}", v)
            uow.session.add(row)
        # a coordinator's figure for PUPR-SDA in 2026-Q4 (the region file's 450 per year would give 113)
        await SkmRepo(uow.session).set_population("PUPR-SDA", "2026-Q4", 4, set_by=None, now=clock.now())
        await uow.commit()
    return db, dlh_unit


def by_hand(rows: list[list[int]]) -> float:
    """IKM the long way: mean per element, mean of the nine means, × 25, two decimals."""
    nrr = [sum(r[i] for r in rows) / len(rows) for i in range(9)]
    return round(sum(nrr) / 9 * 25 + 1e-9, 2)


def find_row(ws, column: int, value):
    for row in ws.iter_rows(values_only=True):
        if len(row) > column and row[column] == value:
            return row
    raise AssertionError(f"no row with {value!r} in column {column} of {ws.title}")


async def test_workbook_numbers_match_a_hand_computation(seeded):
    db, dlh_unit = seeded
    data = await build_skm_workbook(db, period=Q4)
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == [
        "Ringkasan",
        f"Tab {dlh_unit}",
        "Tab PUPR-BM",
        "Tab PUPR-SDA",
        "Profil",
        "Saran",
        "Kualitas",
    ]

    summary = wb["Ringkasan"]
    header = find_row(summary, 0, "No")
    col = {name: i for i, name in enumerate(header)}
    bm = find_row(summary, col["Kode unit"], "PUPR-BM")
    sda = find_row(summary, col["Kode unit"], "PUPR-SDA")
    assert by_hand(BM) == 80.00 and by_hand(SDA + [[4] * 9]) == 90.97
    assert (
        bm[col["IKM (25-100)"]] == pytest.approx(by_hand(BM), abs=1e-9)
        and bm[col["Mutu"]] == "B"
        and bm[col["Kinerja"]] == "Baik"
    )
    # the region file's 1 200 service users per year → 300 in a quarter → Krejcie–Morgan 169
    assert (
        bm[col["Responden (n)"]] == 5
        and bm[col["Populasi"]] == 300
        and bm[col["Sampel minimum (Krejcie-Morgan)"]] == 169
    )
    assert bm[col["Status sampel"]] == "belum memadai"
    assert (sda[col["Populasi"]], sda[col["Sampel minimum (Krejcie-Morgan)"]], sda[col["Status sampel"]]) == (
        4,
        4,
        "memadai",
    )
    # the 1 October 01:00 WIB answer counts in Q4, the 1 January 00:30 WIB one does not
    assert sda[col["Responden (n)"]] == 4 and sda[col["IKM (25-100)"]] == pytest.approx(
        by_hand(SDA + [[4] * 9]), abs=1e-9
    )
    assert sda[col["Mutu"]] == "A"
    # IKM per service: rows 0–2 of PUPR-BM used service 01, rows 3–4 service 02
    svc1 = find_row(summary, 3, "Pengaduan kerusakan jalan kabupaten (PUPR-BM-01)")
    svc2 = find_row(summary, 3, "Pengaduan kerusakan jembatan (PUPR-BM-02)")
    assert (
        svc1[2] == "PUPR-BM"
        and svc1[col["Responden (n)"]] == 3
        and svc1[col["IKM (25-100)"]] == pytest.approx(by_hand(BM[:3]), abs=1e-9)
    )
    assert svc2[col["Responden (n)"]] == 2 and svc2[col["IKM (25-100)"]] == pytest.approx(by_hand(BM[3:]), abs=1e-9)
    assert svc2[col["Mutu"]] == "B" and by_hand(BM[3:]) == 87.50
    other = [
        r for r in summary.iter_rows(values_only=True) if len(r) > 3 and r[2] == "PUPR-SDA" and r[3] == "Layanan lain"
    ]
    assert len(other) == 1 and other[0][col["Responden (n)"]] == 4
    assert bm[col["Unsur terendah"]].startswith("U3 Waktu Penyelesaian (2,60)")
    whole = find_row(summary, 3, "Seluruh unit: Kabupaten Sukamaju (demo)")
    assert whole[col["Responden (n)"]] == 11 and whole[col["IKM (25-100)"]] == pytest.approx(
        by_hand(BM + SDA + [[4] * 9] + DLH), abs=1e-9
    )
    pupr = find_row(summary, 3, "Dinas Pekerjaan Umum dan Penataan Ruang")
    assert pupr[col["IKM (25-100)"]] == pytest.approx(by_hand(BM + SDA + [[4] * 9]), abs=1e-9)

    tab = wb["Tab PUPR-BM"]
    head = find_row(tab, 0, "No")
    u1 = head.index("U1")
    answers = [list(r[u1 : u1 + 9]) for r in tab.iter_rows(values_only=True) if isinstance(r[0], int)]
    assert answers == BM
    first = next(r for r in tab.iter_rows(values_only=True) if r[0] == 1)
    assert first[2] == datetime(2026, 11, 10, 10, 0)  # local time (WIB), naive for Excel
    assert list(find_row(tab, u1 - 1, "Jumlah nilai")[u1 : u1 + 9]) == [16, 15, 13, 20, 16, 17, 19, 13, 15]
    assert list(find_row(tab, u1 - 1, "NRR")[u1 : u1 + 9]) == pytest.approx(
        [3.2, 3.0, 2.6, 4.0, 3.2, 3.4, 3.8, 2.6, 3.0]
    )
    assert find_row(tab, u1 - 1, "NRR tertimbang")[u1] == pytest.approx(3.2 / 9, abs=1e-6)
    assert find_row(tab, u1 - 1, "IKM unit")[u1] == pytest.approx(3.2)
    assert find_row(tab, u1 - 1, "IKM konversi")[u1] == pytest.approx(80.00, abs=1e-9)
    assert find_row(tab, u1 - 1, "Mutu")[u1] == "B"
    sda_tab = wb["Tab PUPR-SDA"]
    assert find_row(sda_tab, u1 - 1, "IKM konversi")[u1] == pytest.approx(by_hand(SDA + [[4] * 9]), abs=1e-9)

    profile = wb["Profil"]
    top, sub = list(profile.iter_rows(min_row=3, max_row=4, values_only=True))
    bm_prof = find_row(profile, 0, "PUPR-BM")
    jk = top.index("Jenis kelamin")
    assert sub[jk : jk + 3] == ("Laki-laki", "Perempuan", "(tidak diisi)")
    assert bm_prof[jk : jk + 3] == (2, 3, 0)  # rows 0..4: i % 3 → L, P, P, L, P
    assert bm_prof[top.index("Kanal") : top.index("Kanal") + 2] == (2, 3)  # telegram (odd i), web

    saran = wb["Saran"]
    assert find_row(saran, 1, "PUPR-BM")[4] == "Parkir sempit"
    quality = wb["Kualitas"]
    qh = find_row(quality, 0, "Kode unit")
    q_bm = find_row(quality, 0, "PUPR-BM")
    assert "sampel belum memadai (5 dari 169)" in q_bm[qh.index("Catatan")]
    assert q_bm[qh.index("Median waktu (detik)")] == 180
    # split by channel and respondent profile
    sh = find_row(quality, 2, "Menurut")
    segs = {
        (r[0], r[2], r[3]): r
        for r in quality.iter_rows(values_only=True)
        if len(r) > 4 and r[2] in ("Kanal", "Jenis kelamin", "Pendidikan", "Umur")
    }
    assert segs[("PUPR-BM", "Kanal", "web")][sh.index("Selesai (n)")] == 3
    assert segs[("PUPR-BM", "Kanal", "telegram")][sh.index("Selesai (n)")] == 2
    assert segs[("PUPR-BM", "Jenis kelamin", "Laki-laki")][sh.index("Selesai (n)")] == 2
    assert segs[("PUPR-BM", "Jenis kelamin", "Perempuan")][sh.index("Selesai (n)")] == 3
    assert segs[("PUPR-BM", "Pendidikan", "D4/S1")][sh.index("Selesai (n)")] == 5
    assert segs[("PUPR-SDA", "Pendidikan", "(tidak diisi)")][sh.index("Selesai (n)")] == 4
    assert segs[("PUPR-BM", "Kanal", "web")][sh.index("Jawaban seragam")] == 0


async def test_officer_scope_unit_scope_and_csv(seeded):
    db, dlh_unit = seeded
    async with db.unit_of_work() as uow:
        data = await build_skm_workbook(
            SkmRepo(uow.session), Repo(uow.session), period=Q4, timezone="Asia/Jakarta", weight="annex", opd_code="PUPR"
        )
        report = await collect_skm_report(uow.session, period=Q4, unit_code="PUPR-SDA")
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["Ringkasan", "Tab PUPR-BM", "Tab PUPR-SDA", "Profil", "Saran", "Kualitas"]
    summary = wb["Ringkasan"]
    codes = {r[2] for r in summary.iter_rows(min_row=6, values_only=True) if len(r) > 2 and r[2]}
    assert dlh_unit not in codes and {"PUPR-BM", "PUPR-SDA", "PUPR-CKTR"} <= codes
    header = find_row(summary, 0, "No")
    # annex weight: 28.8 × 0.111 × 25 = 79.92
    assert find_row(summary, 2, "PUPR-BM")[header.index("IKM (25-100)")] == pytest.approx(79.92, abs=1e-9)
    assert [u.unit_code for u in report.units] == ["PUPR-SDA"] and str(report.units[0].ikm.ikm) == "90.97"

    raw = await build_skm_csv(db, period=Q4)
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    bm = next(r for r in rows if r["kode_unit"] == "PUPR-BM")
    assert (bm["ikm"], bm["mutu"], bm["responden"], bm["sampel_minimum"], bm["nrr_u3"]) == (
        "80.00",
        "B",
        "5",
        "169",
        "2.6000",
    )
    assert "sampel belum memadai (5 dari 169)" in bm["catatan_kualitas"]
    services = {r["nama"]: r for r in rows if r["tingkat"] == "layanan" and r["kode_unit"] == "PUPR-BM"}
    assert services["Pengaduan kerusakan jalan kabupaten (PUPR-BM-01)"]["ikm"] == f"{by_hand(BM[:3]):.2f}"
    assert services["Pengaduan kerusakan jembatan (PUPR-BM-02)"]["responden"] == "2"
    region = next(r for r in rows if r["tingkat"] == "wilayah")
    assert region["ikm"] == f"{by_hand(BM + SDA + [[4] * 9] + DLH):.2f}"
    assert next(r for r in rows if r["kode_unit"] == "PUPR-CKTR")["ikm"] == ""


async def test_empty_period_still_gives_a_workbook(seeded):
    db, _ = seeded
    data = await build_skm_workbook(db, period=parse_period("2025", datetime(2026, 1, 1).date()))
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["Ringkasan", "Profil", "Saran", "Kualitas"]
    assert find_row(wb["Ringkasan"], 2, "PUPR-BM")[4] == 0


def test_sheet_titles_are_valid_and_unique():
    used = {"Ringkasan"}
    assert sheet_title("ringkasan", used) == "ringkasan (2)"
    long = "Tab " + "X" * 40
    a, b = sheet_title(long, used), sheet_title(long, used)
    assert len(a) == 31 and len(b) == 31 and a != b
    assert sheet_title("a/b:c*d?[e]", used) == "a-b-c-d--e-"


async def test_month_and_custom_periods(seeded):
    db, _ = seeded
    today = datetime(2026, 11, 23).date()
    # 10 November 2026 (WIB): the five PUPR-BM rows (10:00–14:00 WIB) and DLH's two, not PUPR-SDA (11 November)
    day = await collect_skm_report(db, period=parse_period("2026-11-10..2026-11-10", today))
    assert {u.unit_code: u.responses for u in day.units if u.responses} == {
        "PUPR-BM": 5,
        load_region_file().opds[1].units[0].code: 2,
    }
    assert str(day.unit("PUPR-BM").ikm.ikm) == "80.00" and day.unit("PUPR-BM").population == 3  # 1 200 × 1/365, rounded
    # November: everything but the 1 October and the 1 January (WIB) answers
    month = await collect_skm_report(db, period=parse_period("2026-11", today))
    assert month.region.responses == 10 and month.unit("PUPR-SDA").responses == 3
    assert [g.code for g in month.opds] == ["DLH", "PUPR"] and month.opds[1].responses == 8
    assert str(month.region.ikm.ikm) == f"{by_hand(BM + SDA + DLH):.2f}"
    # a year and a semester hold all eleven that fall in 2026 (WIB)
    for key in ("2026", "2026-S2"):
        assert (await collect_skm_report(db, period=parse_period(key, today))).region.responses == 11
