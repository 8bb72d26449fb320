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
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

import orjson
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from storage import sqlite_driver
from storage.audit_repo import AuditRepo
from storage.complaint_repo import ComplaintRepo
from storage.core_repo import Repo
from storage.erasure import REWRITE_FILE, PersonalData
from storage.follower_repo import FollowerRepo
from storage.forum_repo import ForumRepo
from storage.inbound_repo import InboundRepo
from storage.inbox_repo import InboxRepo
from storage.invite_repo import InviteRepo
from storage.lapor_repo import LaporRepo
from storage.outbox_repo import OutboxRepo
from storage.public_repo import PublicRepo
from storage.push_repo import PushRepo
from storage.region_repo import RegionRepo
from storage.routing_repo import RoutingRepo
from storage.skm_repo import SkmRepo
from storage.sla_repo import SlaRepo
from storage.sms_repo import SmsRepo
from storage.unit_state import PendingWrites, ReadCache, attach, take_released_media
from storage.user_repo import UserRepo

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
            # deleted and overwritten content is zeroed in the file, not left in free space
            # (erasure, storage/erasure.py, must reach the bytes on disk)
            cur.execute("PRAGMA secure_delete=ON")
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
        #: called after a unit of work committed with the media file references whose rows it
        #: deleted (``unit_state.release_media``), once the writer queue is free; set by the app
        self.on_media_released: Callable[[set[str]], Awaitable[None]] | None = None
        #: the SP4N-LAPOR! bridge is on (set by the app): complaint changes also write their
        #: ``lapor_queue`` rows, in the same transaction (``storage.lapor_repo``)
        self.lapor_bridge = False

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
                uow = UnitOfWork(session, lapor_bridge=self.lapor_bridge)
                try:
                    yield uow
                finally:
                    if not uow.committed:
                        await uow.rollback()
                rewrite = uow.committed and session.info.pop(REWRITE_FILE, False) and self.dialect == "sqlite"
            if rewrite:  # still this unit of work's turn at the writer: nobody writes meanwhile
                await self._rewrite_file()
        finally:
            if queued:
                self._writer.release()
        if uow.released_media and self.on_media_released is not None:
            await self._media_released(uow)

    async def _rewrite_file(self) -> None:
        """``VACUUM`` after an erasure on SQLite (see :data:`storage.erasure.REWRITE_FILE`): the
        file is written anew, so no copy of an erased row stays in it. A failure is logged; the
        rows themselves are gone either way."""
        started = time.monotonic()
        try:
            async with self.engine.connect() as conn:
                raw = await conn.get_raw_connection()
                await raw.driver_connection.execute("VACUUM")
                await raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except Exception as exc:
            log.warning("SQLite file not rewritten after an erasure: %s", type(exc).__name__)
            return
        log.info("SQLite file rewritten after an erasure in %.1f s", time.monotonic() - started)

    async def _media_released(self, uow: UnitOfWork) -> None:
        refs, uow.released_media = uow.released_media, set()
        try:
            await self.on_media_released(refs)
        except Exception as exc:  # the rows are gone; a file left behind is logged, never an error
            log.warning("media files of deleted rows not removed: %s", type(exc).__name__)

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


class UnitOfWork:
    """One session, one transaction, and the repositories that work in it. Rolls back unless
    committed. Flows, jobs and services reach the database only through these repositories.

    The unit of work owns the rows that wait for its commit (:attr:`pending`: outbox and audit rows,
    a group commit's SKM answers): :meth:`commit` writes them first, one executemany per statement,
    and a repository that reads those tables writes them before it reads. It also owns the
    reference rows read once per transaction (:attr:`reads`: region, units, services)."""

    def __init__(self, session: AsyncSession, *, lapor_bridge: bool = False) -> None:
        self.session = session
        self.lapor_bridge = lapor_bridge
        self.committed = False
        self._after_commit: list = []
        #: media file references whose rows committed transactions of this unit deleted
        self.released_media: set[str] = set()
        self.pending = PendingWrites(session)
        self.reads = ReadCache()
        attach(session, self.pending, self.reads)

    # ---- repositories, by table group ---------------------------------------------------
    @functools.cached_property
    def users(self) -> UserRepo:
        """Users and their conversation state; erasure."""
        return UserRepo(self.session, self.pending)

    @functools.cached_property
    def personal(self) -> PersonalData:
        """Where a person's data lives: erasure (/hapusdata, retention) and the outbox horizon."""
        return PersonalData(self.session, self.pending)

    @functools.cached_property
    def inbound(self) -> InboundRepo:
        """Inbound dedupe rows."""
        return InboundRepo(self.session)

    @functools.cached_property
    def inbox(self) -> InboxRepo:
        """Webhook bodies stored before the platform was acknowledged, until processed."""
        return InboxRepo(self.session)

    @functools.cached_property
    def outbox(self) -> OutboxRepo:
        """Outgoing messages: new rows, claims, delivery outcomes."""
        return OutboxRepo(self.session, self.pending)

    @functools.cached_property
    def audit(self) -> AuditRepo:
        return AuditRepo(self.session, self.pending)

    @functools.cached_property
    def region(self) -> RegionRepo:
        """The region, its OPDs, units and services."""
        return RegionRepo(self.session, self.reads)

    @functools.cached_property
    def push(self) -> PushRepo:
        """Web Push subscriptions of web chat people."""
        return PushRepo(self.session)

    @functools.cached_property
    def sms(self) -> SmsRepo:
        """The numbers behind SMS people's keys, STOP opt-outs, SMS sent per day."""
        return SmsRepo(self.session)

    @functools.cached_property
    def routing(self) -> RoutingRepo:
        """The region's routing examples and trained models."""
        return RoutingRepo(self.session)

    @functools.cached_property
    def invites(self) -> InviteRepo:
        return InviteRepo(self.session)

    @functools.cached_property
    def core(self) -> Repo:
        """All of the above behind one object (the methods keep their names)."""
        return Repo(self.session, pending=self.pending, reads=self.reads)

    @functools.cached_property
    def complaints(self) -> ComplaintRepo:
        return ComplaintRepo(self.session, lapor=self.lapor if self.lapor_bridge else None)

    @functools.cached_property
    def lapor(self) -> LaporRepo:
        """The SP4N-LAPOR! bridge: its queue of calls, the complaints' TrackingIDs, its state."""
        return LaporRepo(self.session)

    @functools.cached_property
    def followers(self) -> FollowerRepo:
        """Followers of complaints; the officers' stored reply templates."""
        return FollowerRepo(self.session)

    @functools.cached_property
    def skm(self) -> SkmRepo:
        return SkmRepo(self.session)

    @functools.cached_property
    def forum(self) -> ForumRepo:
        return ForumRepo(self.session)

    @functools.cached_property
    def sla(self) -> SlaRepo:
        return SlaRepo(self.session)

    @functools.cached_property
    def public(self) -> PublicRepo:
        """Reads of the public transparency page (no text, no people)."""
        return PublicRepo(self.session)

    # ---- the transaction ----------------------------------------------------------------
    def begin_group_commit(self) -> None:
        """Mark this transaction as carrying several people's turns: some single-row writes (an
        SKM answer) then wait in :attr:`pending` for the commit too."""
        self.pending.group_commit = True

    async def flush(self) -> None:
        """Write the new and changed ORM objects (a new row gets its id), without committing. The
        pending outbox, audit and SKM rows stay pending: they are written at the commit, a whole
        group commit's in one statement per table."""
        await self.session.flush()

    async def detach_all(self, *, keep: Iterable[object] = ()) -> None:
        """Write the changed ORM objects (not the pending rows) and detach every loaded object but
        ``keep``: what runs next reads the database afresh (a group commit's next turn)."""
        session = self.session
        if session.new or session.dirty or session.deleted:
            await session.flush()
        kept = {id(obj) for obj in keep}
        for obj in list(session):
            if id(obj) not in kept:
                session.expunge(obj)

    def after_commit(self, callback) -> None:
        """Run ``callback()`` once the transaction is committed (e.g. wake the outbox sender)."""
        self._after_commit.append(callback)

    async def commit(self) -> None:
        await self.pending.write()
        await self.session.commit()
        self.committed = True
        self.released_media |= take_released_media(self.session)
        self._end_transaction()
        callbacks, self._after_commit = self._after_commit, []
        for cb in callbacks:
            cb()

    async def rollback(self) -> None:
        """Undo the transaction (objects read in it stay usable, detached)."""
        self.session.expunge_all()
        await self.session.rollback()
        take_released_media(self.session)
        self._end_transaction()

    def _end_transaction(self) -> None:
        """What belonged to the transaction that ended: rows not written, the rows read in it."""
        self.pending.discard()
        self.reads.clear()
