"""What the benchmarks share: where their database is, and emptying and migrating it."""

from __future__ import annotations

import tempfile

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
