"""`kanal lapor import | status | topics` as a Pemda's operator uses them: real processes on the
test database for the import (CSV and XLSX, a bad file loads nothing), in-process against the fake
LAPOR! server for topics."""

from __future__ import annotations

import contextlib
import io
import socket

import openpyxl
from sqlalchemy import func, select

from bot.cli import _dispatch, build_parser
from bot.domain.region import demo_region_path
from bot.settings import Settings
from storage import Database
from storage.models import RoutingExample
from tests.e2e.test_cli import kanal
from tests.fakes.lapor_server import FakeLaporServer

TOKEN = "lapor-KEYTOKEN-cli-7Hq2Lm9X"
HEADER = "TrackingID,Judul Laporan,Isi Laporan,Instansi,Tanggal,Status"
GOOD = [
    ("4410001", "Jalan rusak", "Jalan desa Sukamaju berlubang besar", "PUPR", "2025-03-04", "Selesai"),
    ("4410002", "Sampah", "Sampah menumpuk di pasar dua minggu", "Dinas Lingkungan Hidup", "05/04/2025", "Selesai"),
    ("4410003", "", "Lampu jalan mati di Jalan Diponegoro", "1008", "2024-12-01", "Proses"),
]


def setup(db_url: str, tmp_path) -> dict[str, str]:
    env = {"KANAL_DATABASE_URL": db_url}
    out = kanal("region", "load", str(demo_region_path()), env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    return env


async def examples(db_url: str) -> list[tuple[str, str, str]]:
    db = Database(db_url)
    try:
        async with db.unit_of_work() as uow:
            return await uow.routing.all_examples()
    finally:
        await db.dispose()


def write_csv(path, rows, header=HEADER, sep=","):
    lines = [header] + [sep.join(f'"{c}"' for c in r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def test_bad_file_loads_nothing_and_names_every_line(db_url, tmp_path):
    env = setup(db_url, tmp_path)
    bad = write_csv(
        tmp_path / "bad.csv",
        [
            GOOD[0],
            ("4410009", "X", "Pungli di kantor pajak pusat", "Kementerian Keuangan", "2025-01-01", "Proses"),
            ("4410010", "Y", "Jalan rusak lagi", "PUPR", "kemarin", "Proses"),
            ("4410001", "Z", "Sama nomornya", "PUPR", "2025-01-02", "Proses"),
            ("4410011", "", "", "PUPR", "2025-01-03", "Proses"),
        ],
    )
    out = kanal("lapor", "import", str(bad), env=env, cwd=tmp_path)
    assert out.returncode == 1 and "nothing loaded" in out.stderr, out.stderr
    assert "line 3: instansi 'Kementerian Keuangan' is no OPD of the region" in out.stderr
    assert "line 4: tanggal 'kemarin' is no date" in out.stderr
    assert "line 5: TrackingID 4410001 appears twice (also line 2)" in out.stderr
    assert "line 6: empty report text" in out.stderr
    assert "Traceback" not in out.stderr
    assert await examples(db_url) == []

    nocol = tmp_path / "nocol.csv"
    nocol.write_text("TrackingID,Tanggal\n1,2025-01-01\n", encoding="utf-8")
    out = kanal("lapor", "import", str(nocol), env=env, cwd=tmp_path)
    assert out.returncode == 1 and "line 1: no column with the report's text" in out.stderr
    assert "line 1: no instansi/kategori column" in out.stderr

    latin = tmp_path / "latin.csv"
    latin.write_bytes((HEADER + "\n1,Jalan,Jalan rusak di Cibiru,PUPR,2025-01-01,Selesai\n").encode() + b"caf\xe9\n")
    out = kanal("lapor", "import", str(latin), env=env, cwd=tmp_path)
    assert out.returncode == 1 and "line 3: not UTF-8" in out.stderr
    assert await examples(db_url) == []


async def test_good_csv_and_xlsx_become_routing_examples(db_url, tmp_path):
    env = setup(db_url, tmp_path)
    good = write_csv(tmp_path / "good.csv", GOOD, sep=";", header=HEADER.replace(",", ";"))
    out = kanal("lapor", "import", str(good), env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "3 SP4N-LAPOR! reports loaded" in out.stdout
    assert "per year:  2024: 1, 2025: 2" in out.stdout and "selesai: 2" in out.stdout
    got = await examples(db_url)
    assert got == [
        ("Jalan rusak. Jalan desa Sukamaju berlubang besar", "PUPR", "import"),
        ("Sampah menumpuk di pasar dua minggu", "DLH", "import"),  # the title begins the text
        ("Lampu jalan mati di Jalan Diponegoro", "DISHUB", "import"),
    ]

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["No Tracking", "Isi Laporan", "Kategori", "Tanggal Laporan", "Status"])
    sheet.append([4420001, "Puskesmas tutup di jam pelayanan", "DINKES", None, "Proses"])
    sheet.append([4420002, "Air PDAM keruh sejak Senin", "PDAM", "2025-06-01", "Selesai"])
    path = tmp_path / "history.xlsx"
    book.save(path)
    out = kanal("lapor", "import", str(path), env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "2 SP4N-LAPOR! reports loaded" in out.stdout
    assert [(label, src) for _, label, src in (await examples(db_url))[3:]] == [
        ("DINKES", "import"),
        ("PDAM", "import"),
    ]
    out = kanal("lapor", "import", str(good), env=env, cwd=tmp_path)  # the same file again
    assert out.returncode == 0 and "0 SP4N-LAPOR! reports loaded" in out.stdout
    assert "3 were loaded before and were not added again" in out.stdout
    out = kanal("lapor", "status", env=env, cwd=tmp_path)
    assert out.returncode == 0 and "history imported: 5 reports" in out.stdout
    assert "OFF" in out.stdout

    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a workbook")
    out = kanal("lapor", "import", str(broken), env=env, cwd=tmp_path)
    assert out.returncode == 1 and "not a readable XLSX workbook" in out.stderr
    db = Database(db_url)
    try:
        async with db.unit_of_work() as uow:
            n = (await uow.session.execute(select(func.count()).select_from(RoutingExample))).scalar_one()
    finally:
        await db.dispose()
    assert n == 5


async def dispatch(settings: Settings, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    err = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = await _dispatch(build_parser().parse_args(list(argv)), settings)
    return rc, out.getvalue() + err.getvalue()


async def test_topics_from_the_fake_server_and_a_clear_line_when_down(db_url, tmp_path, settings):
    setup(db_url, tmp_path)
    async with FakeLaporServer(token=TOKEN) as lapor:
        s = Settings(**{**settings.__dict__, "lapor_url": lapor.base_url, "lapor_token": TOKEN})
        rc, out = await dispatch(s, "lapor", "topics")
        assert rc == 0, out
        assert "341       34  Jalan dan Jembatan" in out and "5 topics" in out
        assert lapor.calls[-1] == ("topics", {"KEYTOKEN": TOKEN})
        wrong = Settings(**{**s.__dict__, "lapor_token": "not-the-token-1234"})
        rc, out = await dispatch(wrong, "lapor", "topics")
        assert rc == 1 and "HTTP 401" in out and "KANAL_LAPOR_TOKEN" in out and "not-the-token" not in out
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {"KANAL_DATABASE_URL": db_url, "KANAL_LAPOR_URL": f"http://127.0.0.1:{port}", "KANAL_LAPOR_TOKEN": TOKEN}
    out = kanal("lapor", "topics", env=env, cwd=tmp_path)
    assert out.returncode == 1 and "network: ClientConnectorError" in out.stderr
    assert TOKEN not in out.stderr + out.stdout
    out = kanal("config", env=env, cwd=tmp_path)
    assert out.returncode == 0 and TOKEN not in out.stdout and "KANAL_LAPOR_TOKEN" in out.stdout
