"""Engine, sessions and the unit of work.

One :class:`UnitOfWork` per update or task: it opens one session and one transaction, and rolls
back unless :meth:`UnitOfWork.commit` was called. On SQLite every transaction starts with
``BEGIN IMMEDIATE`` so concurrent writers queue on the busy timeout instead of failing on a
read-to-write upgrade.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator
from typing import Any

import orjson
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from storage import sqlite_driver
from storage.complaint_repo import ComplaintRepo
from storage.core_repo import Repo
from storage.forum_repo import ForumRepo
from storage.skm_repo import SkmRepo
from storage.sla_repo import SlaRepo

log = logging.getLogger(__name__)
WRITER_WAIT = 30.0  # seconds, like the busy timeout


class StorageError(Exception):
    """The database is not usable (unreachable, not migrated, ...). ``str()`` says what to do."""


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    # JSON columns (conversation state, outbox payloads, audit details) through orjson: several
    # times faster than the json module both ways, same documents
    kwargs.setdefault("json_serializer", _json_dumps)
    kwargs.setdefault("json_deserializer", orjson.loads)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        # one trip to aiosqlite's thread per statement instead of four (storage/sqlite_driver.py)
        engine = create_async_engine(
            url, connect_args={"timeout": 30, "async_creator_fn": sqlite_driver.connect}, **kwargs
        )

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_connect(dbapi_conn, _record) -> None:  # pragma: no cover - driver hook
            # let SQLAlchemy, not the sqlite3 module, decide when transactions begin
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _sqlite_begin(conn) -> None:  # pragma: no cover - driver hook
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


class Database:
    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = create_engine(url, **engine_kwargs)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=True)
        # other processes on the same SQLite file still queue on the busy timeout
        self._writer: asyncio.Lock | None = asyncio.Lock() if self.engine.dialect.name == "sqlite" else None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextlib.asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[UnitOfWork]:
        # SQLite has one writer at a time and every transaction here is a writer (BEGIN
        # IMMEDIATE). Queue for it on an asyncio lock: the next unit of work starts the moment the
        # last one ends, instead of sleeping in SQLite's busy handler and polling for the lock.
        queued = False
        if self._writer is not None:
            try:
                queued = await asyncio.wait_for(self._writer.acquire(), WRITER_WAIT)
            except TimeoutError:  # never a deadlock: fall back to SQLite's own busy timeout
                log.warning("SQLite writer queue: no turn for %.0f s; going ahead without it", WRITER_WAIT)
        try:
            async with self.sessions() as session:
                uow = UnitOfWork(session)
                try:
                    yield uow
                finally:
                    if not uow.committed:
                        # detach first: objects read in a read-only unit of work stay usable
                        session.expunge_all()
                        await session.rollback()
        finally:
            if queued:
                self._writer.release()

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


class UnitOfWork:
    """One session, one transaction, and the repositories that work in it. Rolls back unless
    committed. Flows, jobs and services reach the database only through these repositories."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.committed = False
        self._after_commit: list = []

    @functools.cached_property
    def core(self) -> Repo:
        """Users, conversation state, inbound dedupe, outbox, audit, region, invites."""
        return Repo(self.session)

    @functools.cached_property
    def complaints(self) -> ComplaintRepo:
        return ComplaintRepo(self.session)

    @functools.cached_property
    def skm(self) -> SkmRepo:
        return SkmRepo(self.session)

    @functools.cached_property
    def forum(self) -> ForumRepo:
        return ForumRepo(self.session)

    @functools.cached_property
    def sla(self) -> SlaRepo:
        return SlaRepo(self.session)

    async def flush(self) -> None:
        """Write what the repositories hold so far (ids of new rows), without committing."""
        await self.session.flush()

    def after_commit(self, callback) -> None:
        """Run ``callback()`` once the transaction is committed (e.g. wake the outbox sender)."""
        self._after_commit.append(callback)

    async def commit(self) -> None:
        await self.session.commit()
        self.committed = True
        callbacks, self._after_commit = self._after_commit, []
        for cb in callbacks:
            cb()
