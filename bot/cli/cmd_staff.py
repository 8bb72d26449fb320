"""`kanal staff list` and `kanal staff revoke USER`: who holds a staff role, and taking it away
(audited; takes effect at the person's next message on every channel)."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime

from bot.logs import escape_controls
from bot.services.staff import revoke, staff_members
from storage import Database

COMMANDS = ("staff",)


def add_parsers(sub) -> None:
    staff = sub.add_parser(
        "staff",
        help="list officers and coordinators, revoke a staff role",
        description="Officers and coordinators: list them, or take a role away when someone leaves.",
    )
    ssub = staff.add_subparsers(dest="staff_command", metavar="ACTION", required=True)
    ssub.add_parser(
        "list",
        help="every officer and coordinator",
        description="One line per person: user id, role, OPD, channel, masked chat id or phone number, "
        "since when they hold the role, and the name they chat under.",
    )
    rev = ssub.add_parser(
        "revoke",
        help="make an officer or coordinator a citizen again",
        description="Take the staff role away at once, on every channel; the person keeps using the bot "
        "as a citizen. Recorded in the audit trail.",
    )
    rev.add_argument("user", metavar="USER", type=int, help="the user id shown by `kanal staff list`")


async def run(args: argparse.Namespace, db: Database, settings, now: datetime) -> int:
    if args.staff_command == "list":
        return await _list(db)
    return await _revoke(db, args.user, now)


async def _list(db: Database) -> int:
    async with db.unit_of_work() as uow:
        members = await staff_members(uow)
    if not members:
        print("no officers or coordinators (make an invitation code: kanal invite --role ...)")
        return 0
    print(f"{'USER':>6}  {'ROLE':<12} {'OPD':<10} {'CHANNEL':<9} {'IDENTITY':<10} {'SINCE':<10}  NAME")
    for m in members:
        since = m.since.strftime("%Y-%m-%d") if m.since else "-"
        head = f"{m.user_id:>6}  {m.role:<12} {m.opd_code or '-':<10} {m.channel:<9} {m.identity:<10}"
        print(f"{head} {since:<10}  {escape_controls(m.name)}")
    return 0


async def _revoke(db: Database, user_id: int, now: datetime) -> int:
    async with db.unit_of_work() as uow:
        user = await uow.users.get_user(user_id)
        if user is None or user.erased_at is not None or user.role not in ("officer", "coordinator"):
            print(f"kanal: user {user_id} holds no staff role (see kanal staff list)", file=sys.stderr)
            return 2
        role, opd = user.role, user.opd_code
        await revoke(uow, user, actor_user_id=None, now=now, via="cli")
        await uow.commit()
    print(f"user {user_id}: role {role}{' of ' + opd if opd else ''} revoked; they are a citizen now")
    return 0
