"""aiosqlite with one trip to its thread per statement instead of four.

aiosqlite runs every sqlite3 call on a thread of its own and hands the result back to the event
loop. For one statement SQLAlchemy makes four such calls: create a cursor, execute, fetch the
rows, close the cursor. The statement itself takes microseconds; each trip (a queue put, waking
the thread, ``call_soon_threadsafe`` waking the loop) costs far more CPU (measured here: ≈ 85 µs a
trip, ≈ 1 µs for ``SELECT 1`` in sqlite3 itself). With a turn making a few statements, the trips
were the largest single cost of a turn on SQLite.

:class:`OneTripConnection` is an :class:`aiosqlite.Connection` whose cursors do it in one trip:
the sqlite3 cursor is created on the thread with the first statement; ``execute`` returns with the
first :data:`PREFETCH` rows already read; ``fetch*`` hand those out and only go back to the thread
for more (a streamed result still streams, :data:`PREFETCH` rows at a time); ``close`` needs no
trip once every row was read (sqlite3 has reset the statement then). Everything else
(transactions, errors, the thread's life) is aiosqlite's own. :func:`connect` is given to
SQLAlchemy's aiosqlite dialect as ``async_creator_fn`` (see :func:`storage.db.create_engine`).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterable
from typing import Any

import aiosqlite
from aiosqlite.context import contextmanager

__all__ = ["OneTripConnection", "connect", "PREFETCH"]

#: rows read together with the statement (and per later trip); SQLAlchemy fetches all rows of a
#: result at once unless it streams, so nearly every statement is one trip
PREFETCH = 256


class _Cursor(aiosqlite.Cursor):
    def __init__(self, conn: OneTripConnection) -> None:
        super().__init__(conn, None)  # type: ignore[arg-type]  # the sqlite3 cursor comes with the first statement
        self._rows: list[Any] = []  # read on the thread, not handed out yet (in reverse order)
        self._done = True  # no rows left on the thread

    # ---- on aiosqlite's thread ------------------------------------------------------------
    def _run(self, method: Callable[..., Any], sql: str, parameters: Any) -> tuple[list[Any], bool]:
        if self._cursor is None:
            self._cursor = self._conn._conn.cursor()
        method(self._cursor, sql, parameters)
        if self._cursor.description is None:
            return [], True
        return self._read(PREFETCH)

    def _read(self, size: int | None) -> tuple[list[Any], bool]:
        rows = self._cursor.fetchall() if size is None else self._cursor.fetchmany(size)
        return rows, size is None or len(rows) < size

    # ---- on the event loop -----------------------------------------------------------------
    async def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> _Cursor:
        rows, self._done = await self._execute(
            self._run, sqlite3.Cursor.execute, sql, [] if parameters is None else parameters
        )
        self._rows = rows[::-1]
        return self

    async def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> _Cursor:
        rows, self._done = await self._execute(self._run, sqlite3.Cursor.executemany, sql, parameters)
        self._rows = rows[::-1]
        return self

    async def _more(self, size: int | None) -> None:
        rows, self._done = await self._execute(self._read, size)
        self._rows = rows[::-1] + self._rows

    async def fetchone(self) -> Any:
        if not self._rows and not self._done:
            await self._more(PREFETCH)
        return self._rows.pop() if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        size = self.arraysize if size is None else size
        if len(self._rows) < size and not self._done:
            await self._more(max(size - len(self._rows), PREFETCH))
        taken = self._rows[-size:][::-1] if size else []
        del self._rows[len(self._rows) - len(taken) :]
        return taken

    async def fetchall(self) -> list[Any]:
        if not self._done:
            await self._more(None)
        rows, self._rows = self._rows[::-1], []
        return rows

    async def close(self) -> None:
        self._rows = []
        if self._cursor is not None and not self._done:  # a statement still open: close it there
            await self._execute(self._cursor.close)
            self._done = True

    @property
    def rowcount(self) -> int:
        return -1 if self._cursor is None else self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return None if self._cursor is None else self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return 1 if self._cursor is None else self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        if self._cursor is not None:
            self._cursor.arraysize = value

    @property
    def description(self) -> Any:
        return None if self._cursor is None else self._cursor.description


class OneTripConnection(aiosqlite.Connection):
    """An :class:`aiosqlite.Connection` whose cursors make one trip to the thread per statement."""

    @contextmanager
    async def cursor(self) -> aiosqlite.Cursor:
        return _Cursor(self)


def private_file(database: str) -> None:
    """Create the database file readable by its owner only (0600) before SQLite does (SQLite's
    -wal and -shm files take its permissions); an existing file readable by others is narrowed."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    try:
        fd = os.open(database, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        return  # no such folder, no permission: sqlite3 says so in its own words
    try:
        mode = os.fstat(fd).st_mode
        if mode & 0o077 and os.fstat(fd).st_uid == os.geteuid():
            os.fchmod(fd, mode & 0o700)
    finally:
        os.close(fd)


def connect(database: str, **kwargs: Any) -> OneTripConnection:
    """Like :func:`aiosqlite.connect` (``kwargs`` go to :func:`sqlite3.connect`); the file is
    private to its owner (:func:`private_file`)."""
    private_file(str(database))
    conn = OneTripConnection(lambda: sqlite3.connect(str(database), **kwargs), 64)
    # a daemon thread, as SQLAlchemy makes aiosqlite's own (before aiosqlite 0.21 the connection
    # was the thread itself)
    (conn if isinstance(conn, threading.Thread) else conn._thread).daemon = True
    return conn
