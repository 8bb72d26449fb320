"""`kanal region load FILE|show`: validate and load the region file (OPDs, units, services,
routing keywords, SLA, holidays), or print the region stored in the database."""

from __future__ import annotations

import argparse
from datetime import datetime

from bot.domain.region import load_region_file
from bot.services.regions import store_region
from storage import Database

COMMANDS = ("region",)


def add_parsers(sub) -> None:
    region = sub.add_parser(
        "region",
        help="OPDs, units and services",
        description="Load or show the region (OPDs, service units, services, routing keywords, SLA, holidays).",
    )
    rsub = region.add_subparsers(dest="region_command", metavar="ACTION", required=True)
    load = rsub.add_parser(
        "load",
        help="validate and load a region TOML file",
        description="Validate FILE and load it into the database. "
        "OPDs/units no longer named are deactivated, not deleted.",
    )
    load.add_argument("file", metavar="FILE")
    rsub.add_parser("show", help="print the loaded region", description="Print the region stored in the database.")


async def run(args: argparse.Namespace, db: Database, settings, now: datetime) -> int:
    if args.region_command == "load":
        region = load_region_file(args.file)
        counts = await store_region(db, region, now)
        print(
            f"region {region.code} ({region.name}) loaded: "
            f"{counts['opds']} OPD, {counts['units']} units, {counts['services']} services"
        )
        return 0
    return await _show(db)


async def _show(db: Database) -> int:
    async with db.unit_of_work() as uow:
        repo = uow.region
        reg = await repo.region()
        if reg is None:
            print("no region loaded: run `kanal region load FILE` (or `kanal run`, which loads the demo region)")
            return 1
        print(f"{reg.code}  {reg.name}  ({reg.timezone})")
        for opd in await repo.opds():
            print(f"  {opd.code:12} {opd.name}  [{len(opd.keywords)} keywords]")
            for unit in await repo.units(opd.code):
                services = await repo.services(unit.code)
                print(
                    f"      {unit.code:16} {unit.name}  (population {unit.population or '-'}, {len(services)} services)"
                )
    return 0
