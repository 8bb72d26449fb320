"""The explicit list of scheduled jobs: name → function, trigger and description.

One place says which jobs exist and when they run: :func:`schedule` puts them on a
:class:`scheduler.runner.JobRunner` (the leader runs them), ``kanal jobs list`` prints them and
``kanal jobs run NAME --at TIME`` runs one once through :func:`run_job`. A new job is a new
``scheduler/job_*.py`` module and one line in ``JOBS``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import time
from typing import Any

from scheduler.job_autoclose import autoclose
from scheduler.job_context import JobContext, JobResult
from scheduler.job_dedupe_prune import dedupe_prune
from scheduler.job_digest import digest, digest_time
from scheduler.job_fixed_check import ASK_AT as FIXED_CHECK_AT
from scheduler.job_fixed_check import fixed_check_job
from scheduler.job_forum_reminder import REMINDER_INTERVAL, forum_reminder
from scheduler.job_lapor_sync import INTERVAL as LAPOR_SYNC_INTERVAL
from scheduler.job_lapor_sync import lapor_sync
from scheduler.job_new_complaints import INTERVAL as NEW_COMPLAINTS_INTERVAL
from scheduler.job_new_complaints import new_complaints
from scheduler.job_outbox_prune import outbox_prune
from scheduler.job_retention import retention
from scheduler.job_routing_retrain import INTERVAL as ROUTING_RETRAIN_INTERVAL
from scheduler.job_routing_retrain import routing_retrain
from scheduler.job_sla import sla_sweep

log = logging.getLogger(__name__)

SLA_INTERVAL = 60  # seconds
AUTOCLOSE_AT = time(8, 5)  # citizens are told in the morning, not at midnight
RETENTION_AT = time(2, 30)
DEDUPE_PRUNE_INTERVAL = 3600  # seconds
OUTBOX_PRUNE_AT = time(3, 0)


@dataclass(frozen=True)
class Job:
    """A scheduled job: every ``interval`` seconds, or daily at ``daily_at(settings)`` local time."""

    name: str
    run: Callable[[JobContext], Awaitable[JobResult]]
    description: str  # one line for ``kanal jobs list`` / ``--help``
    interval: float | None = None
    daily_at: Callable[[Any], time] | None = None


JOBS: tuple[Job, ...] = (
    Job(
        "sla",
        sla_sweep,
        "SLA sweep: reminders to officers (H-1, due day, daily while overdue), escalation to coordinators",
        interval=SLA_INTERVAL,
    ),
    Job(
        "autoclose",
        autoclose,
        "close complaints left 'selesai' past the confirmation window; tell the citizen",
        daily_at=lambda _settings: AUTOCLOSE_AT,
    ),
    Job(
        "digest",
        digest,
        "daily digest to coordinators (text + chart) and to officers of OPDs with overdue complaints",
        daily_at=digest_time,
    ),
    Job(
        "retention",
        retention,
        "anonymise complaints closed longer than KANAL_RETENTION_DAYS ago; erase citizens silent that long",
        daily_at=lambda _settings: RETENTION_AT,
    ),
    Job(
        "outbox_prune",
        outbox_prune,
        "delete sent and failed outbox rows older than KANAL_OUTBOX_KEEP_DAYS",
        daily_at=lambda _settings: OUTBOX_PRUNE_AT,
    ),
    Job(
        "forum_reminder",
        forum_reminder,
        "day-before reminder to people registered to a forum (once per person and forum)",
        interval=REMINDER_INTERVAL,
    ),
    Job(
        "dedupe_prune",
        dedupe_prune,
        "forget inbound message ids older than KANAL_DEDUPE_HOURS (the platforms' redelivery horizon); "
        "erased SMS numbers whose goodbye could not go",
        interval=DEDUPE_PRUNE_INTERVAL,
    ),
    Job(
        "new_complaints",
        new_complaints,
        "one summary per handler of the new complaints held back by KANAL_COMPLAINT_NOTIFY_WINDOW",
        interval=NEW_COMPLAINTS_INTERVAL,
    ),
    Job(
        "routing_retrain",
        routing_retrain,
        "train the routing model again from new staff routing decisions and imported history",
        interval=ROUTING_RETRAIN_INTERVAL,
    ),
    Job(
        "lapor_sync",
        lapor_sync,
        "SP4N-LAPOR! bridge: send queued complaints, answers and status changes; pull LAPOR! updates "
        "(off unless KANAL_LAPOR_URL and KANAL_LAPOR_TOKEN are set)",
        interval=LAPOR_SYNC_INTERVAL,
    ),
    Job(
        "fixed_check",
        fixed_check_job,
        "'Sudah beres?': ask reporters N working days after closing whether the problem is really solved",
        daily_at=lambda _settings: FIXED_CHECK_AT,
    ),
)
BY_NAME: dict[str, Job] = {job.name: job for job in JOBS}


def all_jobs() -> dict[str, Callable[[JobContext], Awaitable[JobResult]]]:
    """Every job ``kanal jobs run`` knows, name → function, in schedule order."""
    return {job.name: job.run for job in JOBS}


def descriptions() -> dict[str, str]:
    return {job.name: job.description for job in JOBS}


def schedule(runner: Any, settings: Any) -> None:
    """The production schedule on a :class:`scheduler.runner.JobRunner` (also ``kanal jobs list``)."""
    for job in JOBS:
        if job.interval is not None:
            runner.add_interval(job.name, job.run, job.interval)
        elif job.daily_at is not None:
            at = job.daily_at(settings)
            runner.add_daily(job.name, job.run, at.hour, at.minute)


async def run_job(name: str, ctx: JobContext) -> JobResult:
    """Run one job once (``kanal jobs run``); logs and returns its result."""
    job = BY_NAME.get(name)
    if job is None:
        raise KeyError(f"unknown job {name!r}; known: {', '.join(BY_NAME)}")
    result = await job.run(ctx)
    log.info("%s", result if result is not None else f"{name}: done")
    return result
