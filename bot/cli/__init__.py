"""The ``kanal`` command (also ``python -m bot``)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any

from bot import __version__

EPILOG = "Konfigurasi lewat variabel lingkungan KANAL_* (lihat `kanal config`). / Configured through KANAL_* environment variables."


def _extensions():
    """Sub-command modules: each has add_parsers(sub), COMMANDS (its top-level names) and
    async run(args, db, settings, now) -> exit code, called on a migrated database."""
    from bot.cli import cmd_forum as cli_forum
    from bot.cli import cmd_jobs as cli_jobs
    from bot.cli import cmd_reports as cli_reports

    return (cli_reports, cli_jobs, cli_forum)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="kanal",
        description="Kanal Partisipasi: SKM, pengaduan dan forum konsultasi publik lewat chat.",
        epilog=EPILOG,
    )
    p.add_argument("--version", action="version", version=f"kanal {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="start the bot (web chat, Telegram, WhatsApp, outbox sender, scheduler)",
        description="Start the bot. Migrates the database and loads the region on first start unless --no-migrate.",
    )
    run.add_argument(
        "--no-migrate", action="store_true", help="refuse to start on an un-migrated database instead of migrating it"
    )

    db = sub.add_parser("db", help="database schema", description="Database schema management (Alembic).")
    dbsub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    dbsub.add_parser(
        "upgrade",
        help="migrate the database to the newest schema",
        description="Apply all migrations to KANAL_DATABASE_URL.",
    )
    dbsub.add_parser(
        "current", help="show the schema revision", description="Print the current and the newest schema revision."
    )

    region = sub.add_parser(
        "region",
        help="OPDs, units and services",
        description="Load or show the region (OPDs, service units, services, routing keywords, SLA, holidays).",
    )
    rsub = region.add_subparsers(dest="region_command", metavar="ACTION", required=True)
    load = rsub.add_parser(
        "load",
        help="validate and load a region TOML file",
        description="Validate FILE and load it into the database. OPDs/units no longer named are deactivated, not deleted.",
    )
    load.add_argument("file", metavar="FILE")
    rsub.add_parser("show", help="print the loaded region", description="Print the region stored in the database.")

    inv = sub.add_parser(
        "invite",
        help="make a one-time code for an officer or coordinator",
        description="Print a one-time invitation code (last line). The person sends /gabung CODE to the bot to take the role.",
    )
    inv.add_argument("--role", required=True, choices=["officer", "coordinator"], help="the role to grant")
    inv.add_argument("--opd", metavar="CODE", help="OPD code (required for --role officer)")
    inv.add_argument("--valid-days", type=int, default=7, metavar="N", help="days the code stays valid (default 7)")

    for ext in _extensions():
        ext.add_parsers(sub)
    sub.add_parser(
        "config",
        help="show the effective configuration (secrets masked)",
        description="Print every KANAL_* setting and its effective value; secrets are masked.",
    )
    return p


def run_loop(main: Coroutine[Any, Any, int], event_loop: str = "uvloop") -> int:
    """Run ``main`` on uvloop (libuv's event loop: about an eighth less CPU per turn, measured with
    bench.turn) or, when asked for or where uvloop is not installed (Windows), on asyncio's own."""
    if event_loop == "uvloop":
        try:
            import uvloop
        except ImportError:
            pass
        else:
            return uvloop.run(main)
    return asyncio.run(main)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    from bot.settings import Settings, SettingsError

    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"kanal: configuration error: {exc}", file=sys.stderr)
        return 2
    from bot.logs import setup_logging

    setup_logging(settings.log_level, [settings.telegram_token, settings.telegram_webhook_secret])
    try:
        return run_loop(_dispatch(args, settings), settings.event_loop)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # one clear line instead of a traceback
        from sqlalchemy.exc import DBAPIError

        from bot.domain.region import RegionError
        from storage import StorageError

        if isinstance(exc, (RegionError, StorageError, RuntimeError, SettingsError)):
            print(f"kanal: {exc}", file=sys.stderr)
            return 1
        if isinstance(exc, (OSError, DBAPIError)):  # server down, wrong host or port, refused login
            from sqlalchemy.engine import make_url

            where = make_url(settings.database_url).render_as_string(hide_password=True)
            cause = getattr(exc, "orig", None) or exc  # the driver's words, never the statement
            said = (str(cause).strip().splitlines() or [""])[0][:200]
            print(
                f"kanal: cannot reach the database {where} ({type(cause).__name__}: {said}); "
                "check KANAL_DATABASE_URL and that the server runs",
                file=sys.stderr,
            )
            return 1
        raise


async def _dispatch(args: argparse.Namespace, settings) -> int:
    if args.command == "run":
        from bot.app import KanalApp

        await KanalApp(settings).run_forever(auto_migrate=not args.no_migrate)
        return 0
    if args.command == "config":
        for var, value, doc in settings.describe():
            print(f"{var:32} {value:40} {doc}")
        return 0

    from bot.domain.clock import SystemClock
    from storage import Database, Repo, StorageError, migrate

    db = Database(settings.database_url)
    try:
        if args.command == "db":
            if args.db_command == "upgrade":
                await migrate.upgrade(db)
                print(f"database at revision {migrate.head_revision()}")
            else:
                print(f"current: {await migrate.current_revision(db) or '(empty)'}; newest: {migrate.head_revision()}")
            return 0
        if not await migrate.is_up_to_date(db):
            raise StorageError("the database is not migrated: run `kanal db upgrade` first")
        now = SystemClock().now()
        for ext in _extensions():
            if args.command in ext.COMMANDS:
                return await ext.run(args, db, settings, now)
        if args.command == "region":
            from bot.domain.region import load_region_file
            from bot.services.regions import store_region

            if args.region_command == "load":
                region = load_region_file(args.file)
                counts = await store_region(db, region, now)
                print(
                    f"region {region.code} ({region.name}) loaded: {counts['opds']} OPD, {counts['units']} units, {counts['services']} services"
                )
                return 0
            async with db.unit_of_work() as uow:
                repo = Repo(uow.session)
                reg = await repo.region()
                if reg is None:
                    print(
                        "no region loaded: run `kanal region load FILE` (or `kanal run`, which loads the demo region)"
                    )
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
        if args.command == "invite":
            from handlers.account import new_invite_code

            if args.role == "officer" and not args.opd:
                print("kanal: --opd CODE is required for --role officer", file=sys.stderr)
                return 2
            if not 1 <= args.valid_days <= 90:
                print("kanal: --valid-days must be 1-90", file=sys.stderr)
                return 2
            async with db.unit_of_work() as uow:
                repo = Repo(uow.session)
                opd_code = None
                if args.role == "officer":
                    opd = await repo.get_opd(args.opd)
                    if opd is None or not opd.active:
                        known = ", ".join(o.code for o in await repo.opds())
                        print(f"kanal: unknown OPD {args.opd!r}; known: {known}", file=sys.stderr)
                        return 2
                    opd_code = opd.code
                code = new_invite_code()
                repo.create_invite(
                    code=code, role=args.role, opd_code=opd_code, now=now, valid_for=timedelta(days=args.valid_days)
                )
                repo.audit(
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
    finally:
        await db.dispose()
    return 2
