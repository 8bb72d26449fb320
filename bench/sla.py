"""Benchmark: the SLA sweep (scheduler.job_sla.sla_sweep) over a million complaints.

Seeds ``--complaints`` complaints (default 1,000,000) with bulk ``INSERT … SELECT`` over a number
series generated inside the database: ``--open-share`` of them open (triage / with an OPD, with
and without a first response; deadlines spread over the weeks around the sweep instant, so some
are due soon, some today, many overdue), 1 % resolved and waiting for confirmation, the rest
closed over the last three years. The real sweep is then run once a day (10:00) on the
``--history-days`` working days before, so ``reminders_sent`` holds what a system that has been
sweeping all along has. 12 OPDs with 3 officers each, 5 coordinators.

Then, as of a working day at 10:00 WIB (``NOW``), for ``--rounds`` rounds (medians reported):

* **first sweep of the day** — records today's reminders (every overdue complaint gets its daily
  reminder, some are due or H-1, some escalate) and writes the outbox rows; today's reminders and
  the outbox are deleted again (untimed) before the next round;
* **steady sweep** — the sweep the scheduler runs every minute afterwards, in the same process:
  nothing new to send, and only the bounded ``before``/``due`` ranges are scanned (overdue and
  escalation status changes only at midnight; see ``bot/domain/sla.py``);
* **steady sweep, full scan** — the same in a fresh process (a new leader, ``kanal jobs run``):
  every range, with its ``NOT EXISTS`` probes on ``reminders_sent``, and nothing to send;
* **full scan only** — that one ``UNION ALL`` statement alone;

and prints the scan's query plan (``EXPLAIN QUERY PLAN`` on SQLite, ``EXPLAIN (ANALYZE, BUFFERS)``
on PostgreSQL).

    .venv/bin/python -m bench.sla                                  # SQLite, temporary file
    .venv/bin/python -m bench.sla --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/bench --reset
    KANAL_BENCH_DATABASE_URL=postgresql+asyncpg://… .venv/bin/python -m bench.sla --reset

On PostgreSQL the database must be empty or ``--reset`` given (drops and recreates schema
``public``: use a database of its own). ``--no-seed`` reuses what an earlier run seeded there.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import delete, event, func, select  # noqa: E402

from bench.common import add_database_options, bench_url, migrated, seed_or_reuse  # noqa: E402
from bench.skm import _sql_dialect, _ts  # noqa: E402
from bot.channels.registry import renderers as renderers_for
from bot.domain.clock import ManualClock  # noqa: E402
from bot.domain.region import parse_region  # noqa: E402
from bot.domain.sla import SlaPolicy, sweep_windows  # noqa: E402
from bot.domain.workdays import WorkCalendar  # noqa: E402
from bot.engine.notify import Notifier  # noqa: E402
from bot.services.regions import store_region  # noqa: E402
from bot.settings import Settings  # noqa: E402
from scheduler.job_context import JobContext  # noqa: E402
from scheduler.job_sla import sla_sweep  # noqa: E402
from storage import Database  # noqa: E402
from storage.models import Complaint, OutboxMessage, ReminderSent  # noqa: E402
from storage.sla_repo import SlaRepo  # noqa: E402

TZ = "Asia/Jakarta"
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo(TZ)).astimezone(UTC)  # Wednesday 10:00 WIB
OPDS = [f"B{i + 1:02d}" for i in range(12)]
DAY = 86400


def bench_region() -> dict:
    return {
        "region": {"code": "BENCH", "name": "Kabupaten Bench", "timezone": TZ},
        "opd": [
            {
                "code": code,
                "name": f"OPD Bench {i + 1}",
                "keywords": [f"bench{i + 1}"],
                "unit": [
                    {
                        "code": f"{code}-U1",
                        "name": f"Unit {code}",
                        "population": 1000,
                        "services": [{"code": f"{code}-U1-01", "name": "Layanan"}],
                    }
                ],
            }
            for i, code in enumerate(OPDS)
        ],
    }


async def seed(db: Database, n: int, open_share: float, history_days: int) -> float:
    """Users, complaints and the reminders already sent, generated inside the database."""
    await store_region(db, parse_region(bench_region(), source="bench"), NOW)
    d = db.dialect
    x = _sql_dialect(d)
    U = x["U"]
    t0 = time.perf_counter()
    opd_case = "CASE (i % 12) " + " ".join(f"WHEN {k} THEN '{code}'" for k, code in enumerate(OPDS)) + " END"
    async with db.engine.begin() as conn:
        staff = [(f"bench-o{k}", "officer", OPDS[k % 12]) for k in range(36)] + [
            (f"bench-k{k}", "coordinator", None) for k in range(5)
        ]
        values = ", ".join(
            f"('telegram', '{e}', '{r}', {'NULL' if o is None else repr(o)}, {_ts(d, NOW, '0')}, {x['FALSE']}, 'id')"
            for e, r, o in staff
        )
        await conn.exec_driver_sql(
            f"INSERT INTO users (channel, external_id, role, opd_code, created_at, language_explicit, language) VALUES {values}"
        )
        # kind of complaint from u = i's fraction: [0, open) open, then 1 % selesai, the rest closed
        last = n - 1
        open_n = int(n * open_share)
        done_n = int(n * 0.01)
        filed_open = f"{-28 * DAY} + {28 * DAY} * {U}"  # the last four weeks
        filed_done = f"{-40 * DAY} + {30 * DAY} * {U}"
        filed_closed = f"{-3 * 365 * DAY} + {(3 * 365 - 45) * DAY} * {U}"
        await conn.exec_driver_sql(
            f"WITH {x['RECURSIVE'].format(last=last)}nums AS ({x['NUMBERS'].format(last=last)}), "
            "s AS MATERIALIZED (SELECT i, "
            f"CASE WHEN i < {open_n} THEN (CASE WHEN i % 8 = 0 THEN 'triase' WHEN i % 8 < 4 THEN 'disposisi' ELSE 'tindak_lanjut' END) "
            f"WHEN i < {open_n + done_n} THEN 'selesai' ELSE 'ditutup' END AS state, "
            f"CASE WHEN i < {open_n} THEN {filed_open} WHEN i < {open_n + done_n} THEN {filed_done} ELSE {filed_closed} END AS f "
            "FROM nums) "
            "INSERT INTO complaints (number, citizen_user_id, channel, text, privacy, state, opd_code, class, filed_at, updated_at, routed_at, "
            "first_response_at, resolved_at, closed_at, triage_due_at, response_due_at, completion_due_at, reopen_count) "
            f"SELECT 'ADU-B-' || i, NULL, 'telegram', 'Keluhan bench nomor ' || i, 'biasa', state, "
            f"CASE WHEN state = 'triase' THEN NULL ELSE {opd_case} END, 'keluhan', "
            f"{_ts(d, NOW, 'f')}, {_ts(d, NOW, 'f')}, CASE WHEN state = 'triase' THEN NULL ELSE {_ts(d, NOW, 'f + 600')} END, "
            f"CASE WHEN state IN ('tindak_lanjut', 'selesai', 'ditutup') THEN {_ts(d, NOW, f'f + {DAY}')} END, "
            f"CASE WHEN state IN ('selesai', 'ditutup') THEN {_ts(d, NOW, f'f + {5 * DAY}')} END, "
            f"CASE WHEN state = 'ditutup' THEN {_ts(d, NOW, f'f + {6 * DAY}')} END, "
            # ≈ 3 and 5 working days, at the end of a local day (NOW is 03:00 UTC; 16:59:59 UTC = 23:59:59 WIB)
            f"{_ts(d, NOW, f'floor((f + {4 * DAY}) / {DAY}) * {DAY} + 50399')}, "
            f"{_ts(d, NOW, f'floor((f + {4 * DAY}) / {DAY}) * {DAY} + 50399')}, "
            f"{_ts(d, NOW, f'floor((f + {7 * DAY}) / {DAY}) * {DAY} + 50399')}, 0 "
            "FROM s"
        )
        print(f"  {n:,} complaints, {open_n:,} open ({time.perf_counter() - t0:.1f} s)", file=sys.stderr, flush=True)
    # the reminders of the days before: what earlier sweeps recorded for the open complaints
    await _history(db, history_days)
    print(f"  reminder history ({time.perf_counter() - t0:.1f} s)", file=sys.stderr, flush=True)
    async with db.engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.exec_driver_sql("VACUUM ANALYZE" if d == "postgresql" else "ANALYZE")
    return time.perf_counter() - t0


async def _history(db: Database, history_days: int) -> None:
    """Run the real sweep on the working days before NOW (one sweep per day at 10:00), so the
    ``reminders_sent`` table holds what production would have; the outbox is emptied."""
    cal = WorkCalendar(TZ)
    day = cal.local_date(NOW)
    days = []
    for _ in range(history_days):
        day = cal.working_day_after(day, -1)
        days.append(day)
    for d in reversed(days):
        at = cal.start_of_day(d, dtime(10))
        await sla_sweep(context(db, at))
    async with db.engine.begin() as conn:
        await conn.execute(delete(OutboxMessage))


def context(db: Database, at: datetime) -> JobContext:
    settings = Settings(database_url=db.url)
    return JobContext(db, settings, Notifier(renderers_for(None), languages=("id", "en")), clock=ManualClock(at))


async def timed(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = await fn()
    return time.perf_counter() - t0, out


async def reset_today(db: Database) -> None:
    cal = WorkCalendar(TZ)
    today = cal.start_of_day(cal.local_date(NOW))
    async with db.unit_of_work() as uow:
        await uow.session.execute(delete(ReminderSent).where(ReminderSent.sent_at >= today))
        await uow.session.execute(delete(OutboxMessage))
        await uow.commit()


async def scan_only(db: Database) -> int:
    region_cal = WorkCalendar(TZ)
    windows = sweep_windows(NOW, region_cal, SlaPolicy())
    async with db.unit_of_work() as uow:
        return len(await SlaRepo(uow.session).scan(windows))


async def one_round(db: Database) -> dict[str, float]:
    out: dict[str, float] = {}
    await reset_today(db)
    ctx = context(db, NOW)  # one process: the scheduler keeps its context between runs
    out["first_sweep_of_the_day"], first = await timed(lambda: sla_sweep(ctx))
    ctx.clock.set(NOW + timedelta(minutes=1))
    out["steady_sweep"], steady = await timed(lambda: sla_sweep(ctx))
    out["steady_sweep_full_scan"], full = await timed(lambda: sla_sweep(context(db, NOW + timedelta(minutes=2))))
    out["full_scan_only"], found = await timed(lambda: scan_only(db))
    assert not steady.counts.get("messages") and not full.counts.get("messages") and found == 0, (steady, full, found)
    assert steady.note and not full.note
    out["_first"] = dict(first.counts)
    return out


async def explain(db: Database) -> list[tuple[str, str]]:
    captured: list[tuple[str, object]] = []

    def grab(conn, cursor, statement, parameters, context, executemany):  # pragma: no cover - driver hook
        if "UNION ALL" in statement and "reminders_sent" in statement:
            captured.append((statement, parameters))

    event.listen(db.engine.sync_engine, "before_cursor_execute", grab)
    try:
        await scan_only(db)
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", grab)
    plans = []
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if db.dialect == "postgresql" else "EXPLAIN QUERY PLAN "
    async with db.engine.connect() as conn:
        for statement, params in captured[:1]:
            rows = (await conn.exec_driver_sql(prefix + statement, params)).all()
            if db.dialect == "postgresql":
                plan = "\n".join(r[0] for r in rows)
            else:
                depth: dict[int, int] = {}
                lines = []
                for r in rows:
                    node, parent, detail = r[0], r[1], r[-1]
                    depth[node] = depth.get(parent, -1) + 1
                    lines.append("  " * depth[node] + detail)
                plan = "\n".join(lines)
            plans.append((" ".join(statement.split())[:200] + " …", plan))
    return plans


async def main_async(args: argparse.Namespace) -> dict:
    url, tmp = bench_url(args.database_url, "sla")
    db = Database(url)
    try:
        await migrated(db, reset=args.reset)
        seed_s = await seed_or_reuse(
            db,
            Complaint,
            "complaints",
            no_seed=args.no_seed,
            announce=f"seeding {args.complaints:,} complaints …",
            seed=lambda: seed(db, args.complaints, args.open_share, args.history_days),
        )
        async with db.unit_of_work() as uow:
            s = uow.session
            total = (await s.execute(select(func.count()).select_from(Complaint))).scalar_one()
            open_n = (
                await s.execute(
                    select(func.count())
                    .select_from(Complaint)
                    .where(Complaint.state.in_(("triase", "disposisi", "tindak_lanjut")))
                )
            ).scalar_one()
            history = (await s.execute(select(func.count()).select_from(ReminderSent))).scalar_one()
        rounds = []
        for i in range(args.rounds):
            r = await one_round(db)
            rounds.append(r)
            print(
                f"round {i + 1}: "
                + ", ".join(f"{k} {v:.3f} s" for k, v in r.items() if not k.startswith("_"))
                + f"  {r['_first']}",
                file=sys.stderr,
            )
        keys = [k for k in rounds[0] if not k.startswith("_")]
        medians = {k: statistics.median(r[k] for r in rounds) for k in keys}
        plans = await explain(db)
        return {
            "backend": db.dialect,
            "complaints": total,
            "open": open_n,
            "reminders_before": history,
            "rounds": args.rounds,
            "seed_seconds": seed_s,
            "median_seconds": medians,
            "all_rounds": [{k: r[k] for k in keys} for r in rounds],
            "first_sweep_counts": rounds[0]["_first"],
            "plans": plans,
            "machine": f"{platform.machine()}, {platform.python_version()}",
        }
    finally:
        await db.dispose()
        if tmp is not None:
            tmp.cleanup()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        prog="python -m bench.sla", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--complaints", type=int, default=1_000_000, help="complaints to seed (default 1000000)")
    p.add_argument("--open-share", type=float, default=0.04, help="share of them still open (default 0.04)")
    p.add_argument(
        "--history-days",
        type=int,
        default=3,
        help="working days of daily sweeps run before NOW while seeding (default 3)",
    )
    p.add_argument("--rounds", type=int, default=5, help="timed rounds; medians are reported (default 5)")
    add_database_options(p, "complaints")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    args = p.parse_args(argv)
    result = asyncio.run(main_async(args))
    if args.json:
        print(json.dumps(result, indent=2, default=str))
        return
    print(
        f"\nSLA sweep benchmark — {result['backend']}, {result['complaints']:,} complaints ({result['open']:,} open), "
        f"{result['reminders_before']:,} reminders recorded before, {result['rounds']} rounds (median), {result['machine']}"
    )
    if result["seed_seconds"] is not None:
        print(f"  seeding (bulk INSERT … SELECT + daily sweeps before)  {result['seed_seconds']:8.1f} s")
    for k, v in result["median_seconds"].items():
        print(f"  {k:<30} {v * 1000:10.1f} ms")
    print(f"  first sweep of the day did: {result['first_sweep_counts']}")
    for statement, plan in result["plans"]:
        print(f"\n-- {statement}\n{plan}")


if __name__ == "__main__":
    main()
