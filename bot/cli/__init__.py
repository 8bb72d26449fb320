"""The ``kanal`` command (also ``python -m bot``): the parser assembled from one module per command
group (``cmd_*.py``), settings and logging, and one clear line instead of a traceback on errors.

Each command module has ``COMMANDS`` (its top-level names), ``add_parsers(sub)`` and
``async run(args, db, settings, now) -> exit code``; ``NEEDS`` says what it needs opened first:
``"nothing"``, ``"database"`` (possibly not migrated yet) or ``"migrated"`` (the default).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Coroutine
from types import ModuleType
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from bot import __version__
from bot.cli import (
    cmd_config,
    cmd_db,
    cmd_forum,
    cmd_invite,
    cmd_jobs,
    cmd_lapor,
    cmd_qr,
    cmd_region,
    cmd_reports,
    cmd_routing,
    cmd_run,
    cmd_staff,
)
from bot.domain.clock import SystemClock
from bot.domain.region import RegionError
from bot.logs import secret_values, setup_logging
from bot.services.routing_service import HistoryError
from bot.settings import Settings, SettingsError
from storage import Database, StorageError, migrate

try:
    import uvloop
except ImportError:  # not available on Windows
    uvloop = None

EPILOG = (
    "Konfigurasi lewat variabel lingkungan KANAL_* (lihat `kanal config`). "
    "/ Configured through KANAL_* environment variables."
)

#: the command groups, in the order ``kanal --help`` lists them
GROUPS: tuple[ModuleType, ...] = (
    cmd_run,
    cmd_db,
    cmd_region,
    cmd_routing,
    cmd_lapor,
    cmd_invite,
    cmd_staff,
    cmd_reports,
    cmd_qr,
    cmd_jobs,
    cmd_forum,
    cmd_config,
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="kanal",
        description="Kanal Partisipasi: SKM, pengaduan dan forum konsultasi publik lewat chat.",
        epilog=EPILOG,
    )
    p.add_argument("--version", action="version", version=f"kanal {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for group in GROUPS:
        group.add_parsers(sub)
    return p


def run_loop(main: Coroutine[Any, Any, int], event_loop: str = "uvloop") -> int:
    """Run ``main`` on uvloop (libuv's event loop: about an eighth less CPU per turn, measured with
    bench.turn) or, when asked for or where uvloop is not installed (Windows), on asyncio's own."""
    if event_loop == "uvloop" and uvloop is not None:
        return uvloop.run(main)
    return asyncio.run(main)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"kanal: configuration error: {exc}", file=sys.stderr)
        return 2
    setup_logging(settings.log_level, secret_values(settings))
    try:
        return run_loop(_dispatch(args, settings), settings.event_loop)
    except KeyboardInterrupt:
        return 130
    except (RegionError, StorageError, RuntimeError, SettingsError, HistoryError) as exc:  # one clear line
        print(f"kanal: {exc}", file=sys.stderr)
        return 1
    except (OSError, DBAPIError) as exc:  # server down, wrong host or port, refused login
        where = make_url(settings.database_url).render_as_string(hide_password=True)
        cause = getattr(exc, "orig", None) or exc  # the driver's words, never the statement
        said = (str(cause).strip().splitlines() or [""])[0][:200]
        print(
            f"kanal: cannot reach the database {where} ({type(cause).__name__}: {said}); "
            "check KANAL_DATABASE_URL and that the server runs",
            file=sys.stderr,
        )
        return 1


async def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    """Run the command ``args`` names: open (and check) the database its group needs, call it."""
    group = next((g for g in GROUPS if args.command in g.COMMANDS), None)
    if group is None:
        return 2
    needs = getattr(group, "NEEDS", "migrated")
    if needs == "nothing":
        return await group.run(args, None, settings, None)
    db = Database(settings.database_url)
    db.lapor_bridge = settings.lapor_enabled  # a command's complaint changes reach SP4N-LAPOR! too
    try:
        if needs == "migrated" and not await migrate.is_up_to_date(db):
            raise StorageError("the database is not migrated: run `kanal db upgrade` first")
        return await group.run(args, db, settings, SystemClock().now())
    finally:
        await db.dispose()
