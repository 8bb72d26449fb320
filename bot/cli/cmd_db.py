"""`kanal db upgrade|current`: the database schema (Alembic migrations)."""

from __future__ import annotations

import argparse

from storage import Database, migrate

COMMANDS = ("db",)
NEEDS = "database"  # works on a database that is not migrated yet


def add_parsers(sub) -> None:
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


async def run(args: argparse.Namespace, db: Database, settings, now) -> int:
    if args.db_command == "upgrade":
        await migrate.upgrade(db)
        print(f"database at revision {migrate.head_revision()}")
    else:
        print(f"current: {await migrate.current_revision(db) or '(empty)'}; newest: {migrate.head_revision()}")
    return 0
