"""Shared fixtures. The same suite runs on SQLite (default) and on PostgreSQL when
``KANAL_TEST_DATABASE_URL`` is set (e.g. ``postgresql+asyncpg://postgres@127.0.0.1:5432/test``)."""

from __future__ import annotations

import asyncio
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.domain.clock import ManualClock
from bot.settings import Settings
from storage import Database, migrate
from storage.models import Base

PG_URL = os.environ.get("KANAL_TEST_DATABASE_URL") or None
BACKEND = "postgresql" if PG_URL else "sqlite"


def _database_of_worker(url: str, worker: str) -> str:
    """With ``pytest -n N`` (pytest-xdist) each worker runs on a database of its own beside the
    given one (``test`` → ``test_gw0``), created when missing: tests truncate every table."""
    import asyncpg
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"{base.database}_{worker}"

    async def create() -> None:
        conn = await asyncpg.connect(base.set(drivername="postgresql").render_as_string(hide_password=False))
        try:
            if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    return base.set(database=name).render_as_string(hide_password=False)


if PG_URL and os.environ.get("PYTEST_XDIST_WORKER"):
    PG_URL = _database_of_worker(PG_URL, os.environ["PYTEST_XDIST_WORKER"])
    os.environ["KANAL_TEST_DATABASE_URL"] = PG_URL  # for the modules that read it, and their processes


def pytest_report_header(config) -> str:
    return f"kanal database backend: {BACKEND}" + (f" ({PG_URL.split('@')[-1]})" if PG_URL else "")


def pytest_addoption(parser) -> None:
    parser.addoption("--run-slow", action="store_true", help="run the long variants of the fault suites")


def pytest_collection_modifyitems(config, items) -> None:
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="long variant: run with --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory) -> str:
    """Migrate once per session: a template SQLite file, or the PostgreSQL test database."""

    async def go(url: str, reset: bool) -> None:
        db = Database(url)
        try:
            if reset:
                async with db.engine.begin() as conn:
                    await conn.execute(text("DROP SCHEMA public CASCADE"))
                    await conn.execute(text("CREATE SCHEMA public"))
            await migrate.upgrade(db)
        finally:
            await db.dispose()

    if PG_URL:
        asyncio.run(go(PG_URL, reset=True))
        return PG_URL
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    asyncio.run(go(f"sqlite+aiosqlite:///{path}", reset=False))
    return str(path)


TABLES = [t.name for t in reversed(Base.metadata.sorted_tables)]


@pytest.fixture
async def db_url(migrated_template: str, tmp_path: Path) -> str:
    if PG_URL:
        db = Database(PG_URL)
        async with db.engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
        await db.dispose()
        return PG_URL
    target = tmp_path / "kanal.sqlite3"
    shutil.copyfile(migrated_template, target)
    return f"sqlite+aiosqlite:///{target}"


@pytest.fixture
async def db(db_url: str):
    database = Database(db_url)
    yield database
    await database.dispose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 11, 23, 2, 0, tzinfo=UTC))  # Monday 09:00 WIB


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    # no scheduler in test apps (a test alive at 07:00 WIB would get a digest); the tests of the
    # scheduler run jobs themselves or switch it on; web chat uploads in the test's own folder
    return Settings(
        database_url=db_url,
        http_port=0,
        languages=("id", "en"),
        scheduler_enabled=False,
        media_dir=str(tmp_path / "media"),
        # many tests file the same text from several citizens: the offer to follow a similar
        # complaint is switched on by its own tests (tests/flows/test_similar_*.py)
        similar_complaints=False,
    )


@pytest.fixture
async def web_app(settings):
    """The whole application on a free port, with the web chat (no Telegram)."""
    from bot.app import KanalApp

    application = KanalApp(settings)
    await application.start()
    yield application
    await application.stop()
