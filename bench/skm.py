"""Benchmark: IKM and data-quality report for many units over a million SKM questionnaires.

Seeds a synthetic region (``--units`` service units in 12 OPDs, one to three services each) and
``--responses`` complete questionnaires in Semester II 2026 (plus ``--incomplete`` abandoned ones)
inside the database: one ``INSERT … SELECT`` over a number series per table, with the table's
indexes built after the load and no per-row foreign-key checks — a million rows in seconds. The
answers are correlated through a per-unit bias and a per-respondent latent score (so alpha is
realistic), with straight-liners, speeders, unanswered elements, three channels and random
profiles. Then, for ``--rounds`` rounds (medians reported), it times:

* ``element_totals`` — sums and counts per element, all units, one GROUP BY (what ``/ikm`` lists);
* ``quality_moments`` — the quality moments of all units (element totals per OPD and service,
  alpha moments, straight-lining, completion-time histogram, profile distribution, incomplete and
  repeat questionnaires: four or five aggregate statements);
* the Python rules — ``compute_ikm`` and ``quality_from_moments`` for every unit;
* ``collect_skm_report`` — the whole report as ``/ikm`` and the export get it: IKM per unit,
  service, OPD and region, sample adequacy, quality report per unit;
* ``report_with_splits`` — the same with the quality report split by channel and by each of the
  four profile fields (five more passes; what ``/ekspor skm`` builds; skip with ``--no-splits``);

and prints the query plans of the aggregation statements (``EXPLAIN QUERY PLAN`` on SQLite,
``EXPLAIN (ANALYZE, BUFFERS)`` on PostgreSQL). ``--workbook`` also times one full XLSX export.

    .venv/bin/python -m bench.skm                                  # SQLite, temporary file
    .venv/bin/python -m bench.skm --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/bench --reset

On PostgreSQL the database must be empty or ``--reset`` given (drops and recreates schema
``public``: use a database of its own). ``--no-seed`` reuses what an earlier run seeded there
(also a SQLite file given as ``--database-url sqlite+aiosqlite:///PATH``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import platform
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import event  # noqa: E402

from bench.common import bench_url, migrated, seed_or_reuse  # noqa: E402
from bot.domain import skm  # noqa: E402
from bot.domain.region import parse_region  # noqa: E402
from bot.services.regions import store_region  # noqa: E402
from bot.services.skm_export import SPLITS, build_skm_workbook, collect_skm_report  # noqa: E402
from storage import Database  # noqa: E402
from storage.models import SurveyResponse  # noqa: E402
from storage.skm_repo import SkmRepo  # noqa: E402

PERIOD = skm.make_period("semester", 2026, 2)
TZ = "Asia/Jakarta"
NOW = datetime(2027, 1, 5, tzinfo=UTC)
CHANNELS = ("telegram", "web", "whatsapp")


def bench_region(units: int, rng: random.Random) -> dict:
    """``units`` service units spread over 12 OPDs, each with one to three services and a yearly
    population between 100 and 30 000."""
    opds = []
    for o in range(12):
        opds.append({"code": f"B{o + 1:02d}", "name": f"OPD Bench {o + 1}", "keywords": [f"bench{o + 1}"], "unit": []})
    for u in range(units):
        code = f"B{u % 12 + 1:02d}-U{u + 1:03d}"
        opds[u % 12]["unit"].append(
            {
                "code": code,
                "name": f"Unit Bench {u + 1}",
                "population": rng.randint(100, 30000),
                "services": [{"code": f"{code}-{k + 1:02d}", "name": f"Layanan {k + 1}"} for k in range(1 + u % 3)],
            }
        )
    return {
        "region": {"code": "BENCH", "name": "Kabupaten Bench", "timezone": TZ},
        "opd": [o for o in opds if o["unit"]],
    }


def _sql_dialect(dialect: str) -> dict[str, str]:
    """The few expressions that differ between SQLite and PostgreSQL in the seeding SQL."""
    if dialect == "postgresql":
        return {
            "U": "random()",
            "LEAST": "least",
            "GREATEST": "greatest",
            "TRUE": "true",
            "FALSE": "false",
            "NUMBERS": "SELECT g AS i FROM generate_series(0, {last}) AS g",
            "RECURSIVE": "",
        }
    return {
        "U": "((random() & 4294967295) / 4294967296.0)",
        "LEAST": "min",
        "GREATEST": "max",
        "TRUE": "1",
        "FALSE": "0",
        "NUMBERS": "SELECT i FROM n",
        "RECURSIVE": "RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {last}), ",
    }


def _ts(dialect: str, start: datetime, seconds_expr: str) -> str:
    """``start`` + ``seconds_expr`` seconds, in the column's storage format (SQLite: SQLAlchemy's text)."""
    if dialect == "postgresql":
        return f"(TIMESTAMPTZ '{start.isoformat()}' + make_interval(secs => {seconds_expr}))"
    base = start.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    return f"(datetime('{base}', CAST({seconds_expr} AS INTEGER) || ' seconds') || '.000000')"


def _case(index_expr: str, values: list[str | None]) -> str:
    whens = " ".join(f"WHEN {i} THEN {'NULL' if v is None else repr(v)}" for i, v in enumerate(values))
    return f"CASE {index_expr} {whens} END"


@contextlib.asynccontextmanager
async def bulk_connection(db: Database):
    """One transaction for the seeding, as a bulk load: the questionnaire table's indexes are
    dropped first and built again at the end (from the models' definitions), and foreign keys are
    not checked row by row (the generated rows are consistent by construction): PostgreSQL
    ``session_replication_role = replica`` (superuser only; otherwise the checks stay), SQLite
    ``foreign_keys`` off and a large page cache."""
    indexes = list(SurveyResponse.__table__.indexes)
    async with db.engine.connect() as conn:
        raw = None
        if db.dialect == "sqlite":  # outside any transaction, or SQLite ignores them
            raw = (await conn.get_raw_connection()).driver_connection
            await raw.execute("PRAGMA foreign_keys = OFF")
            await raw.execute("PRAGMA cache_size = -524288")
        try:
            async with conn.begin():
                if db.dialect == "postgresql":
                    try:
                        async with conn.begin_nested():
                            await conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
                    except Exception as exc:  # not a superuser: slower, same data
                        print(f"  (foreign-key checks stay on: {type(exc).__name__})", file=sys.stderr)
                for ix in indexes:
                    await conn.run_sync(lambda c, ix=ix: ix.drop(c))
                yield conn
                t0 = time.perf_counter()
                for ix in indexes:
                    await conn.run_sync(lambda c, ix=ix: ix.create(c))
                print(f"  indexes built again ({time.perf_counter() - t0:.1f} s)", file=sys.stderr, flush=True)
        finally:
            if raw is not None:
                await raw.execute("PRAGMA foreign_keys = ON")
                await raw.execute("PRAGMA cache_size = -2000")


async def seed(db: Database, n: int, n_units: int, seed_value: int, incomplete: float) -> float:
    """Bulk SQL: users and questionnaires are generated inside the database (INSERT … SELECT over a
    number series), so a million rows take seconds, not minutes of Python."""
    rng = random.Random(seed_value)
    region = parse_region(bench_region(n_units, rng), source="bench")
    await store_region(db, region, NOW)
    units = [(u.code, o.code, [s.code for s in u.services]) for o in region.opds for u in o.units]
    bias = [rng.gauss(0.0, 0.45) for _ in units]
    n_users = math.ceil(n / n_units)
    d = db.dialect
    x = _sql_dialect(d)
    U = x["U"]

    def normal() -> str:  # Irwin–Hall: four uniforms, mean 0, variance 1
        return f"(({U} + {U} + {U} + {U} - 2.0) * 1.7320508)"

    start_s, end_s = PERIOD.utc_range(TZ)
    span = (end_s - start_s).total_seconds()
    unit_rows = ", ".join(
        f"({i}, '{code}', '{opd}', {bias[i]:.6f}, {len(svc)})" for i, (code, opd, svc) in enumerate(units)
    )
    service_case = " ".join(
        f"WHEN s.idx = {i} THEN " + _case("s.svc", svc) for i, (_c, _o, svc) in enumerate(units) if svc
    )
    profile_options = {k: list(f.codes) + [None] for k, f in skm.PROFILE_FIELDS.items()}
    if d == "postgresql":
        profile = (
            "jsonb_strip_nulls(jsonb_build_object("
            + ", ".join(f"'{k}', {_case(f's.p_{k}', v)}" for k, v in profile_options.items())
            + "))::json"
        )
    else:  # json_patch drops the null members (RFC 7396)
        profile = (
            "json_patch('{}', json_object("
            + ", ".join(f"'{k}', {_case(f's.p_{k}', v)}" for k, v in profile_options.items())
            + "))"
        )
    t0 = time.perf_counter()
    async with bulk_connection(db) as conn:
        await conn.exec_driver_sql(
            f"WITH {x['RECURSIVE'].format(last=n_users - 1)}nums AS ({x['NUMBERS'].format(last=n_users - 1)}) "
            "INSERT INTO users (channel, external_id, role, created_at, language_explicit) "
            f"SELECT 'web', 'bench-' || i, 'citizen', {_ts(d, NOW, '0')}, {x['FALSE']} FROM nums"
        )
        lo, hi, count = (
            await conn.exec_driver_sql("SELECT min(id), max(id), count(*) FROM users WHERE external_id LIKE 'bench-%'")
        ).one()
        assert hi - lo + 1 == count == n_users, "bench users should have consecutive ids (use an empty database)"
        print(f"  {n_users:,} users ({time.perf_counter() - t0:.1f} s)", file=sys.stderr, flush=True)

        def insert(total: int, complete: bool) -> str:
            """Person p answers units (k + p) mod U, k = 0, 1, … (so at most once per unit)."""
            last = total - 1
            clamp = f"{x['GREATEST']}(1, {x['LEAST']}(4, CAST(round(%s) AS INTEGER)))"
            answers = []
            for k in range(1, 10):
                value = f"CASE WHEN s.straight = 1 THEN {clamp % 's.latent'} ELSE {clamp % f'(s.latent + 0.6 * {normal()})'} END"
                if complete:
                    answers.append(f"CASE WHEN s.miss = {k} THEN NULL ELSE {value} END")
                else:  # abandoned after s.miss - 1 answers
                    answers.append(f"CASE WHEN s.miss <= {k} THEN NULL ELSE {value} END")
            person = f"(i % {n_users})" if complete else f"CAST(floor({U} * {n_users}) AS INTEGER)"
            return (
                f"WITH {x['RECURSIVE'].format(last=last)}nums AS ({x['NUMBERS'].format(last=last)}), "
                f"units_b (idx, code, opd, bias, services) AS (VALUES {unit_rows}), "
                "s AS MATERIALIZED (SELECT nums.i, "
                + (
                    f"{person} AS person, ((i / {n_users} + i % {n_users}) % {n_units}) AS uidx, "
                    if complete
                    else f"{person} AS person, CAST(floor({U} * {n_units}) AS INTEGER) AS uidx, "
                )
                + f"{normal()} AS noise, CASE WHEN {U} < 0.02 THEN 1 ELSE 0 END AS straight, "
                + (
                    f"CASE WHEN {U} < 0.01 THEN 1 + CAST(floor({U} * 9) AS INTEGER) ELSE 0 END AS miss, "
                    if complete
                    else f"1 + CAST(floor({U} * 9) AS INTEGER) AS miss, "
                )
                + f"CASE WHEN {U} < 0.03 THEN 12 + 28 * {U} ELSE exp(ln(240) + 0.45 * {normal()}) END AS dur, "
                f"60 + {span - 120:.0f} * {U} AS off, CAST(floor({U} * 3) AS INTEGER) AS ch, CASE WHEN {U} < 0.02 THEN 1 ELSE 0 END AS saran, "
                f"{U} AS svc_u, "
                + ", ".join(f"CAST(floor({U} * {len(v)}) AS INTEGER) AS p_{k}" for k, v in profile_options.items())
                + " FROM nums), "
                "s2 AS MATERIALIZED (SELECT s.*, u.idx, u.code, u.opd, CAST(floor(s.svc_u * u.services) AS INTEGER) AS svc, 2.9 + u.bias + 0.5 * s.noise AS latent "
                "FROM s JOIN units_b u ON u.idx = s.uidx) "
                "INSERT INTO survey_responses (user_id, unit_code, opd_code, service_code, channel, period_key, status, started_at, finished_at, "
                "u1, u2, u3, u4, u5, u6, u7, u8, u9, saran, profile) "
                f"SELECT {lo} + s.person, s.code, s.opd, CASE {service_case or 'WHEN 1 = 0 THEN NULL'} END, "
                f"{_case('s.ch', list(CHANNELS))}, '{PERIOD.key}', '{'complete' if complete else 'abandoned'}', "
                f"{_ts(d, start_s, 's.off - round(s.dur)')}, {_ts(d, start_s, 's.off')}, "
                + ", ".join(answers)
                + ", CASE WHEN s.saran = 1 THEN 'Pelayanan perlu dipercepat' ELSE NULL END, "
                f"{profile} FROM s2 AS s"
            )

        await conn.exec_driver_sql(insert(n, True))
        print(f"  {n:,} complete questionnaires ({time.perf_counter() - t0:.1f} s)", file=sys.stderr, flush=True)
        extra = int(n * incomplete)
        if extra:
            await conn.exec_driver_sql(insert(extra, False))
            print(
                f"  {extra:,} abandoned questionnaires ({time.perf_counter() - t0:.1f} s)", file=sys.stderr, flush=True
            )
    async with db.engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.exec_driver_sql("VACUUM ANALYZE survey_responses" if db.dialect == "postgresql" else "ANALYZE")
    return time.perf_counter() - t0


async def timed(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = await fn()
    return time.perf_counter() - t0, out


async def one_round(db: Database, splits: bool) -> dict[str, float]:
    start, end = PERIOD.utc_range(TZ)
    out: dict[str, float] = {}
    async with db.unit_of_work() as uow:
        repo = SkmRepo(uow.session)
        out["element_totals"], totals = await timed(lambda: repo.element_totals(start=start, end=end))
        out["quality_moments"], moments = await timed(lambda: repo.quality_moments(start, end))
        pops = await repo.populations(PERIOD.key)
    t0 = time.perf_counter()
    results = [skm.compute_ikm(m.totals().totals, m.n_complete, "exact") for m in moments]
    reports = [
        skm.quality_from_moments(m, population=skm.population_for_period(*pops[m.unit_code], PERIOD)) for m in moments
    ]
    out["python_rules"] = time.perf_counter() - t0
    out["collect_skm_report"], report = await timed(lambda: collect_skm_report(db, period=PERIOD))
    assert len(results) == len(reports) == len(report.ranked()) == len(totals), "every unit should have answers"
    assert all(
        r.ikm == u.ikm.ikm for r, u in zip(results, sorted(report.ranked(), key=lambda u: u.unit_code), strict=False)
    ), "same IKM both ways"
    if splits:
        out["report_with_splits"], split_report = await timed(
            lambda: collect_skm_report(db, period=PERIOD, splits=SPLITS)
        )
        assert all(u.segments for u in split_report.units)
    out["_units"] = len(results)
    out["_responses"] = sum(g.responses for g in totals)
    return out


async def explain(db: Database) -> list[tuple[str, str]]:
    """Capture the statements of one report and print their plans."""
    captured: list[tuple[str, object]] = []

    def grab(conn, cursor, statement, parameters, context, executemany):  # pragma: no cover - driver hook
        head = statement.lstrip().upper()
        if head.startswith("SET ") or (head.startswith(("SELECT", "WITH")) and "survey_responses" in statement):
            captured.append((statement, parameters))

    event.listen(db.engine.sync_engine, "before_cursor_execute", grab)
    start, end = PERIOD.utc_range(TZ)
    try:
        async with db.unit_of_work() as uow:
            repo = SkmRepo(uow.session)
            await repo.element_totals(start=start, end=end)
            moments = await repo.quality_moments(start, end)
            limits = {m.unit_code: skm.speeder_limit(skm.quality_from_moments(m).median_seconds) for m in moments}
            await repo.quality_moments(start, end, split="pendidikan", speeder_limits=limits)
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", grab)
    plans = []
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if db.dialect == "postgresql" else "EXPLAIN QUERY PLAN "
    async with db.engine.begin() as conn:  # with the report's own settings (SET LOCAL …)
        for statement, params in captured:
            if statement.lstrip().upper().startswith("SET "):
                await conn.exec_driver_sql(statement, params)
                continue
            rows = (await conn.exec_driver_sql(prefix + statement, params)).all()
            if db.dialect == "postgresql":
                plan = "\n".join(r[0] for r in rows)
            else:
                plan = "\n".join(f"{'  ' * (1 if r[1] else 0)}{r[-1]}" for r in rows)
            plans.append((" ".join(statement.split())[:160] + " …", plan))
    return plans


async def main_async(args: argparse.Namespace) -> dict:
    url, tmp = bench_url(args.database_url, "skm")
    db = Database(url)
    try:
        await migrated(db, reset=args.reset)
        seed_s = await seed_or_reuse(
            db,
            SurveyResponse,
            "questionnaires",
            no_seed=args.no_seed,
            announce=f"seeding {args.responses:,} questionnaires over {args.units} units …",
            seed=lambda: seed(db, args.responses, args.units, args.seed, args.incomplete),
        )
        rounds = []
        for i in range(args.rounds):
            r = await one_round(db, not args.no_splits)
            rounds.append(r)
            print(
                f"round {i + 1}: " + ", ".join(f"{k} {v:.3f} s" for k, v in r.items() if not k.startswith("_")),
                file=sys.stderr,
            )
        keys = [k for k in rounds[0] if not k.startswith("_")]
        medians = {k: statistics.median(r[k] for r in rounds) for k in keys}
        workbook_s = None
        if args.workbook:
            t0 = time.perf_counter()
            data = await build_skm_workbook(db, period=PERIOD)
            workbook_s = time.perf_counter() - t0
            print(f"workbook: {len(data) / 1e6:.1f} MB in {workbook_s:.1f} s", file=sys.stderr)
        plans = await explain(db)
        return {
            "backend": db.dialect,
            "responses": rounds[0]["_responses"],
            "units": rounds[0]["_units"],
            "rounds": args.rounds,
            "seed_seconds": seed_s,
            "median_seconds": medians,
            "all_rounds": [{k: r[k] for k in keys} for r in rounds],
            "workbook_seconds": workbook_s,
            "plans": plans,
            "machine": f"{platform.machine()}, {platform.python_version()}",
        }
    finally:
        await db.dispose()
        if tmp is not None:
            tmp.cleanup()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        prog="python -m bench.skm", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--responses", type=int, default=1_000_000, help="complete questionnaires to seed (default 1000000)")
    p.add_argument("--units", type=int, default=97, help="service units (default 97)")
    p.add_argument("--rounds", type=int, default=3, help="timed rounds; medians are reported (default 3)")
    p.add_argument("--database-url", help="PostgreSQL (or SQLite) URL instead of a temporary SQLite file")
    p.add_argument("--reset", action="store_true", help="PostgreSQL: drop and recreate schema public first")
    p.add_argument("--no-seed", action="store_true", help="reuse the questionnaires already in --database-url")
    p.add_argument("--no-splits", action="store_true", help="skip the quality report split by channel and profile")
    p.add_argument(
        "--workbook",
        action="store_true",
        help="also time one full XLSX export (every questionnaire on a tabulation sheet)",
    )
    p.add_argument(
        "--incomplete",
        type=float,
        default=0.05,
        help="abandoned questionnaires on top, as a share of --responses (default 0.05)",
    )
    p.add_argument("--seed", type=int, default=14, help="random seed (default 14)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    args = p.parse_args(argv)
    result = asyncio.run(main_async(args))
    if args.json:
        print(json.dumps(result, indent=2, default=str))
        return
    print(
        f"\nSKM report benchmark — {result['backend']}, {result['responses']:,} complete questionnaires, {result['units']} units, "
        f"{result['rounds']} rounds (median), {result['machine']}"
    )
    if result["seed_seconds"] is not None:
        print(f"  seeding (bulk INSERT … SELECT)  {result['seed_seconds']:8.1f} s")
    for k, v in result["median_seconds"].items():
        print(f"  {k:<30} {v:8.3f} s")
    if result["workbook_seconds"] is not None:
        print(f"  full XLSX export               {result['workbook_seconds']:8.1f} s")
    for statement, plan in result["plans"]:
        print(f"\n-- {statement}\n{plan}")


if __name__ == "__main__":
    main()
