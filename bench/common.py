"""What the benchmarks share: where their database is, and emptying and migrating it."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable

from sqlalchemy import func, select, text

from storage import Database, migrate


def bench_url(url: str | None, name: str) -> tuple[str, tempfile.TemporaryDirectory | None]:
    """``url``, or a fresh SQLite file in a temporary directory (returned too: clean it up)."""
    if url:
        return url, None
    tmp = tempfile.TemporaryDirectory(prefix=f"kanal-bench-{name}-")
    return f"sqlite+aiosqlite:///{tmp.name}/bench.sqlite3", tmp


async def empty_schema(db: Database) -> None:
    """PostgreSQL: drop and recreate schema ``public`` (use a database of its own)."""
    async with db.engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))


async def migrated(db: Database, *, reset: bool) -> None:
    """Migrate ``db`` to the newest schema; with ``reset`` on PostgreSQL, empty it first."""
    if reset and db.dialect == "postgresql":
        await empty_schema(db)
    await migrate.upgrade(db)


async def row_count(db: Database, model) -> int:
    async with db.unit_of_work() as uow:
        return (await uow.session.execute(select(func.count()).select_from(model))).scalar_one()


def add_database_options(p: argparse.ArgumentParser, what: str) -> None:
    """``--database-url`` (default ``$KANAL_BENCH_DATABASE_URL``), ``--reset`` and ``--no-seed``
    (reuse the ``what`` already in the database) of the benchmarks that seed a large table."""
    p.add_argument(
        "--database-url",
        default=os.environ.get("KANAL_BENCH_DATABASE_URL"),
        help="PostgreSQL (or SQLite) URL instead of a temporary SQLite file (default: $KANAL_BENCH_DATABASE_URL)",
    )
    p.add_argument("--reset", action="store_true", help="PostgreSQL: drop and recreate schema public first")
    p.add_argument("--no-seed", action="store_true", help=f"reuse the {what} already in --database-url")


async def seed_or_reuse(
    db: Database, model, what: str, *, no_seed: bool, announce: str, seed: Callable[[], Awaitable[float]]
) -> float | None:
    """Seed an empty ``model`` table with ``seed()`` (its seconds, returned) or, with ``no_seed``,
    reuse the rows there; refuses to seed on top of existing rows."""
    existing = await row_count(db, model)
    if no_seed:
        print(f"reusing {existing:,} {what}", file=sys.stderr)
        return None
    if existing:
        raise SystemExit(
            f"{db.url.split('@')[-1]} already holds {existing:,} {what}: use --reset (drops schema public) or --no-seed"
        )
    print(announce, file=sys.stderr)
    seconds = await seed()
    print(f"seeded in {seconds:.1f} s", file=sys.stderr)
    return seconds
