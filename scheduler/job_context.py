"""What every job gets and returns: :class:`JobContext` (database, settings, notifier, clock) and
:class:`JobResult` (what a run did, printed by ``kanal jobs run``).

A job is a module-level ``async def job(ctx: JobContext) -> JobResult`` in ``scheduler/job_*.py``,
listed in :mod:`scheduler.job_registry`. Time comes from ``ctx.clock`` (the decision instant), so a job
can be replayed as of any instant; messages are outbox rows added through ``ctx.notify`` in the same
transaction as the record that makes them idempotent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

from bot.domain.clock import Clock, SystemClock
from bot.domain.messages import Reply
from bot.domain.sla import OFFICE_END, OFFICE_START
from bot.engine.notify import Notifier
from bot.engine.region_context import RegionContext, region_context
from storage import Database

CHUNK = 500


@dataclass
class JobContext:
    """What a job gets: database, settings, notifier, clock (the decision instant), and how to
    wake the outbox sender after a commit. ``release_clock`` (``kanal jobs run``): outbox rows
    become due at min(decision instant, its now), so a run ``--at`` a future instant sends now."""

    db: Database
    settings: Any  # bot.settings.Settings
    notifier: Notifier
    clock: Clock = field(default_factory=SystemClock)
    wake: Callable[[], None] | None = None
    release_clock: Clock | None = None
    chunk_size: int = CHUNK
    office_start: time = OFFICE_START
    office_end: time = OFFICE_END
    #: what a job remembers between its runs in this process (the SLA sweep: the local day of its
    #: last complete full scan)
    memo: dict[str, Any] = field(default_factory=dict)

    def now(self) -> datetime:
        return self.clock.now()

    def not_before(self, now: datetime) -> datetime | None:
        if self.release_clock is None:
            return None
        return min(now, self.release_clock.now())

    def woke(self) -> None:
        if self.wake is not None:
            self.wake()

    async def region(self) -> RegionContext:
        async with self.db.unit_of_work() as uow:
            return await region_context(uow.region)

    def notify(self, outbox: Any, person: Any, reply: Reply, now: datetime) -> int:
        """Queue ``reply`` to ``person`` through ``outbox`` (the outbox repository of the job's unit
        of work); returns the number of outbox rows."""
        return self.notifier.to_user(outbox, person, reply, now, not_before=self.not_before(now))


@dataclass
class JobResult:
    job: str
    at: datetime
    counts: dict[str, int] = field(default_factory=dict)
    skipped: str | None = None
    note: str | None = None

    def add(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n

    def __str__(self) -> str:
        head = f"{self.job} as of {self.at.isoformat()}"
        if self.skipped:
            return f"{head}: skipped ({self.skipped})"
        body = ", ".join(f"{k} {v}" for k, v in self.counts.items()) or "nothing to do"
        return f"{head}: {body}" + (f" ({self.note})" if self.note else "")


def chunks(items: Sequence, size: int) -> Iterable[Sequence]:
    """``items`` in slices of ``size`` (one transaction each)."""
    for i in range(0, len(items), max(1, size)):
        yield items[i : i + size]
