"""The job runner: APScheduler 3's ``AsyncIOScheduler`` that only fires on the leader.

Every instance builds the same schedule; the scheduler starts **paused** and is resumed when
this instance is elected and paused again when it is deposed (see :mod:`scheduler.leader`).
Each run also passes through a guard that skips it unless this instance is (still) leader —
``Leadership.confirm()`` asks the database right before the run — so a run that fires in the
instant leadership changes does nothing.

Jobs are module-level ``async def job(context)`` functions; the runner passes the context it was
given (database, clock, region, outbox…, whatever the application puts there). A job's
exception is logged with its name and never stops the scheduler. Each job has ``coalesce=True``
(runs missed while paused or busy collapse into one), ``max_instances=1`` (never two runs of
one job at once) and a misfire grace time: an interval job may start up to one interval late,
a daily job up to an hour late (e.g. the 07:00 digest when the leader changed at 07:00). When an
instance is elected, its interval jobs run at once (a sweep right after takeover); daily jobs
keep their time. Daily jobs must still be idempotent per day (e.g. record the digest's date),
because a leader can die after sending and before its successor learns of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from scheduler.leader import Leadership

log = logging.getLogger(__name__)

JobFunc = Callable[[Any], Awaitable[Any]]
DAILY_MISFIRE_GRACE = 3600


@dataclass
class JobStats:
    runs: int = 0  # completed runs (with or without an error)
    failures: int = 0
    skipped: int = 0  # fired while this instance was not (or no longer) leader
    last_started: datetime | None = None
    last_finished: datetime | None = None
    last_error: str | None = None


@dataclass
class _Job:
    name: str
    func: JobFunc
    trigger: Any
    description: str
    misfire_grace_time: int
    kind: str  # "interval" | "daily"
    stats: JobStats = field(default_factory=JobStats)


class JobRunner:
    """Schedule ``async def job(context)`` functions; run them only while ``leadership`` leads.

    Use::

        leadership = Leadership(db)
        runner = JobRunner(leadership, context, timezone=region.timezone)
        runner.add_interval("sla", sla_sweep, 60)
        runner.add_daily("digest", daily_digest, 7, 0)
        await runner.start()        # scheduler running but paused
        await leadership.start()    # elected → resumed
        ...
        await leadership.stop()     # deposed → paused (waits for running jobs), lock released
        await runner.stop()
    """

    def __init__(
        self,
        leadership: Leadership,
        context: Any,
        *,
        timezone: str = "Asia/Jakarta",
        confirm_before_run: bool = True,
        stop_timeout: float = 30.0,
    ) -> None:
        self.leadership = leadership
        self.context = context
        self.timezone = timezone
        self.tz = ZoneInfo(timezone)
        self.confirm_before_run = confirm_before_run
        self.stop_timeout = stop_timeout
        self.scheduler = AsyncIOScheduler(
            timezone=self.tz,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
        )
        self.jobs: dict[str, _Job] = {}
        self._running: set[asyncio.Task] = set()
        self._started = False
        leadership.subscribe(on_elected=self._on_elected, on_deposed=self._on_deposed)

    # ---- schedule ----------------------------------------------------------------------------

    def add_interval(self, name: str, func: JobFunc, seconds: float, *, misfire_grace_time: int | None = None) -> None:
        """Run ``func(context)`` every ``seconds``; also at once whenever this instance is elected."""
        if seconds <= 0:
            raise ValueError("seconds must be > 0")
        grace = misfire_grace_time if misfire_grace_time is not None else max(1, int(seconds))
        self._add(
            _Job(
                name,
                func,
                IntervalTrigger(seconds=seconds, timezone=self.tz),
                f"every {seconds:g} s",
                grace,
                "interval",
            )
        )

    def add_daily(
        self, name: str, func: JobFunc, hour: int, minute: int = 0, *, misfire_grace_time: int = DAILY_MISFIRE_GRACE
    ) -> None:
        """Run ``func(context)`` every day at ``hour:minute`` in the region's time zone."""
        if not (0 <= hour < 24 and 0 <= minute < 60):
            raise ValueError("hour must be 0-23 and minute 0-59")
        trigger = CronTrigger(hour=hour, minute=minute, timezone=self.tz)
        self._add(
            _Job(name, func, trigger, f"daily at {hour:02d}:{minute:02d} {self.timezone}", misfire_grace_time, "daily")
        )

    def _add(self, job: _Job) -> None:
        if not inspect.iscoroutinefunction(job.func):
            raise TypeError(f"job {job.name!r}: expected an async function taking the context")
        self.jobs[job.name] = job
        self.scheduler.add_job(
            self._execute,
            job.trigger,
            args=(job.name,),
            id=job.name,
            name=job.name,
            misfire_grace_time=job.misfire_grace_time,
            replace_existing=True,
        )

    def list_jobs(self, now: datetime | None = None) -> list[tuple[str, str, datetime | None]]:
        """``(name, trigger description, next run)`` per job, in the order added. The next run is
        the scheduler's own when it is running, else computed from ``now`` (default: now)."""
        now = (now or datetime.now(self.tz)).astimezone(self.tz)
        out = []
        for name, job in self.jobs.items():
            next_run = None
            if self._started:
                aps_job = self.scheduler.get_job(name)
                next_run = getattr(aps_job, "next_run_time", None) if aps_job else None
            if next_run is None:
                next_run = job.trigger.get_next_fire_time(None, now)
            out.append((name, job.description, next_run))
        return out

    def stats(self, name: str) -> JobStats:
        return self.jobs[name].stats

    # ---- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the scheduler paused; it runs as soon as (or if already) this instance leads."""
        if self._started:
            return
        self.scheduler.start(paused=True)
        self._started = True
        if self.leadership.is_leader:
            await self._on_elected()

    async def stop(self) -> None:
        """Stop firing, let running jobs finish (up to ``stop_timeout``), shut down."""
        if not self._started:
            return
        self._started = False
        self.scheduler.pause()
        await self._drain()
        self.scheduler.shutdown(wait=False)
        await asyncio.sleep(0)  # AsyncIOScheduler shuts down via call_soon

    async def _on_elected(self) -> None:
        if not self._started:
            return
        now = datetime.now(self.tz)
        for name, job in self.jobs.items():
            if job.kind == "interval":
                self.scheduler.modify_job(name, next_run_time=now)
        self.scheduler.resume()

    async def _on_deposed(self) -> None:
        if not self._started:
            return
        self.scheduler.pause()
        await self._drain()

    async def _drain(self) -> None:
        running = {t for t in self._running if not t.done() and t is not asyncio.current_task()}
        if not running:
            return
        done, pending = await asyncio.wait(running, timeout=self.stop_timeout)
        for task in pending:
            log.warning("job still running after %.0f s; cancelling it", self.stop_timeout)
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*pending, return_exceptions=True)

    # ---- one run -----------------------------------------------------------------------------

    async def _execute(self, name: str) -> None:
        job = self.jobs[name]
        # Registered before the first await: a step-down drains this run too, even while it is
        # still confirming the lock, so the lock is never released under a run in flight.
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        try:
            if (
                not self.leadership.is_leader
                or (self.confirm_before_run and not await self.leadership.confirm())
                or not self.leadership.is_leader
            ):
                job.stats.skipped += 1
                return
            job.stats.last_started = datetime.now(self.tz)
            try:
                await job.func(self.context)
            except Exception as exc:
                job.stats.failures += 1
                job.stats.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("job %s failed", name)
            finally:
                job.stats.runs += 1
                job.stats.last_finished = datetime.now(self.tz)
        finally:
            if task is not None:
                self._running.discard(task)
