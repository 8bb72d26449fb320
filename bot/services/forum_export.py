"""`kanal export forum <id>`: a forum's attendance and written input as XLSX (two sheets) or CSV.

Anonymous input carries no name (``storage.forum_repo.ForumRepo.inputs`` never joins its sender)."""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Font

from bot.domain.export_safety import safe_row
from bot.domain.person_name import NO_NAME, channel_name

INPUT_HEADER = ["No", "Waktu", "Pengirim", "Kanal", "Masukan"]
ATTENDANCE_HEADER = ["No", "Nama", "Kanal", "Status", "Mendaftar", "Dibatalkan"]


def _local(value, tz: ZoneInfo) -> str:
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M") if value is not None else ""


def _no_name(channel: str | None) -> str:
    """A person who gave no name ("tanpa nama (web chat)"); "(data dihapus)" is for erasure only."""
    return NO_NAME.format(channel=channel_name(channel))


def input_rows(inputs, tz: ZoneInfo) -> list[list]:
    return [
        [
            i,
            _local(r.submitted_at, tz),
            "anonim" if r.anonymous else ("(data dihapus)" if r.erased else (r.name or _no_name(r.channel))),
            r.channel,
            r.text,
        ]
        for i, r in enumerate(inputs, start=1)
    ]


def attendance_rows(people, tz: ZoneInfo) -> list[list]:
    return [
        [
            i,
            "(data dihapus)" if p.name is None else (p.name or _no_name(p.channel)),
            p.channel or "",
            p.status,
            _local(p.registered_at, tz),
            _local(p.cancelled_at, tz),
        ]
        for i, p in enumerate(people, start=1)
    ]


def build_workbook(forum, opd_name: str, people, inputs, tz: ZoneInfo) -> bytes:
    wb = Workbook()
    info = wb.active
    info.title = "Forum"
    for key, value in (
        ("Forum", f"#{forum.id} {forum.title}"),
        ("OPD", opd_name),
        ("Topik", forum.topic),
        ("Waktu", _local(forum.starts_at, tz)),
        ("Tempat", forum.place or ""),
        ("Tautan daring", forum.online_url or ""),
        ("Kuota", forum.capacity),
        ("Terdaftar", sum(1 for p in people if p.status == "registered")),
        ("Masukan", len(inputs)),
        ("Berita acara", forum.result_text or ""),
    ):
        info.append(safe_row([key, value]))
        info.cell(row=info.max_row, column=1).font = Font(bold=True)
    for title, header, rows in (
        ("Kehadiran", ATTENDANCE_HEADER, attendance_rows(people, tz)),
        ("Masukan", INPUT_HEADER, input_rows(inputs, tz)),
    ):
        ws = wb.create_sheet(title)
        ws.append(header)
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in rows:
            ws.append(safe_row(row))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def build_csv(inputs, tz: ZoneInfo) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(INPUT_HEADER)
    writer.writerows(safe_row(row) for row in input_rows(inputs, tz))
    return buf.getvalue().encode("utf-8-sig")  # BOM: Excel opens it as UTF-8


async def export_forum(args, db) -> int:
    async with db.unit_of_work() as uow:
        repo = uow.forum
        forum = await repo.get(args.forum_id)
        if forum is None:
            print(f"kanal: forum {args.forum_id} not found (kanal forum list)", file=sys.stderr)
            return 2
        region = await uow.region.region()
        tz = ZoneInfo(region.timezone if region else "Asia/Jakarta")
        opd = await uow.region.get_opd(forum.opd_code)
        people = await repo.attendees(forum.id, include_cancelled=True)
        inputs = await repo.inputs(forum.id)
    fmt = args.format or ("csv" if str(args.output).lower().endswith(".csv") else "xlsx")
    data = (
        build_csv(inputs, tz)
        if fmt == "csv"
        else build_workbook(forum, opd.name if opd else forum.opd_code, people, inputs, tz)
    )
    if args.output == "-":
        sys.stdout.buffer.write(data)
    else:
        Path(args.output).write_bytes(data)
        print(f"forum #{forum.id}: {len(people)} registrations, {len(inputs)} inputs written to {args.output} ({fmt})")
    return 0
