"""`kanal export skm|forum`: the SKM results of a period (XLSX workbook or CSV) and one forum's
attendance and written input."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.domain.skm import PeriodError, parse_period
from bot.services.forum_export import export_forum
from bot.services.skm_export import build_skm_csv, build_skm_workbook

COMMANDS = ("export",)


def add_parsers(sub) -> None:
    exp = sub.add_parser(
        "export",
        help="export SKM results or a forum's attendance and input (XLSX or CSV)",
        description="Write the SKM results of a period: XLSX (summary, tabulation per unit, respondent profile, "
        "suggestions, quality flags) or CSV (the summary).",
    )
    esub = exp.add_subparsers(dest="export_what", metavar="WHAT", required=True)
    skm = esub.add_parser("skm", help="SKM / IKM results", description="SKM results for a period.")
    skm.add_argument(
        "--period",
        default="semester-ini",
        metavar="PERIOD",
        help="2026-11, 2026-Q4, 2026-S2, 2026, 2026-01-01..2026-03-31, bulan-ini, kuartal-ini, "
        "semester-ini (default), tahun-ini",
    )
    skm.add_argument("--format", choices=("xlsx", "csv"), default=None, help="default: from the file name, else xlsx")
    skm.add_argument("--opd", metavar="CODE", help="only this OPD's units")
    skm.add_argument("-o", "--output", required=True, metavar="FILE", help="where to write ('-' = standard output)")
    forum = esub.add_parser(
        "forum",
        help="one forum's attendance and written input",
        description="Attendance (registrations) and written input of one forum: XLSX (two sheets) or CSV (the input). "
        "Anonymous input carries no name.",
    )
    forum.add_argument("forum_id", type=int, metavar="ID", help="the forum number (kanal forum list)")
    forum.add_argument("--format", choices=("xlsx", "csv"), default=None, help="default: from the file name, else xlsx")
    forum.add_argument("-o", "--output", required=True, metavar="FILE", help="where to write ('-' = standard output)")


async def run(args: argparse.Namespace, db, settings, now) -> int:
    if args.export_what == "forum":
        return await export_forum(args, db)
    return await _export(args, db, settings, now)


async def _export(args, db, settings, now) -> int:
    async with db.unit_of_work() as uow:
        region = await uow.region.region()
        if region is None:
            print("kanal: no region loaded: run `kanal region load FILE` first", file=sys.stderr)
            return 1
        today = now.astimezone(ZoneInfo(region.timezone)).date()
        try:
            period = parse_period(args.period, today)
        except PeriodError as exc:
            print(f"kanal: --period: {exc}", file=sys.stderr)
            return 2
        if args.opd and await uow.region.get_opd(args.opd.upper()) is None:
            print(f"kanal: unknown OPD {args.opd!r}", file=sys.stderr)
            return 2
    fmt = args.format or ("csv" if str(args.output).lower().endswith(".csv") else "xlsx")
    build = build_skm_csv if fmt == "csv" else build_skm_workbook
    data = await build(db, period=period, opd_code=args.opd.upper() if args.opd else None)
    if args.output == "-":
        sys.stdout.buffer.write(data)
    else:
        Path(args.output).write_bytes(data)
        print(f"SKM {period.label_id} ({period.key}) written to {args.output} ({fmt}, {len(data):,} bytes)")
    return 0
