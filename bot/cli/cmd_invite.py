"""`kanal invite --role officer|coordinator`: a one-time code a person sends to the bot
(/gabung CODE) to take a staff role."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timedelta

from bot.services.invites import new_invite_code
from storage import Database

COMMANDS = ("invite",)


def add_parsers(sub) -> None:
    inv = sub.add_parser(
        "invite",
        help="make a one-time code for an officer or coordinator",
        description="Print a one-time invitation code (last line). "
        "The person sends /gabung CODE to the bot to take the role.",
    )
    inv.add_argument("--role", required=True, choices=["officer", "coordinator"], help="the role to grant")
    inv.add_argument("--opd", metavar="CODE", help="OPD code (required for --role officer)")
    inv.add_argument("--valid-days", type=int, default=7, metavar="N", help="days the code stays valid (default 7)")


async def run(args: argparse.Namespace, db: Database, settings, now: datetime) -> int:
    if args.role == "officer" and not args.opd:
        print("kanal: --opd CODE is required for --role officer", file=sys.stderr)
        return 2
    if not 1 <= args.valid_days <= 90:
        print("kanal: --valid-days must be 1-90", file=sys.stderr)
        return 2
    async with db.unit_of_work() as uow:
        opd_code = None
        if args.role == "officer":
            opd = await uow.region.get_opd(args.opd)
            if opd is None or not opd.active:
                known = ", ".join(o.code for o in await uow.region.opds())
                print(f"kanal: unknown OPD {args.opd!r}; known: {known}", file=sys.stderr)
                return 2
            opd_code = opd.code
        code = new_invite_code()
        uow.invites.create_invite(
            code=code, role=args.role, opd_code=opd_code, now=now, valid_for=timedelta(days=args.valid_days)
        )
        uow.audit.audit(
            at=now,
            action="invite_created",
            actor_user_id=None,
            subject_type="invite",
            detail={"role": args.role, "opd": opd_code, "via": "cli"},
        )
        await uow.commit()
    who = f"officer of {opd_code}" if opd_code else "coordinator"
    print(f"One-time code for an {who}, valid {args.valid_days} days. Send to the bot: /gabung {code}")
    print(code)
    return 0
