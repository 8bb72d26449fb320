"""Leader election: exactly one instance runs the scheduled jobs.

PostgreSQL: the leader holds a session-level ``pg_try_advisory_lock(SCHEDULER_LOCK_KEY)`` on a
dedicated connection of its own (a separate engine without a pool, in autocommit, so the lock is
never left behind in a pooled connection and no transaction stays open). Every ``interval``
seconds a follower tries to take the lock and the leader checks, on that same connection, that
the server still lists the lock as its own (``pg_locks``); an error or a check that does not
answer within ``timeout`` means the session is gone, and the instance steps down at once and
throws the connection away (closing it ends the session, so a lock it might still hold goes
with it). The session asks the server for TCP keepalives (10 s idle, 5 s × 3 probes), so when a
leader's machine vanishes without closing its socket the server ends the session, and frees the
lock, within about 25 s; with the default 15 s interval another instance takes over in under a
minute. A leader that dies normally (process killed, connection closed) frees it at once.

There is an unavoidable window of up to one interval in which a deposed leader has not noticed
yet, so jobs must be idempotent (reminders and digests are recorded rows, closes are
conditional updates). The job runner narrows it further by calling :meth:`Leadership.confirm`
right before each run.

SQLite: one process per database file (``kanal run`` claims the file, see ``storage.file_claim``), so
the instance is always the leader once started.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

# bigint key of the scheduler's advisory lock ("KANALSC"); the migration lock is 0x4B414E414C.
SCHEDULER_LOCK_KEY = 0x4B414E414C5343
#: the Telegram long-poller's ("KANALTG"): one instance polls, see bot/channels/telegram
TELEGRAM_POLL_LOCK_KEY = 0x4B414E414C5447

Callback = Callable[[], Awaitable[Any]]

_KEEPALIVE = ("SET tcp_keepalives_idle = 10", "SET tcp_keepalives_interval = 5", "SET tcp_keepalives_count = 3")
_HOLDS_LOCK = text(
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
    " AND granted AND classid = :hi AND objid = :lo AND objsubid = 1)"
)


class Leadership:
    """Leader election over the application's database.

    ``db`` is a :class:`storage.db.Database` (only ``db.dialect`` and ``db.engine.url`` are used).
    Callbacks are awaited in order when this instance becomes leader (``on_elected``) and when it
    stops being leader (``on_deposed``: connection lost, or :meth:`stop` — then BEFORE the lock is
    released, so jobs pause before another instance can start them). A failing ``on_elected``
    is logged and the instance steps down (it retries after ``interval``).
    """

    def __init__(
        self,
        db: Any,
        *,
        key: int = SCHEDULER_LOCK_KEY,
        interval: float = 15.0,
        timeout: float | None = None,
        on_elected: Callback | None = None,
        on_deposed: Callback | None = None,
        name: str = "kanal",
    ) -> None:
        self.db = db
        self.key = key
        self.interval = interval
        self.timeout = timeout if timeout is not None else max(interval, 1.0)
        self.name = name
        self._on_elected: list[Callback] = [on_elected] if on_elected else []
        self._on_deposed: list[Callback] = [on_deposed] if on_deposed else []
        self.is_leader = False
        self._elected = asyncio.Event()
        self._deposed = asyncio.Event()
        self._wake = asyncio.Event()
        self._io = asyncio.Lock()
        self._engine: AsyncEngine | None = None
        self._conn: AsyncConnection | None = None
        self._task: asyncio.Task | None = None
        self._started = False
        self._stopping = False
        self._last_error: str | None = None
        self.attempts = 0  # lock acquisitions tried (followers) — for tests and /healthz

    # ---- public API --------------------------------------------------------------------------

    @property
    def uses_lock(self) -> bool:
        return self.db.dialect == "postgresql"

    def subscribe(self, on_elected: Callback | None = None, on_deposed: Callback | None = None) -> None:
        """Add callbacks (the job runner uses this); the constructor's run first."""
        if on_elected:
            self._on_elected.append(on_elected)
        if on_deposed:
            self._on_deposed.append(on_deposed)

    async def start(self) -> None:
        if self._started:
            return
        self._started, self._stopping = True, False
        if not self.uses_lock:
            await self._elect()
            return
        self._engine = create_async_engine(self.db.engine.url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        self._task = asyncio.create_task(self._loop(), name=f"{self.name}-leadership")

    async def stop(self) -> None:
        """Step down (deposed callbacks, then the lock is released) and stop campaigning."""
        if not self._started:
            return
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.is_leader:
            await self._step_down("stopping", release=True)
        await self._drop_connection()
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None
        self._started = False

    async def wait_elected(self, timeout: float | None = None) -> bool:
        """True once this instance is leader; False if ``timeout`` seconds pass first."""
        if self._elected.is_set():
            return True
        try:
            await asyncio.wait_for(self._elected.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def wait_deposed(self, timeout: float | None = None) -> bool:
        """True once this instance, having been leader, is no longer; False on timeout."""
        if self._deposed.is_set():
            return True
        try:
            await asyncio.wait_for(self._deposed.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def confirm(self) -> bool:
        """Check with the server right now that the lock is still ours (steps down if not)."""
        if not self.is_leader:
            return False
        if not self.uses_lock:
            return True
        if await self._holds_lock():
            return True
        await self._step_down("lock not held any more")
        return False

    def poke(self) -> None:
        """Try/check now instead of at the end of the current interval."""
        self._wake.set()

    # ---- the campaign ------------------------------------------------------------------------

    async def _loop(self) -> None:
        while not self._stopping:
            if self.is_leader:
                if not await self._holds_lock():
                    await self._step_down("lost the database session")
            else:
                if await self._try_acquire():
                    await self._elect()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            self._wake.clear()

    async def _connection(self) -> AsyncConnection:
        if self._conn is None:
            assert self._engine is not None
            conn = await asyncio.wait_for(self._engine.connect().start(), self.timeout)
            try:
                for statement in _KEEPALIVE:
                    await conn.execute(text(statement))
            except Exception:  # not fatal: a Unix socket or a restricted role
                log.debug("leadership: could not set TCP keepalives", exc_info=True)
            self._conn = conn
        return self._conn

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            await asyncio.wait_for(conn.close(), self.timeout)
        except Exception:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.invalidate(), self.timeout)

    def _failed(self, what: str, exc: BaseException) -> None:
        message = f"{type(exc).__name__}: {exc}"
        if message != self._last_error:  # one line per distinct problem, not one per interval
            log.warning("leadership: %s failed (%s)", what, message)
            self._last_error = message

    async def _try_acquire(self) -> bool:
        async with self._io:
            self.attempts += 1
            try:
                conn = await self._connection()
                got = await asyncio.wait_for(
                    conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}), self.timeout
                )
            except Exception as exc:
                self._failed("taking the scheduler lock", exc)
                await self._drop_connection()
                return False
            self._last_error = None
            return bool(got)

    async def _holds_lock(self) -> bool:
        async with self._io:
            if self._conn is None:
                return False
            try:
                held = await asyncio.wait_for(
                    self._conn.scalar(_HOLDS_LOCK, {"hi": (self.key >> 32) & 0xFFFFFFFF, "lo": self.key & 0xFFFFFFFF}),
                    self.timeout,
                )
            except Exception as exc:
                self._failed("checking the scheduler lock", exc)
                return False
            return bool(held)

    async def _elect(self) -> None:
        self.is_leader = True
        self._deposed.clear()
        self._elected.set()
        log.info("leadership: %s is now the scheduler leader", self.name)
        for cb in list(self._on_elected):
            try:
                await cb()
            except Exception:
                log.exception("leadership: on_elected callback failed; stepping down")
                await self._step_down("on_elected failed", release=True)
                return

    async def _step_down(self, reason: str, *, release: bool = False) -> None:
        if not self.is_leader:
            return
        self.is_leader = False
        self._elected.clear()
        level = logging.INFO if reason == "stopping" else logging.WARNING
        log.log(level, "leadership: %s is no longer the scheduler leader (%s)", self.name, reason)
        for cb in list(self._on_deposed):
            try:
                await cb()
            except Exception:
                log.exception("leadership: on_deposed callback failed")
        if self.uses_lock:
            async with self._io:
                if release and self._conn is not None:
                    try:
                        await asyncio.wait_for(
                            self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key}), self.timeout
                        )
                    except Exception as exc:
                        self._failed("releasing the scheduler lock", exc)
                # close the session: a lock it may still hold (release failed, or the check
                # timed out on a live session) ends with it, and it is never reused
                await self._drop_connection()
        self._deposed.set()
