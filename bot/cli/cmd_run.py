"""`kanal run`: start the bot (web chat, Telegram, WhatsApp, outbox sender, scheduler) and keep
it running until it is stopped."""

from __future__ import annotations

import argparse

from bot.app import KanalApp

COMMANDS = ("run",)
NEEDS = "nothing"  # the app opens (and migrates) its own database


def add_parsers(sub) -> None:
    run = sub.add_parser(
        "run",
        help="start the bot (web chat, Telegram, WhatsApp, outbox sender, scheduler)",
        description="Start the bot. Migrates the database and loads the region on first start unless --no-migrate.",
    )
    run.add_argument(
        "--no-migrate", action="store_true", help="refuse to start on an un-migrated database instead of migrating it"
    )


async def run(args: argparse.Namespace, db, settings, now) -> int:
    await KanalApp(settings).run_forever(auto_migrate=not args.no_migrate)
    return 0
