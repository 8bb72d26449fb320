"""`kanal export skm` and `kanal qr` as an operator runs them: a real process on the test database."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from openpyxl import load_workbook
from PIL import Image

from bot.domain.region import load_region_file
from bot.services.regions import store_region
from storage import Database
from storage.skm_repo import SkmRepo
from tests.e2e.test_cli import kanal

UNIT = "DLH-KEB"


async def seed(db_url: str, clock) -> None:
    db = Database(db_url)
    await store_region(db, load_region_file(), clock.now())
    from storage import Repo

    async with db.unit_of_work() as uow:
        repo, skm = Repo(uow.session), SkmRepo(uow.session)
        for i, answers in enumerate(([4] * 9, [3, 3, 3, 3, 3, 3, 3, 3, 2])):
            user = await repo.get_or_create_user("web", f"r{i}", clock.now())
            row = skm.start(
                user_id=user.id,
                unit_code=UNIT,
                opd_code="DLH",
                service_code=None,
                channel="web",
                period_key="2026-S2",
                now=clock.now() - timedelta(minutes=5),
                profile={},
            )
            for k, v in enumerate(answers, start=1):
                setattr(row, f"u{k}", v)
            row.status, row.finished_at = "complete", clock.now()
        await uow.commit()
    await db.dispose()


async def test_export_xlsx_and_csv(db_url, clock, tmp_path):
    await seed(db_url, clock)
    env = {"KANAL_DATABASE_URL": db_url}
    out = kanal("export", "skm", "--period", "2026-S2", "-o", str(tmp_path / "skm.xlsx"), env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "Semester II 2026" in out.stdout
    wb = load_workbook(tmp_path / "skm.xlsx", read_only=True)
    rows = [r for r in wb.worksheets[0].iter_rows(values_only=True) if r and UNIT in r]
    # by hand: answers sum 36 + 26 = 62 over 18 → 3.4444 × 25 = 86.11, mutu B
    assert rows and any(isinstance(v, float) and round(v, 2) == 86.11 for v in rows[0]) and "B" in rows[0]

    out = kanal(
        "export",
        "skm",
        "--period",
        "2026-S2",
        "--format",
        "csv",
        "-o",
        str(tmp_path / "skm.csv"),
        env=env,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    text = (tmp_path / "skm.csv").read_bytes().decode("utf-8-sig")
    line = next(r for r in csv.reader(io.StringIO(text)) if UNIT in r)
    assert any(cell.replace(",", ".") == "86.11" for cell in line), line

    out = kanal("export", "skm", "--period", "2026-Q9", "-o", str(tmp_path / "x.xlsx"), env=env, cwd=tmp_path)
    assert out.returncode == 2 and "--period" in out.stderr and "Traceback" not in out.stderr


async def test_qr_one_and_all(db_url, clock, tmp_path):
    await seed(db_url, clock)
    env = {"KANAL_DATABASE_URL": db_url}
    out = kanal(
        "qr", UNIT, "--telegram-bot", "@kanal_sukamaju_bot", "-o", str(tmp_path / "q.png"), env=env, cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr
    assert "https://t.me/kanal_sukamaju_bot?start=skm_DLH-KEB" in out.stdout
    assert "http://127.0.0.1:8080/publik/skm/DLH-KEB" in out.stdout  # the poster of its results
    img = Image.open(tmp_path / "q.png")
    assert img.format == "PNG"
    # the unit's name is printed under the code: dark pixels in the bottom strip, below the QR's white border
    assert img.convert("L").crop((0, img.height - 90, img.width, img.height - 10)).getextrema()[0] < 80
    try:
        from pyzbar.pyzbar import decode  # optional: decode the code back when zbar is present
    except Exception:
        decode = None
    if decode is not None:
        assert decode(img)[0].data.decode() == "https://t.me/kanal_sukamaju_bot?start=skm_DLH-KEB"

    out = kanal(
        "qr",
        "--all",
        "--web-url",
        "https://lapor.sukamaju.go.id/chat",
        "-o",
        str(tmp_path / "qr"),
        env=env,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert len(list((tmp_path / "qr").glob("skm_*.png"))) == 33
    assert "https://lapor.sukamaju.go.id/chat?start=skm_PUPR-BM" in out.stdout
    assert "https://lapor.sukamaju.go.id/publik/skm/PUPR-BM" in out.stdout

    out = kanal("qr", "NOPE", "--telegram-bot", "x", "-o", str(tmp_path / "n.png"), env=env, cwd=tmp_path)
    assert out.returncode == 2 and "unknown unit" in out.stderr
    out = kanal("qr", UNIT, "-o", str(tmp_path / "n.png"), env=env, cwd=tmp_path)
    assert out.returncode == 2 and "--telegram-bot" in out.stderr
