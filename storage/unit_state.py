"""What a unit of work holds for its transaction besides the session.

:class:`PendingWrites`: rows written when the unit of work commits (outbox and audit rows, a group
commit's SKM answers), all the rows of one statement in ONE executemany. :class:`ReadCache`: the
reference rows (region, units, services) read once per transaction. :class:`WriteResult`: what a
write that may wait for the commit did.

The unit of work creates both and hands them to its repositories. A repository built from a bare
session of a unit of work (``Repo(session)``, ``SkmRepo(session)``) finds them with
:func:`pending_writes_of` and :func:`read_cache_of`.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

#: the ``session.info`` key under which a unit of work leaves its pending writes and read cache
_STATE = "kanal_unit_state"


class WriteResult(enum.Enum):
    """The outcome of a write that may wait for the commit. Only :attr:`NOT_FOUND` is false."""

    WRITTEN = "written"  # done now
    DEFERRED = "deferred"  # queued in the unit of work's pending writes, done at its commit
    NOT_FOUND = "not_found"  # nothing matched: nothing done

    def __bool__(self) -> bool:
        return self is not WriteResult.NOT_FOUND


def check_rowcount(session: AsyncSession, stmt: Any, result: Any, rows: int) -> None:
    """An UPDATE run for many rows (pending writes, a batch's states) must have found every row it
    was given. SQLite counts the rows of an executemany: a shortfall raises, which fails the group
    commit, whose turns then run one by one. PostgreSQL's driver does not count them."""
    if isinstance(stmt, Update) and session.bind.dialect.supports_sane_multi_rowcount and result.rowcount != rows:
        raise StaleDataError(f"{stmt.table.name}: {result.rowcount} of {rows} rows updated (changed concurrently)")


class PendingWrites:
    """Rows a unit of work writes at its commit (or when a reader asks, :meth:`write`), one
    executemany per statement, statements in the order first added.

    ``group_commit`` is True while the transaction carries several people's turns: some single-row
    writes (an SKM answer) then wait here too instead of running at once."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._rows: dict[Any, list[dict[str, Any]]] = {}  # statement, or a model for its INSERT
        #: rows whose values are still being computed beside the transaction (see add_when_ready)
        self._waiting: list[tuple[dict[str, Any], dict[str, asyncio.Future]]] = []
        self.group_commit = False

    def __len__(self) -> int:
        return sum(len(rows) for rows in self._rows.values())

    def add(self, stmt: Any, values: dict[str, Any]) -> WriteResult:
        """Run the prebuilt ``stmt`` with ``values`` at the commit, with the other rows given for it."""
        self._rows.setdefault(stmt, []).append(values)
        return WriteResult.DEFERRED

    def add_when_ready(self, stmt: Any, values: dict[str, Any], **ready: asyncio.Future) -> WriteResult:
        """:meth:`add`, with the values of ``ready`` still being computed beside the transaction (a
        PIN's scrypt hash in a thread, while the group commit runs the next people's turns):
        awaited, all together, when the rows are written."""
        row = dict(values)
        self._waiting.append((row, ready))
        return self.add(stmt, row)

    def insert(self, model: type, **values: Any) -> WriteResult:
        """Insert a row into ``model``'s table at the commit."""
        return self.add(model, values)

    async def write(self) -> None:
        """Write the pending rows now: before the commit, and before a statement that reads or
        changes outbox or audit rows (so that it sees this transaction's own)."""
        if self._waiting:
            waiting, self._waiting = self._waiting, []
            await asyncio.gather(*(f for _, ready in waiting for f in ready.values()))
            for row, ready in waiting:
                row.update({key: f.result() for key, f in ready.items()})
        rows, self._rows = self._rows, {}
        for target, values in rows.items():
            stmt = target.__table__.insert() if isinstance(target, type) else target
            check_rowcount(self._session, stmt, await self._session.execute(stmt, values), len(values))

    def discard(self) -> None:
        """Forget the rows not written and the group-commit mark (the transaction ended)."""
        self._rows = {}
        for _, ready in self._waiting:
            for f in ready.values():
                f.cancel()
        self._waiting = []
        self.group_commit = False


_UNREAD = object()


@dataclass
class ReadCache:
    """Reference rows read once per transaction: most turns ask for the region (timezone, SLA,
    calendar), and the turns of a group commit share one transaction."""

    region: Any = _UNREAD
    units: dict[str, Any] = field(default_factory=dict)
    services: dict[str, Sequence[Any]] = field(default_factory=dict)

    @property
    def has_region(self) -> bool:
        return self.region is not _UNREAD

    def clear(self) -> None:
        self.region = _UNREAD
        self.units.clear()
        self.services.clear()


def attach(session: AsyncSession, pending: PendingWrites, reads: ReadCache) -> None:
    """Make the unit of work's pending writes and read cache reachable from its session."""
    session.info[_STATE] = (pending, reads)


def _state(session: AsyncSession) -> tuple[PendingWrites, ReadCache]:
    try:
        return session.info[_STATE]
    except KeyError:
        raise LookupError("this session does not belong to a unit of work (Database.unit_of_work)") from None


def pending_writes_of(session: AsyncSession) -> PendingWrites:
    """The pending writes of the unit of work that owns ``session``."""
    return _state(session)[0]


def read_cache_of(session: AsyncSession) -> ReadCache:
    """The read cache of the unit of work that owns ``session``."""
    return _state(session)[1]


# ---- helpers for repositories that hold only the session ----------------------------------
#: the ``session.info`` key of the media file references whose rows this transaction deleted
_RELEASED = "kanal_released_media"


def release_media(session: AsyncSession, refs: Any) -> None:
    """Note media file references whose rows are being deleted: once the transaction commits,
    the database's ``on_media_released`` hook gets them (the app deletes stored uploads that no
    row references any more)."""
    session.info.setdefault(_RELEASED, set()).update(r for r in refs if r)


def take_released_media(session: AsyncSession) -> set[str]:
    """The references noted by :func:`release_media` since the last call (and forget them)."""
    return session.info.pop(_RELEASED, set())


def defer_write(session: AsyncSession, stmt: Any, values: dict[str, Any]) -> WriteResult:
    """Run the prebuilt ``stmt`` with ``values`` at the commit of ``session``'s unit of work."""
    return pending_writes_of(session).add(stmt, values)


def in_group_commit(session: AsyncSession) -> bool:
    """Whether ``session``'s transaction carries several people's turns."""
    return pending_writes_of(session).group_commit


async def write_deferred(session: AsyncSession) -> None:
    """Before a statement that reads or changes outbox or audit rows: write the pending ones."""
    await pending_writes_of(session).write()
