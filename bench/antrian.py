"""Benchmark: ``/antrian``, an OPD officer's queue of open complaints, with 50,000 open for one OPD.

Seeds ``--complaints`` complaints (default 200,000) with one bulk ``INSERT … SELECT`` over a number
series generated inside the database (the approach and helpers of ``bench.sla``): ``--open``
(default 50,000) of them open (``disposisi`` / ``tindak_lanjut``) for OPD ``B01``, spread evenly
over the id range; of the rest, one in ten is open elsewhere (another OPD, or still in triage) and
the others are resolved or closed over three years, in every OPD including ``B01``. Completion
deadlines of the open ones are spread over the weeks around ``NOW`` (many tie to the second).

Then, for ``--rounds`` rounds (medians reported), it times through the real code:

* ``ComplaintRepo.queue`` (what ``/antrian`` runs): the **first page**, page **1,000** (``--page``)
  and the **last page**, each with the count it shows;
* the **count** statement alone;
* the whole **handler turn** (``Dispatcher.handle`` of ``/antrian`` and ``/antrian <last page>`` from
  a web-chat officer of ``B01``: dedupe, user and state, router, the query, the reply rendered into
  the outbox, one transaction);

checks that every row shown is ``B01``'s and open, and prints the plans of the page and count
statements (``EXPLAIN QUERY PLAN`` on SQLite, ``EXPLAIN (ANALYZE, BUFFERS)`` on PostgreSQL).

    .venv/bin/python -m bench.antrian                              # SQLite, temporary file
    .venv/bin/python -m bench.antrian --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/bench --reset
    .venv/bin/python -m bench.antrian --complaints 40000 --open 10000 --rounds 3   # quicker

On PostgreSQL the database must be empty or ``--reset`` given (drops and recreates schema
``public``: use a database of its own). ``--no-seed`` reuses what an earlier run seeded there.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, func, select, update  # noqa: E402

from bench.common import add_database_options, bench_url, migrated, seed_or_reuse  # noqa: E402
from bench.skm import _sql_dialect, _ts  # noqa: E402
from bench.sla import DAY, NOW, OPDS, bench_region  # noqa: E402
from bot.channels.web.web_channel import render as web_render  # noqa: E402
from bot.domain.clock import ManualClock  # noqa: E402
from bot.domain.messages import Inbound, Kind  # noqa: E402
from bot.domain.region import parse_region  # noqa: E402
from bot.engine.dispatch import Dispatcher  # noqa: E402
from bot.services.regions import store_region  # noqa: E402
from bot.settings import Settings  # noqa: E402
from handlers import build_router  # noqa: E402
from handlers.complaints import PAGE  # noqa: E402
from storage import Database  # noqa: E402
from storage.complaint_repo import QUEUE_STATES, ComplaintRepo, queue_open  # noqa: E402
from storage.models import Complaint, OutboxMessage, User  # noqa: E402

OPD = OPDS[0]  # "B01"
OFFICER = "bench-officer"


async def seed(db: Database, n: int, open_n: int) -> float:
    """Region, staff and complaints, generated inside the database; then ANALYZE."""
    if not 0 < open_n <= n:
        raise SystemExit("--open must be between 1 and --complaints")
    await store_region(db, parse_region(bench_region(), source="bench"), NOW)
    d = db.dialect
    x = _sql_dialect(d)
    U = x["U"]
    t0 = time.perf_counter()
    k = max(1, n // open_n)  # every k-th id (below k * open_n) is one of B01's open complaints
    opd_case = "CASE (i % 12) " + " ".join(f"WHEN {j} THEN '{code}'" for j, code in enumerate(OPDS)) + " END"
    other_open = (
        "CASE WHEN (i / 10) % 8 = 0 THEN 'triase' WHEN (i / 10) % 8 < 4 THEN 'disposisi' ELSE 'tindak_lanjut' END"
    )
    async with db.engine.begin() as conn:
        await conn.exec_driver_sql(
            "INSERT INTO users (channel, external_id, role, opd_code, created_at, consent_at, language_explicit, language) VALUES "
            f"('web', '{OFFICER}', 'officer', '{OPD}', {_ts(d, NOW, '0')}, {_ts(d, NOW, '0')}, {x['FALSE']}, 'id')"
        )
        last = n - 1
        await conn.exec_driver_sql(
            f"WITH {x['RECURSIVE'].format(last=last)}nums AS ({x['NUMBERS'].format(last=last)}), "
            "s AS MATERIALIZED (SELECT i, "
            f"CASE WHEN i % {k} = 0 AND i < {k * open_n} THEN (CASE WHEN i % 3 = 0 THEN 'disposisi' ELSE 'tindak_lanjut' END) "
            f"WHEN i % 10 = 1 THEN {other_open} WHEN i % 100 = 7 THEN 'selesai' ELSE 'ditutup' END AS state, "
            f"CASE WHEN i % {k} = 0 AND i < {k * open_n} THEN '{OPD}' WHEN i % 12 = 0 THEN '{OPDS[1]}' ELSE {opd_case} END AS opd, "
            f"CASE WHEN (i % {k} = 0 AND i < {k * open_n}) OR i % 10 = 1 THEN {-28 * DAY} + {28 * DAY} * {U} "
            f"WHEN i % 100 = 7 THEN {-40 * DAY} + {30 * DAY} * {U} ELSE {-3 * 365 * DAY} + {(3 * 365 - 45) * DAY} * {U} END AS f "
            "FROM nums) "
            "INSERT INTO complaints (number, citizen_user_id, channel, text, privacy, state, opd_code, class, filed_at, updated_at, routed_at, "
            "first_response_at, resolved_at, closed_at, triage_due_at, response_due_at, completion_due_at, reopen_count) "
            f"SELECT 'ADU-B-' || i, NULL, 'telegram', 'Keluhan bench nomor ' || i, 'biasa', state, "
            f"CASE WHEN state = 'triase' THEN NULL ELSE opd END, 'keluhan', "
            f"{_ts(d, NOW, 'f')}, {_ts(d, NOW, 'f')}, CASE WHEN state = 'triase' THEN NULL ELSE {_ts(d, NOW, 'f + 600')} END, "
            f"CASE WHEN state IN ('tindak_lanjut', 'selesai', 'ditutup') THEN {_ts(d, NOW, f'f + {DAY}')} END, "
            f"CASE WHEN state IN ('selesai', 'ditutup') THEN {_ts(d, NOW, f'f + {5 * DAY}')} END, "
            f"CASE WHEN state = 'ditutup' THEN {_ts(d, NOW, f'f + {6 * DAY}')} END, "
            # deadlines at the end of a local day, as the real ones (so many tie: the id breaks ties)
            f"{_ts(d, NOW, f'floor((f + {4 * DAY}) / {DAY}) * {DAY} + 50399')}, "
            f"{_ts(d, NOW, f'floor((f + {4 * DAY}) / {DAY}) * {DAY} + 50399')}, "
            f"{_ts(d, NOW, f'floor((f + {7 * DAY}) / {DAY}) * {DAY} + 50399')}, 0 "
            "FROM s"
        )
    print(f"  {n:,} complaints ({time.perf_counter() - t0:.1f} s)", file=sys.stderr, flush=True)
    async with db.engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.exec_driver_sql("VACUUM ANALYZE" if d == "postgresql" else "ANALYZE")
    return time.perf_counter() - t0


async def timed(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = await fn()
    return time.perf_counter() - t0, out


async def repo_page(db: Database, page: int):
    """What the handler asks storage for, for page ``page`` (1-based), in its own transaction."""
    async with db.unit_of_work() as uow:
        result = await ComplaintRepo(uow.session).queue(OPD, limit=PAGE, offset=(page - 1) * PAGE)
        return result


async def count_only(db: Database) -> int:
    async with db.unit_of_work() as uow:
        where = (Complaint.opd_code == OPD, queue_open())  # as ComplaintRepo.queue counts
        return int((await uow.session.execute(select(func.count()).select_from(Complaint).where(*where))).scalar_one())


_seq = iter(range(10**9))


async def handler_turn(dispatcher: Dispatcher, db: Database, args: str) -> str:
    """One ``/antrian`` turn by the officer through the real dispatcher; returns the reply text."""
    body = f"/antrian {args}".strip()
    out = await dispatcher.handle(
        Inbound(
            channel="web",
            user_key=OFFICER,
            external_id=f"bench-antrian-{os.getpid()}-{next(_seq)}-{time.time_ns()}",
            kind=Kind.TEXT,
            text=body,
            display_name="Petugas Bench",
        )
    )
    assert out.handled and out.replies, out
    async with db.unit_of_work() as uow:
        row = (
            await uow.session.execute(
                select(OutboxMessage).where(OutboxMessage.address == OFFICER).order_by(OutboxMessage.id.desc()).limit(1)
            )
        ).scalar_one()
        return row.payload["text"]


def check_rows(result, expect_total: int) -> None:
    assert result.total == expect_total, (result.total, expect_total)
    assert result.rows, "empty page"
    assert all(c.opd_code == OPD and c.state in QUEUE_STATES for c in result.rows), "a row of another OPD or not open"
    keys = [(c.completion_due_at, c.id) for c in result.rows]
    assert keys == sorted(keys), "page not in deadline order"


async def one_round(db: Database, dispatcher: Dispatcher, total: int, deep: int, last: int) -> dict[str, float]:
    out: dict[str, float] = {}
    out["first_page"], r = await timed(lambda: repo_page(db, 1))
    check_rows(r, total)
    out[f"page_{deep}"], r = await timed(lambda: repo_page(db, deep))
    check_rows(r, total)
    out[f"last_page_{last}"], r = await timed(lambda: repo_page(db, last))
    check_rows(r, total)
    out["count_only"], n = await timed(lambda: count_only(db))
    assert n == total
    out["turn_first_page"], reply = await timed(lambda: handler_turn(dispatcher, db, ""))
    assert f"halaman 1/{last}" in reply, reply[:200]
    out["turn_last_page"], reply = await timed(lambda: handler_turn(dispatcher, db, str(last)))
    assert f"halaman {last}/{last}" in reply, reply[:200]
    return out


async def explain(db: Database, deep: int) -> list[tuple[str, str]]:
    """The statements ``queue`` runs for page ``deep``, captured from the driver, explained."""
    captured: list[tuple[str, object]] = []

    def grab(conn, cursor, statement, parameters, context, executemany):  # pragma: no cover - driver hook
        if "FROM complaints" in statement:
            captured.append((statement, parameters))

    event.listen(db.engine.sync_engine, "before_cursor_execute", grab)
    try:
        await repo_page(db, deep)
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", grab)
    plans = []
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if db.dialect == "postgresql" else "EXPLAIN QUERY PLAN "
    async with db.engine.connect() as conn:
        for statement, params in captured:
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
            shown = " ".join(statement.split())
            shown = shown if len(shown) < 400 else shown[:180] + " … " + shown[-180:]
            plans.append((f"{shown}  -- params {params}", plan))
    return plans


async def main_async(args: argparse.Namespace) -> dict:
    url, tmp = bench_url(args.database_url, "antrian")
    db = Database(url)
    try:
        await migrated(db, reset=args.reset)
        seed_s = await seed_or_reuse(
            db,
            Complaint,
            "complaints",
            no_seed=args.no_seed,
            announce=f"seeding {args.complaints:,} complaints, {args.open:,} open for {OPD} …",
            seed=lambda: seed(db, args.complaints, args.open),
        )
        async with db.unit_of_work() as uow:
            all_n = (await uow.session.execute(select(func.count()).select_from(Complaint))).scalar_one()
            await uow.session.execute(
                update(User).where(User.external_id == OFFICER).values(role="officer", opd_code=OPD)
            )
            await uow.commit()
        total = await count_only(db)
        last = (total + PAGE - 1) // PAGE
        deep = min(args.page, last)
        settings = Settings(database_url=db.url)
        dispatcher = Dispatcher(db, build_router(), settings, clock=ManualClock(NOW), renderers={"web": web_render})
        await handler_turn(dispatcher, db, "")  # warm-up: imports, region context, statement caches
        rounds = []
        for i in range(args.rounds):
            r = await one_round(db, dispatcher, total, deep, last)
            rounds.append(r)
            print(f"round {i + 1}: " + ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in r.items()), file=sys.stderr)
        keys = list(rounds[0])
        medians = {k: statistics.median(r[k] for r in rounds) for k in keys}
        plans = await explain(db, deep) + await explain(db, last)
        return {
            "backend": db.dialect,
            "complaints": all_n,
            "queue": total,
            "opd": OPD,
            "page_size": PAGE,
            "pages": last,
            "rounds": args.rounds,
            "seed_seconds": seed_s,
            "median_seconds": medians,
            "all_rounds": rounds,
            "plans": plans,
            "machine": f"{platform.machine()}, {os.cpu_count()} cpus, Python {platform.python_version()}",
        }
    finally:
        await db.dispose()
        if tmp is not None:
            tmp.cleanup()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        prog="python -m bench.antrian", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--complaints", type=int, default=200_000, help="complaints to seed in all (default 200000)")
    p.add_argument("--open", type=int, default=50_000, help=f"open complaints in {OPD}'s queue (default 50000)")
    p.add_argument(
        "--page", type=int, default=1000, help="the deep page to time (default 1000; capped at the last page)"
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
        f"\n/antrian benchmark — {result['backend']}, {result['complaints']:,} complaints, {result['queue']:,} open for {result['opd']} "
        f"({result['pages']:,} pages of {result['page_size']}), {result['rounds']} rounds (median), {result['machine']}"
    )
    if result["seed_seconds"] is not None:
        print(f"  seeding (bulk INSERT … SELECT + ANALYZE)  {result['seed_seconds']:8.1f} s")
    for k, v in result["median_seconds"].items():
        print(f"  {k:<30} {v * 1000:10.2f} ms")
    for statement, plan in result["plans"]:
        print(f"\n-- {statement}\n{plan}")


if __name__ == "__main__":
    main()
