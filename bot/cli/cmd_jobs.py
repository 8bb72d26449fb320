"""`kanal jobs run NAME [--at ISO-TIME]` and `kanal jobs list`: the scheduled jobs by hand
(the jobs and their schedule come from :mod:`scheduler.job_registry`).

``jobs run`` runs one job once, as of ``--at`` (default: now), in this process, without the
leader lock: every job is idempotent (reminders and digests are recorded rows, auto-close and
retention are conditional updates), so a run next to a running bot never sends anything twice.
Messages are **written to the outbox**, rendered for every channel, and are delivered by the
running bot (`kanal run`; its sender looks for due rows every second). Rows of a run ``--at`` a
future instant are due at once (they are released at this process's "now"). Nothing is sent
while no bot runs; the rows wait and go out when it starts.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.channels.registry import renderers
from bot.domain.clock import ManualClock, SystemClock
from bot.engine.notify import Notifier
from scheduler.job_context import JobContext
from scheduler.job_registry import all_jobs, descriptions, run_job, schedule
from scheduler.runner import JobRunner

COMMANDS = ("jobs",)

RUN_EPILOG = """examples:
  kanal jobs run sla                              # the SLA sweep as of now
  kanal jobs run sla --at 2026-11-25T10:00        # as of 10:00 region time on that day
  kanal jobs run digest --at 2026-11-24T07:00+07:00
  kanal jobs run retention --at now

Messages go to the outbox; the running bot (kanal run) delivers them. Running a job twice, or
next to the bot's own scheduler, sends nothing twice."""


def _job_help() -> str:
    return "; ".join(f"{name}: {text}" for name, text in descriptions().items())


def add_parsers(sub) -> None:
    names = list(all_jobs())
    jobs = sub.add_parser(
        "jobs",
        help="run a scheduled job by hand, or list the schedule",
        description=f"The scheduled jobs ({', '.join(names)}). The running bot (kanal run) schedules them itself and "
        "one instance leads (KANAL_SCHEDULER); these commands are for operations and tests.",
    )
    jsub = jobs.add_subparsers(dest="jobs_command", metavar="ACTION", required=True)
    run = jsub.add_parser(
        "run",
        help="run one job once, as of an instant",
        description="Run one job once as of --at (default: now) and print what it did. " + _job_help() + ".",
        epilog=RUN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("job", choices=names, metavar="JOB", help="one of: " + ", ".join(names))
    run.add_argument(
        "--at",
        metavar="ISO-TIME",
        default="now",
        help="the instant the job runs as of: 2026-11-25T10:00 (region time zone), 2026-11-25T03:00Z or "
        "2026-11-25T10:00+07:00 (an explicit offset), or 'now' (default)",
    )
    lst = jsub.add_parser(
        "list",
        help="show the schedule and the next runs",
        description="Print every scheduled job with its schedule (region time zone), its next run and what it does.",
    )
    lst.add_argument(
        "--at", metavar="ISO-TIME", default="now", help="compute the next runs from this instant instead of now"
    )


class AtError(ValueError):
    pass


def parse_at(raw: str, tz: ZoneInfo, now: datetime) -> datetime:
    """``--at``: 'now', an ISO date-time with an offset or Z, or a local one (region time zone);
    a bare date means 00:00 local."""
    value = (raw or "").strip()
    if value.lower() == "now":
        return now
    try:
        at = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value)
    except ValueError:
        raise AtError(
            f"expected an ISO date-time like 2026-11-25T10:00 or 2026-11-25T10:00+07:00, got {raw!r}"
        ) from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=tz)
    return at.astimezone(ZoneInfo("UTC"))


async def _timezone(db, settings) -> str:
    async with db.unit_of_work() as uow:
        region = await uow.region.region()
    return region.timezone if region is not None else settings.timezone


async def run(args: argparse.Namespace, db, settings, now: datetime) -> int:
    tz = ZoneInfo(await _timezone(db, settings))
    try:
        at = parse_at(args.at, tz, now)
    except AtError as exc:
        print(f"kanal: --at: {exc}", file=sys.stderr)
        return 2
    if args.jobs_command == "list":
        return _list(settings, tz, at)
    return await _run(args.job, db, settings, at)


class _Standby:
    """A leadership that never leads: ``kanal jobs list`` builds the schedule; nothing runs."""

    is_leader = False

    def subscribe(self, **_kw) -> None:
        pass


def _list(settings, tz: ZoneInfo, at: datetime) -> int:
    runner = JobRunner(_Standby(), None, timezone=tz.key)  # type: ignore[arg-type]
    schedule(runner, settings)
    texts = descriptions()
    print(f"{'JOB':10} {'SCHEDULE':34} {'NEXT RUN':22} WHAT")
    for name, when, next_run in runner.list_jobs(at):
        nxt = next_run.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z") if next_run else "-"
        print(f"{name:10} {when:34} {nxt:22} {texts.get(name, '')}")
    state = "on" if settings.scheduler_enabled else "OFF (KANAL_SCHEDULER=false: no instance runs them)"
    print(f"\nScheduler in `kanal run`: {state}. One instance leads (PostgreSQL advisory lock); the others stand by.")
    return 0


async def _run(name: str, db, settings, at: datetime) -> int:
    async with db.unit_of_work() as uow:
        if await uow.region.region() is None:
            print(
                "kanal: no region loaded: run `kanal region load FILE` (or start `kanal run` once) first",
                file=sys.stderr,
            )
            return 1
    ctx = JobContext(
        db,
        settings,
        Notifier(renderers(None), languages=settings.languages),
        clock=ManualClock(at),
        release_clock=SystemClock(),
    )
    result = await run_job(name, ctx)
    print(result)
    queued = getattr(result, "counts", {}).get("messages", 0) if result is not None else 0
    if queued:
        print(f"{queued} message(s) queued in the outbox; the running bot (kanal run) delivers them.")
    return 0
